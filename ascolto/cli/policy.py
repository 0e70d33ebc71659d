"""`ascolto policy ...`: validate a policy file, list the rules, try a text, explain a verdict."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ascolto.localization import gettext as _
from ascolto.localization import ngettext
from ascolto.settings import Settings, get_settings
from policies import DraftContext, Finding, PolicySet, Verdict
from policies.registry import registry

if TYPE_CHECKING:
    pass

app = typer.Typer(help="The rules every draft is checked against.", no_args_is_help=True)

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_USAGE = 2

FileArgument = Annotated[
    Path | None,
    typer.Argument(
        help="Policy file (TOML); default: `[policies] file`, else the shipped policy.",
        show_default=False,
    ),
]


def _policy(settings: Settings, file: Path | None) -> PolicySet:
    if file is None:
        return PolicySet.from_settings(settings)
    return PolicySet.load(file, default_role=settings.policies.default_role)


@app.command("check")
def check(file: FileArgument = None) -> None:
    """Validate a policy file: exit 0 when usable, 2 naming each bad rule and key."""
    # A PolicyError is an AscoltoError: the entry point prints it and exits 2.
    policy = _policy(get_settings(), file)
    if not policy.rules:
        out.print(
            _(
                "%(source)s: valid, but it has no rules: every draft is allowed",
                source=escape(policy.source),
            )
        )
        return
    out.print(
        ngettext(
            "%(source)s: valid; %(num)s rule, applied in this order: %(names)s",
            "%(source)s: valid; %(num)s rules, applied in this order: %(names)s",
            len(policy.rules),
            source=escape(policy.source),
            names=", ".join(policy.names),
        ),
        highlight=False,
        soft_wrap=True,
    )


@app.command("rules")
def rules() -> None:
    """Every rule a policy file may use, with its keys and defaults."""
    for name, cls in sorted(registry().items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        table = Table(title=escape(f"[{name}]  {doc}"), title_justify="left")
        for column in (_("key"), _("type"), _("default"), _("description")):
            table.add_column(column, overflow="fold")
        for key, field in cls.Options.model_fields.items():
            default = (
                _("required")
                if field.is_required()
                else _shown(field.get_default(call_default_factory=True))
            )
            table.add_row(key, _type_name(field.annotation), default, field.description or "")
        out.print(table)


def _type_name(annotation: Any) -> str:
    text = (
        getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    )
    return text or str(annotation).replace("typing.", "").replace("decimal.", "").replace(
        "datetime.", ""
    )


def _shown(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except TypeError:
        return str(value)


@app.command("try")
def try_text(
    text: Annotated[str, typer.Argument(help="The reply to check.")],
    channel: Annotated[str, typer.Option(help="email, mastodon, manual, x, reddit, ...")] = "email",
    public: Annotated[
        bool | None,
        typer.Option(
            "--public/--private", help="Default: only e-mail is private.", show_default=False
        ),
    ] = None,
    language: Annotated[str | None, typer.Option(help="The reply's language (ISO 639-1).")] = None,
    customer_language: Annotated[str | None, typer.Option(help="The customer's language.")] = None,
    tz: Annotated[
        str | None, typer.Option(help="The customer's time zone, e.g. Europe/Rome.")
    ] = None,
    role: Annotated[str | None, typer.Option(help="Role of the person approving.")] = None,
    urgency: Annotated[
        list[str] | None, typer.Option(help="An urgency label of the mention (repeatable).")
    ] = None,
    delivery_date: Annotated[
        list[str] | None,
        typer.Option(help="A delivery date the order data knows, YYYY-MM-DD (repeatable)."),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="When it would be sent (ISO date/time; default: now).")
    ] = None,
    file: Annotated[Path | None, typer.Option("--policy", help="Policy file to use.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a text against the policy, without a stored draft: exit 0 allow/amend, 1 else."""
    from datetime import date

    policy = _policy(get_settings(), file)
    try:
        dates = [date.fromisoformat(d) for d in delivery_date or []]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--delivery-date") from None
    ctx = DraftContext(
        text=text,
        channel=channel,
        public=public,
        language=language,
        customer_language=customer_language,
        customer_tz=tz,
        urgency=tuple(urgency or ()),
        delivery_dates=dates,
        role=role,
        send_at=_instant(at, "--at"),
    )
    verdict = policy.check(ctx)
    if as_json:
        print(json.dumps(_verdict_json(verdict), ensure_ascii=False, indent=2))
    else:
        _print_verdict(
            verdict, title=_("verdict under %(source)s", source=policy.source), original=text
        )
        _print_passed(policy, verdict)
    if not verdict.allowed:
        raise typer.Exit(1)


@app.command("explain")
def explain(
    draft_id: Annotated[int, typer.Argument(help="Id of a stored draft.")],
    role: Annotated[
        str | None,
        typer.Option(help="Check as if this role approved it (default: the policy's default)."),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="Check as if sent then (ISO date/time; default: now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A draft's verdict with every rule that fired and why: as stored, and checked again now."""
    from sqlmodel import Session

    from ascolto.database import prepare
    from ascolto.review.queue import draft_context
    from outreach.drafting import policy_version
    from storage.models import Draft

    settings = get_settings()
    policy = PolicySet.from_settings(settings)
    when = _instant(at, "--at") or datetime.now(UTC)
    engine = prepare(settings)
    with Session(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            err.print(
                "[red]" + _("error:") + "[/] " + _("no draft with id %(id)s", id=draft_id),
                highlight=False,
            )
            raise typer.Exit(EXIT_USAGE)
        stored = Verdict.from_details(draft.verdict, draft.text, draft.verdict_details)
        ctx = draft_context(session, settings, draft, policy=policy, now=when, role=role)
    current = policy.check(ctx, now=when) if ctx is not None else None
    version = policy_version(policy)
    if as_json:
        data: dict[str, Any] = {
            "draft_id": draft_id,
            "status": draft.status,
            "stored": {**_verdict_json(stored), "policy_version": draft.policy_version},
            "current": None
            if current is None
            else {**_verdict_json(current), "policy_version": version, "at": when.isoformat()},
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    out.print(
        "[bold]"
        + _("draft %(id)s", id=draft_id)
        + "[/] "
        + _(
            "(%(status)s): %(intent)s on %(channel)s%(public)s, language %(language)s, "
            "template %(template)s",
            status=escape(_(draft.status)),
            intent=escape(_(draft.intent)),
            channel=escape(draft.channel),
            public=" (" + _("public") + ")" if draft.public else "",
            language=escape(draft.language),
            template=escape(draft.template),
        ),
        highlight=False,
    )
    out.print(escape(draft.text), highlight=False, soft_wrap=True)
    out.print()
    _print_verdict(
        stored,
        title=_(
            "verdict when drafted (%(when)s UTC, policy %(version)s)",
            when=f"{draft.created_at:%Y-%m-%d %H:%M}",
            version=draft.policy_version or _("unknown"),
        ),
    )
    if draft.send_after is not None:
        out.print(
            _("send after: %(when)s UTC", when=f"{draft.send_after:%Y-%m-%d %H:%M}"),
            highlight=False,
        )
    if current is None:
        out.print(_("cannot check it again: the mention or customer it was written for is gone"))
        return
    _print_verdict(
        current,
        title=_(
            "verdict now (%(when)s UTC, role %(role)s, policy %(version)s)",
            when=f"{when:%Y-%m-%d %H:%M}",
            role=role or policy.default_role,
            version=version,
        ),
        note=None
        if draft.policy_version == version
        else _(
            "the policy changed since drafting (was %(version)s)",
            version=draft.policy_version or _("unknown"),
        ),
        original=draft.text,
    )
    _print_passed(policy, current)


def _instant(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            _(
                "%(value)s: expected an ISO date/time such as 2026-11-24T21:30+01:00",
                value=repr(value),
            ),
            param_hint=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "outcome": verdict.outcome,
        "text": verdict.text,
        "send_after": verdict.send_after.isoformat() if verdict.send_after else None,
        "findings": verdict.details(),
    }


STYLE = {"allow": "green", "amend": "yellow", "escalate": "magenta", "block": "red"}


def _print_verdict(
    verdict: Verdict, *, title: str, note: str | None = None, original: str | None = None
) -> None:
    outcome = f"[{STYLE[verdict.outcome]}]{_(verdict.outcome)}[/]"
    out.print(f"{escape(title)}: {outcome}", highlight=False, soft_wrap=True)
    if note:
        out.print(escape(note), highlight=False, soft_wrap=True)
    if verdict.findings:
        table = Table()
        for column, wraps in ((_("rule"), False), (_("outcome"), False), (_("why"), True)):
            table.add_column(column, overflow="fold", no_wrap=not wraps)
        for finding in _ranked(verdict.findings):
            table.add_row(
                finding.rule,
                f"[{STYLE[finding.outcome]}]{_(finding.outcome)}[/]",
                escape(finding.reason),
            )
        out.print(table)
    if verdict.send_after is not None:
        out.print(
            _("send after: %(when)s UTC", when=f"{verdict.send_after:%Y-%m-%d %H:%M}"),
            highlight=False,
        )
    if original is not None and verdict.text != original:
        out.print(_("amended text:"), highlight=False)
        out.print(escape(verdict.text), highlight=False, soft_wrap=True)


def _print_passed(policy: PolicySet, verdict: Verdict) -> None:
    fired = {f.rule for f in verdict.findings}
    passed = [name for name in policy.names if name not in fired]
    if passed:
        out.print(
            _("rules with nothing to say: %(rules)s", rules=", ".join(passed)), highlight=False
        )


def _ranked(findings: list[Finding]) -> list[Finding]:
    from policies.verdict import SEVERITY

    return sorted(findings, key=lambda f: -SEVERITY[f.outcome])
