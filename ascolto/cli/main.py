"""The `ascolto` command line.

Exit codes scripts can rely on: 0 success; 1 a run failed or a source is blocked;
2 bad usage or invalid settings; 3 the database is unreachable or cannot be migrated;
130 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ascolto import __version__
from ascolto.cli import campaigns as cli_campaigns
from ascolto.cli import cases as cli_cases
from ascolto.cli import defects as cli_defects
from ascolto.cli import distributed as cli_distributed
from ascolto.cli import drafts as cli_drafts
from ascolto.cli import labels as cli_labels
from ascolto.cli import model as cli_model
from ascolto.cli import outbox as cli_outbox
from ascolto.cli import policy as cli_policy
from ascolto.cli import privacy as cli_privacy
from ascolto.cli import queue as cli_queue
from ascolto.cli import tokens as cli_tokens
from ascolto.cli import users as cli_users
from ascolto.cli.common import EXIT_FAILED, database, err, out, speak_help
from ascolto.localization import (
    LANGUAGES,
    N_,
    command_line_language,
    current_language,
    language_of,
    ngettext,
    number,
    set_language,
)
from ascolto.localization import gettext as _
from ascolto.runtime.runner import RunReport
from ascolto.settings import Settings, get_settings, load_settings, use_settings
from storage.errors import AscoltoError, DatabaseError, SettingsError
from storage.types import is_digits

app = typer.Typer(
    name="ascolto",
    help="Self-hosted social listening and proactive outreach.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Upgrade the database after installing a new version.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
config_app = typer.Typer(
    help="See the settings in effect and every key you can set.", no_args_is_help=True
)
app.add_typer(config_app, name="config")
import_app = typer.Typer(help="Bring in orders from a CSV file.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(cli_users.app, name="users")
app.add_typer(cli_users.app, name="user", hidden=True)
app.add_typer(cli_tokens.app, name="tokens")
app.add_typer(cli_queue.app, name="queue")
app.add_typer(cli_labels.app, name="labels")
app.add_typer(cli_policy.app, name="policy")
app.add_typer(cli_defects.defects_app, name="defects")
app.add_typer(cli_defects.defects_app, name="clusters", hidden=True)
app.add_typer(cli_defects.alerts_app, name="alerts")
app.add_typer(cli_outbox.app, name="outbox")
app.add_typer(cli_campaigns.app, name="campaigns")
app.add_typer(cli_cases.app, name="cases")
app.add_typer(cli_privacy.app, name="privacy")
app.add_typer(cli_drafts.app, name="drafts")


# Words the layers below report in English (run statuses, source health, stored totals),
# marked here so that the catalogue keeps their Italian.
REPORTED_WORDS = (
    N_("ok"),
    N_("not_modified"),
    N_("dry_run"),
    N_("failed"),
    N_("blocked"),
    N_("interrupted"),
    N_("running"),
    N_("working"),
    N_("failing"),
    N_("never run"),
    N_("mentions"),
    N_("near duplicates"),
    N_("orders"),
    N_("order events"),
    N_("customers"),
    N_("quarantined"),
)


def _version(value: bool) -> None:
    if value:
        out.print(f"ascolto {__version__}")
        raise typer.Exit()


def _choose_language(ctx: typer.Context, value: str | None) -> str | None:
    """`--lang` is read first, so that `ascolto --lang it --help` is Italian already."""
    if value is None:
        return None
    if language_of(value) is None:
        raise typer.BadParameter(
            _(
                "%(value)s: expected one of %(languages)s",
                value=repr(value),
                languages=", ".join(LANGUAGES),
            ),
            param_hint="--lang",
        )
    set_language(command_line_language(value, None))
    speak_help(ctx.command)
    return value


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="ASCOLTO_CONFIG",
            help="Settings file (default: ./settings.toml if present).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar="ASCOLTO_LANG",
            callback=_choose_language,
            is_eager=True,
            help="Language of the messages and help: it or en (default: language.default "
            "in the settings if set, else the locale, e.g. LANG=it_IT.UTF-8).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Self-hosted social listening and proactive outreach."""
    from ascolto import logs

    # Chosen before the settings are read, so that a problem with them is told in it too.
    set_language(command_line_language(lang, None))
    settings = use_settings(load_settings(config))
    logs.configure(settings.log)
    # The administrator's default counts only when they set one.
    configured = (
        settings.language.default if "default" in settings.language.model_fields_set else None
    )
    set_language(command_line_language(lang, configured))
    # The sub-command's help, if asked for, is shown after this.
    speak_help(ctx.find_root().command)


@app.command()
def run() -> None:
    """Start ascolto: listen to your sources, label and draft replies, serve the web app."""
    from ascolto.cli.users import first_user
    from ascolto.service import serve

    settings = get_settings()
    first_user(database(settings))
    if settings.web.enabled:
        # Logged, not printed: with `[log] format = "json"` every stderr line is JSON.
        logging.getLogger("ascolto.service").info(
            "web app on http://%s:%s/", settings.web.host, settings.web.port
        )
    serve(settings)


@app.command()
def demo(
    once: Annotated[
        bool, typer.Option("--once", help="One round of every source, a summary, then exit.")
    ] = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo's settings and database.")
    ] = Path("ascolto-demo"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from an empty demo database.")
    ] = False,
    replay_port: Annotated[
        int, typer.Option(help="Port of the local server replaying the recorded sources.")
    ] = 8765,
) -> None:
    """Try ascolto on recorded sources with a ready sign-in: no accounts or settings needed."""
    from ascolto import logs
    from ascolto.database import prepare
    from ascolto.demo import DEMO_PASSWORD, DEMO_USER, REPLAYED_AT, ensure_demo_user, start
    from ascolto.service import serve

    if fresh:
        for leftover in [*directory.glob("demo.db*"), directory / REPLAYED_AT]:
            leftover.unlink(missing_ok=True)
    server, config = start(directory, web_port=get_settings().web.port, replay_port=replay_port)
    try:
        settings = use_settings(load_settings(config))
        logs.configure(settings.log)
        err.print(
            _(
                "replaying recorded sources from %(base)s; settings in %(config)s",
                base=server.base,
                config=config,
            )
        )
        ensure_demo_user(prepare(settings))
        sign_in = _(
            "sign in as %(user)s with the password %(password)s",
            user=DEMO_USER,
            password=DEMO_PASSWORD,
        )
        if not once:
            err.print(
                _(
                    "web app on %(url)s: %(sign_in)s",
                    url=f"http://{settings.web.host}:{settings.web.port}/",
                    sign_in=sign_in,
                )
            )
            # The sign-in page shows it as given, whatever the command line's language.
            hint = f"This is the demo: sign in as {DEMO_USER} with the password {DEMO_PASSWORD}."
            serve(settings, sign_in_hint=hint)
            return
        err.print(
            _("`ascolto demo` without --once serves the web app: %(sign_in)s", sign_in=sign_in)
        )
        names = [s.name for s in settings.sources if s.enabled and _polled(s.kind)]
        reports = _one_round(settings, names)
    finally:
        server.close()
    _print_reports(reports)
    _demo_labels_and_defects(settings)
    _print_demo_summary(settings, config)
    if not all(r.ok for r in reports):
        raise typer.Exit(EXIT_FAILED)


def _demo_labels_and_defects(settings: Settings) -> None:
    """Label what the round stored and look for defect clusters, as `ascolto run` does."""
    from sqlmodel import Session

    from ascolto.database import engine_for
    from ascolto.defects.detection import labels_changed
    from classify.classifying import classify_pending
    from storage.defects import list_alerts, product_names

    if not settings.classify.enabled:
        return
    engine = engine_for(settings)
    labelled = classify_pending(settings, engine)
    out.print(
        ngettext("classified: %(num)s mention", "classified: %(num)s mentions", labelled.done)
        + (f" — {labelled.error}" if labelled.error else "")
    )
    labels_changed(settings, engine)
    with Session(engine) as session:
        names = product_names(session)
        alerts = list_alerts(session, statuses=["open"])
    for alert in alerts:
        out.print(
            _(
                "defect alert %(id)s (%(product)s): %(title)s",
                id=alert.id,
                product=names.get(alert.product_id, "?"),
                title=alert.title,
            )
        )


@app.command()
def listen(
    source: Annotated[
        str | None, typer.Argument(help="Source name; all enabled sources if omitted.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fetch and show what would be stored; write nothing.")
    ] = False,
) -> None:
    """Fetch from your sources now: once with --once, else keep polling (no web app)."""

    settings = get_settings()
    names = (
        [settings.source(source).name]
        if source
        else [s.name for s in settings.sources if s.enabled and _polled(s.kind)]
    )
    if source and not _polled(settings.source(source).kind):
        err.print(_("source %(name)s receives webhooks; it is not polled", name=repr(source)))
        raise typer.Exit(2)
    if not names:
        err.print(_("no enabled sources in the settings"))
        raise typer.Exit(2)
    if not once and not dry_run:
        from ascolto.service import serve

        only = set(names)
        trimmed = settings.model_copy(
            update={
                "sources": [s for s in settings.sources if s.name in only],
                "web": settings.web.model_copy(update={"enabled": False}),
            }
        )
        serve(use_settings(trimmed), persistent=False)
        return
    reports = _one_round(settings, names, dry_run=dry_run)
    if dry_run:
        for report in reports:
            _print_items(report)
    _print_reports(reports)
    if not all(r.ok for r in reports):
        raise typer.Exit(EXIT_FAILED)


def _one_round(settings: Settings, names: list[str], *, dry_run: bool = False) -> list[RunReport]:
    """Run each named source once, with a progress display on a terminal."""
    from ascolto.database import prepare
    from ascolto.runtime.runner import run_source

    engine = prepare(settings)
    reports: list[RunReport] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(_("listening"), total=len(names))
        for name in names:
            progress.update(task, description=_("listening: %(source)s", source=name))
            reports.append(run_source(settings, engine, name, trigger="manual", dry_run=dry_run))
            progress.advance(task)
    return reports


def _print_demo_summary(settings: Settings, config: Path) -> None:
    from sqlmodel import Session

    from ascolto.database import engine_for
    from storage.summary import totals

    with Session(engine_for(settings)) as session:
        figures = totals(session)
    out.print(
        _(
            "stored: %(figures)s",
            figures=", ".join(
                f"{value} {_(name.replace('_', ' '))}" for name, value in figures.items()
            ),
        )
    )
    # The folder given with --dir, so the hint works as printed.
    demo_dir = "" if config.parent == Path("ascolto-demo") else f" --dir {config.parent}"
    out.print(
        escape(
            _(
                "next: `ascolto --config %(config)s mentions` to read them, "
                "or `ascolto demo%(dir)s` for the web app",
                config=config,
                dir=demo_dir,
            )
        )
    )


def _polled(kind: str) -> bool:
    from listeners.registry import listener_class

    return listener_class(kind).polled


def _print_items(report: RunReport) -> None:
    table = Table(
        title=ngettext(
            "%(source)s: would store %(num)s item",
            "%(source)s: would store %(num)s items",
            len(report.items),
            source=report.source,
        )
    )
    for column in (_("external id"), _("published"), _("author"), _("title / text")):
        table.add_column(column, overflow="fold")
    for item in report.items:
        table.add_row(
            item.external_id,
            item.published_at.isoformat() if item.published_at else "",
            item.author_name or "",
            (item.title or item.text)[:120],
        )
    out.print(table)


def _print_reports(reports: list[RunReport]) -> None:
    table = Table(title=_("runs"))
    for column in (
        _("source"),
        _("status"),
        _("seen"),
        _("new"),
        _("updated"),
        _("skipped"),
        _("quarantined"),
        _("seconds"),
    ):
        table.add_column(column, no_wrap=True)
    table.add_column(_("problem"), overflow="fold", ratio=1)
    for report in reports:
        fetched = report.ok
        table.add_row(
            report.source,
            _(report.status),
            *(
                str(n) if fetched else _("unknown")
                for n in (
                    report.seen,
                    report.new,
                    report.updated,
                    report.skipped,
                    report.quarantined,
                )
            ),
            number(report.duration, 1),
            report.error or "; ".join(report.warnings),
        )
    out.print(table)


@app.command()
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """See whether each source works: last run, status, items."""
    from sqlmodel import Session

    from ascolto.database import prepare
    from ascolto.web.sources import health_json
    from storage.runs import source_health

    settings = get_settings()
    engine = prepare(settings)
    intervals = {s.name: s.interval for s in settings.sources}
    with Session(engine) as session:
        report = source_health(session)
    if as_json:
        print(json.dumps([health_json(h, intervals.get(h.name)) for h in report], indent=2))
        return
    table = Table(title=_("sources"))
    for column in (
        _("name"),
        _("kind"),
        _("interval"),
        _("last run"),
        _("status"),
        _("new last run"),
        _("stored"),
    ):
        table.add_column(column, no_wrap=True)
    table.add_column(_("problem"), overflow="fold", ratio=1)
    for h in report:
        status_style = {"working": "green", "failing": "red", "blocked": "red"}.get(h.working, "")
        table.add_row(
            h.name + ("" if h.enabled else " (" + _("disabled") + ")"),
            h.kind,
            f"{intervals[h.name]} s" if h.name in intervals else "-",
            h.last_started.strftime("%Y-%m-%d %H:%M UTC") if h.last_started else _("never"),
            f"[{status_style}]{_(h.working)}[/]" if status_style else _(h.working),
            _("unknown") if h.last_new is None else str(h.last_new),
            h.stored,
            h.last_error or "",
        )
    out.print(table)


@app.command()
def mentions(
    since: Annotated[
        str | None,
        typer.Option(help="Only newer ones: an ISO date/time or a duration such as 24h or 7d."),
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only from this source.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Read what was heard, newest first."""
    from sqlmodel import Session

    from ascolto.database import prepare
    from storage.mentions import list_mentions

    settings = get_settings()
    cutoff = _parse_since(since) if since else None
    engine = prepare(settings)
    with Session(engine) as session:
        rows = list_mentions(session, since=cutoff, source=source, limit=limit)
    if as_json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    table = Table(title=ngettext("%(num)s mention", "%(num)s mentions", len(rows)))
    for column in (_("id"), _("source"), _("published"), _("author"), _("title / text")):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["source"],
            (row["published_at"] or row["fetched_at"] or "")[:19],
            row["author"] or "",
            (row["title"] or row["text"] or "")[:140],
        )
    out.print(table)


def _parse_since(value: str) -> datetime:
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if is_digits(value[:-1]) and len(value) < 10 and value[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            _(
                "%(value)s: expected an ISO date/time (2026-11-24, 2026-11-24T08:00) "
                "or a duration (90m, 24h, 7d, 2w)",
                value=repr(value),
            ),
            param_hint="--since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


ROOT = Path(__file__).resolve().parents[2]


def _default_datasets() -> Path:
    env = os.environ.get("ASCOLTO_DATASETS")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


@app.command()
def classify(
    since: Annotated[
        str | None,
        typer.Option(help="Only mentions newer than this: an ISO date/time or 24h, 7d, ..."),
    ] = None,
    reclassify: Annotated[
        bool, typer.Option("--reclassify", help="Label again mentions that already have labels.")
    ] = False,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help='Classify a JSON-lines file ({"text": ..., "lang": ...} per line) '
            "instead of stored mentions; nothing is stored.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --input: one JSON object out per line in.")
    ] = False,
) -> None:
    """Label stored mentions that have no labels from the current model (or a file's texts)."""
    settings = get_settings()
    if input_file is not None:
        _classify_file(settings, input_file, as_json=as_json)
        return
    from ascolto.database import prepare
    from classify.classifying import ClassifyReport, classify_pending

    cutoff = _parse_since(since) if since else None
    engine = prepare(settings)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn(_("%(count)s labelled", count="{task.completed}")),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(_("loading the classifier"), total=None)

        def advance(report: ClassifyReport) -> None:
            progress.update(task, description=_("classifying"), completed=report.done)

        report = classify_pending(
            settings, engine, since=cutoff, reclassify=reclassify, progress=advance
        )
    table = Table(
        title=_(
            "classification (%(model)s)", model=report.model_version or settings.classify.encoder
        )
    )
    for column in (
        _("classified"),
        _("copied"),
        _("unclassifiable"),
        _("chunks"),
        _("seconds"),
        _("texts/s"),
    ):
        table.add_column(column, no_wrap=True)
    table.add_column(_("problem"), overflow="fold", ratio=1)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.reasons.items()))
    table.add_row(
        str(report.classified),
        str(report.copied),
        f"{report.unclassifiable}" + (f" ({reasons})" if reasons else ""),
        str(report.chunks),
        number(report.seconds, 1),
        number(report.texts_per_second, 1),
        report.error or "",
    )
    out.print(table)
    if report.done:
        from ascolto.defects.detection import labels_changed

        found = labels_changed(settings, engine)
        if found is not None:
            out.print(
                _(
                    "defect detection: %(complaints)s complaint(s) clustered, "
                    "%(withdrawn)s relabelled mention(s) left their cluster, "
                    "%(alerts)s alert(s)",
                    complaints=found.complaints,
                    withdrawn=found.withdrawn,
                    alerts=len(found.alerts),
                )
                + (f" — {found.error or found.failed}" if not found.ok else "")
            )
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _classify_file(settings: Settings, path: Path, *, as_json: bool) -> None:
    """Classify each JSON line of `path`; a malformed line gives an `error`, not a stop."""
    from classify.classifying import get_classifier, product_specs
    from classify.labels import Text

    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(str(exc)), highlight=False)
        raise typer.Exit(2) from None
    parsed: list[Text | str] = []
    for line_no, raw in enumerate(raw_lines, 1):
        # Invalid UTF-8 is the text's problem, not the file's: replaced, then classified.
        line = raw.decode("utf-8", "replace")
        try:
            given = json.loads(line)
            if not isinstance(given, dict) or not isinstance(given.get("text"), str):
                raise ValueError(_('expected an object with a string "text"'))
            lang = given.get("lang")
            if lang is not None and not isinstance(lang, str):
                raise ValueError(_('"lang" must be a string'))
            parsed.append(Text(given["text"], lang or None))
        except ValueError as exc:
            parsed.append(_("line %(number)s: %(problem)s", number=line_no, problem=exc))
    classifier = get_classifier(settings)
    products = product_specs(settings)
    size = settings.classify.batch_size
    results: list[dict[str, Any]] = []
    for start in range(0, len(parsed), size):
        batch = parsed[start : start + size]
        texts = [t for t in batch if isinstance(t, Text)]
        labels = iter(classifier.classify(texts, products) if texts else [])
        for item in batch:
            if isinstance(item, str):
                results.append({"error": item})
                if as_json:
                    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
                continue
            lab = next(labels)
            row: dict[str, Any] = {
                "language": lab.language,
                "sentiment": lab.sentiment,
                "complaint": lab.complaint,
                "complaint_score": None
                if lab.complaint_score is None
                else round(lab.complaint_score, 4),
                "issues": lab.issues,
                "urgency": lab.urgency,
                "products": lab.products,
            }
            if lab.unclassifiable_reason:
                row["unclassifiable_reason"] = lab.unclassifiable_reason
            results.append(row)
            if as_json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
    if as_json:
        return
    table = Table(
        title=ngettext(
            "%(path)s: %(num)s line, %(model)s",
            "%(path)s: %(num)s lines, %(model)s",
            len(results),
            path=path,
            model=classifier.model_version,
        )
    )
    for column in (
        _("line"),
        _("language"),
        _("sentiment"),
        _("complaint"),
        _("issues"),
        _("urgency"),
        _("products"),
    ):
        table.add_column(column, overflow="fold")
    for line_no, row in enumerate(results, 1):
        if "error" in row or "unclassifiable_reason" in row:
            note = row.get("error") or _(
                "unclassifiable: %(reason)s", reason=row["unclassifiable_reason"]
            )
            table.add_row(str(line_no), escape(str(note)), "", "", "", "", "")
            continue
        table.add_row(
            str(line_no),
            row["language"] or "",
            _(row["sentiment"]) if row["sentiment"] else "",
            f"{_('yes') if row['complaint'] else _('no')} ({number(row['complaint_score'], 2)})",
            ", ".join(_(i) for i in row["issues"]),
            ", ".join(_(u) for u in row["urgency"]),
            ", ".join(row["products"]),
        )
    out.print(table)


@app.command()
def explain(
    mention_id: Annotated[int, typer.Argument(help="Id of a stored mention.")],
    nearest: Annotated[int, typer.Option(min=1, help="How many training examples to show.")] = 5,
) -> None:
    """A mention's labels with their scores, and the training examples nearest to it."""
    from ascolto.database import prepare
    from classify.explaining import explain_mention

    settings = get_settings()
    engine = prepare(settings)
    try:
        result = explain_mention(settings, engine, mention_id, nearest=nearest)
    except LookupError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(str(exc.args[0])), highlight=False)
        raise typer.Exit(2) from None
    mention, labels = result.mention, result.labels
    out.print(
        "[bold]"
        + _("mention %(id)s", id=mention.id)
        + f"[/] ({mention.lang or _('lang unknown')}, {mention.url or _('no url')})",
        highlight=False,
    )
    out.print(escape(result.text[:1000]), highlight=False, soft_wrap=True)
    if labels is None:
        out.print(_("not classified yet: run `ascolto classify`"))
    elif labels.unclassifiable_reason:
        out.print(
            _("unclassifiable: %(reason)s", reason=escape(labels.unclassifiable_reason))
            + f" ({labels.model_version})"
        )
    else:
        table = Table(title=_("labels (%(model)s)", model=labels.model_version))
        for column in (_("task"), _("label"), _("scores")):
            table.add_column(column, overflow="fold")
        table.add_row(_("language"), labels.language or "", number(labels.language_score or 0, 2))
        table.add_row(
            _("sentiment"),
            _(labels.sentiment) if labels.sentiment else "",
            _scores(labels.sentiment_scores),
        )
        table.add_row(
            _("complaint"),
            _("yes") if labels.complaint else _("no"),
            number(labels.complaint_score or 0, 2),
        )
        table.add_row(
            _("issues"), ", ".join(_(i) for i in labels.issues), _scores(labels.issue_scores)
        )
        table.add_row(
            _("urgency"), ", ".join(_(u) for u in labels.urgency), _scores(labels.urgency_scores)
        )
        table.add_row(_("products"), ", ".join(labels.products), "")
        if labels.copied_from_id:
            table.add_row(
                _("copied from"),
                _("mention %(id)s", id=labels.copied_from_id),
                _("near-duplicate"),
            )
        out.print(table)
    table = Table(
        title=ngettext(
            "%(num)s nearest training example (cosine)",
            "%(num)s nearest training examples (cosine)",
            len(result.neighbours),
        )
    )
    for column in (_("similarity"), _("from"), _("labels"), _("text")):
        table.add_column(column, overflow="fold")
    for n in result.neighbours:
        table.add_row(number(n.similarity, 3), n.origin, n.labels, escape(n.text[:200]))
    out.print(table)


def _scores(scores: dict[str, float]) -> str:
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{_(k)} {number(v, 2)}" for k, v in ranked)


@app.command()
def train(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the heads (default: a new folder under ./heads/); "
            "name the shipped heads' folder to replace them.",
        ),
    ] = None,
    datasets: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the public datasets (default: $ASCOLTO_DATASETS, else "
            "../shared/datasets next to the repository)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (fixed: reruns give the same heads).")] = 0,
    tweeteval_limit: Annotated[
        int | None, typer.Option(help="Use only this many TweetEval tweets (quicker).")
    ] = None,
    fine_tune: Annotated[
        bool,
        typer.Option(
            "--fine-tune",
            help="First fine-tune the e5 encoder's sentiment adapters (about 35 minutes on "
            "2 cores); needs encoder e5torch or concat with e5torch.",
        ),
    ] = False,
) -> None:
    """Train the heads from the public datasets plus the labelled examples in the database."""
    from ascolto.database import prepare
    from classify.train import TrainingError
    from classify.training import train_heads

    settings = get_settings()
    engine = prepare(settings)
    folder = datasets or _default_datasets()
    if not folder.is_dir():
        err.print(
            "[red]"
            + _("error:")
            + "[/] "
            + _("datasets folder %(folder)s does not exist", folder=escape(str(folder)))
        )
        raise typer.Exit(2)
    try:
        card, written = train_heads(
            settings,
            engine,
            datasets=folder,
            out_dir=out_dir,
            seed=seed,
            tweeteval_limit=tweeteval_limit,
            fine_tune=fine_tune,
        )
    except TrainingError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(str(exc)))
        raise typer.Exit(2) from None
    out.print(
        _(
            "wrote heads %(version)s for %(encoder)s to %(folder)s "
            "(%(examples)s labelled example(s), %(seconds)ss)",
            version=card["heads_version"],
            encoder=card["encoder"],
            folder=written,
            examples=card["data"]["extra_examples"],
            seconds=card["seconds"],
        ),
        highlight=False,
    )
    # escape(): "[classify]" would otherwise be read as rich markup and vanish.
    use_them = _("use them with:") + "  "
    out.print(escape(f'{use_them}[classify] head_dir = "{written}"'), highlight=False)
    if fine_tune:
        indent = " " * len(use_them)
        out.print(escape(f'{indent}[classify] model = "{card["model"]}"'), highlight=False)


@app.command("eval")
def evaluate(
    datasets: Annotated[
        Path | None, typer.Option(help="Folder of the public datasets (default: as for train).")
    ] = None,
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the results as JSON.")
    ] = Path("classify-eval.json"),
) -> None:
    """Score the configured classifier on the official test splits and print the table."""
    import subprocess

    settings = get_settings()
    script = ROOT / "benchmarks" / "classify.py"
    if not script.exists():
        err.print(
            "[red]"
            + _("error:")
            + "[/] "
            + _("the evaluation needs a source checkout (benchmarks/classify.py)")
        )
        raise typer.Exit(2)
    folder = datasets or _default_datasets()
    if not folder.is_dir():
        err.print(
            "[red]"
            + _("error:")
            + "[/] "
            + _("datasets folder %(folder)s does not exist", folder=escape(str(folder)))
        )
        raise typer.Exit(2)
    c = settings.classify
    command = [sys.executable, str(script), "--datasets", str(folder)]
    command += ["--encoder", c.encoder, "--out", str(out_file)]
    if c.model:
        command += ["--model", c.model]
    if c.head_dir:
        command += ["--head-dir", str(c.head_dir)]
    if c.cache_dir:
        command += ["--cache-dir", str(c.cache_dir)]
    code = subprocess.run(command, check=False).returncode  # noqa: S603
    if code:
        raise typer.Exit(EXIT_FAILED)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from ascolto.database import upgrade
    from storage.db import safe_url

    settings: Settings = get_settings()
    before, after = upgrade(settings)
    where = safe_url(settings.database.url)
    if before == after:
        out.print(_("%(where)s: already at revision %(revision)s", where=where, revision=after))
    else:
        out.print(
            _(
                "%(where)s: upgraded from %(before)s to %(after)s",
                where=where,
                before=before or _("an empty database"),
                after=after,
            )
        )


@import_app.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(help="CSV file, one row per order line (UTF-8).")],
    source: Annotated[
        str | None,
        typer.Option(help="Source the orders belong to (default: csv-import)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; store nothing.")
    ] = False,
) -> None:
    """Import orders from a CSV file; exit 1 when rows were rejected, 2 if unreadable.

    Columns: see listeners.order_import (order_id, email, ordered_at, sku or title required).
    """
    from ascolto.database import prepare
    from listeners.order_import import ImportFileError, import_orders

    settings = get_settings()
    try:
        engine = prepare(settings)
        report = import_orders(engine, file, source=source, dry_run=dry_run)
    except ImportFileError as exc:
        err.print(
            "[red]" + _("error:") + "[/] " + escape(str(exc)), highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    except LookupError as exc:
        err.print(
            "[red]" + _("error:") + "[/] " + escape(str(exc.args[0])),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    counts = report.counts
    figures = {"file": file, "rows": report.rows, "orders": report.orders, "lines": report.lines}
    if dry_run:
        summary = _(
            "%(file)s: %(rows)s row(s); would import %(orders)s order(s), %(lines)s line(s)",
            **figures,
        )
    else:
        summary = _(
            "%(file)s: %(rows)s row(s); imported %(orders)s order(s), %(lines)s line(s) "
            "into source %(source)s (new %(new)s, updated %(updated)s, "
            "unchanged %(unchanged)s, events %(events)s)",
            **figures,
            source=report.source,
            new=counts.new,
            updated=counts.updated,
            unchanged=counts.unchanged,
            events=counts.events,
        )
    out.print(escape(summary), highlight=False, soft_wrap=True)
    if report.rejected_lines:
        lines = ", ".join(str(n) for n in report.rejected_lines)
        out.print(
            _(
                "rejected %(count)s row(s) (lines %(lines)s):",
                count=len(report.rejected_lines),
                lines=lines,
            ),
            highlight=False,
            soft_wrap=True,
        )
        flagged = {e.line for e in report.errors}
        entries = [(e.line, str(e)) for e in report.errors] + [
            (
                line,
                _(
                    "line %(line)s: not imported, another row of the same order is invalid",
                    line=line,
                ),
            )
            for line in report.rejected_lines
            if line not in flagged
        ]
        for _line, text in sorted(entries, key=lambda entry: entry[0]):
            out.print(f"  {escape(text)}", highlight=False, soft_wrap=True)
    raise typer.Exit(report.exit_code)


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON, secrets and passwords hidden."""
    from storage.db import safe_url

    settings = get_settings()
    data = json.loads(settings.model_dump_json())
    data["database"]["url"] = safe_url(settings.database.url)
    print(json.dumps(data, indent=2, ensure_ascii=False))


@config_app.command("reference")
def config_reference() -> None:
    """Print the reference of every setting (Markdown), as in the documentation site."""
    from ascolto.reference import settings_reference

    print(settings_reference(), end="")


# After the everyday commands in `ascolto --help`.
app.command("model")(cli_model.model_command)

# Last in `ascolto --help`: only the distributed mode and benchmarks need them.
app.command()(cli_distributed.worker)
app.command()(cli_distributed.beat)
app.command()(cli_distributed.bench)


# What each kind of error means, said first in a language other than English: the detail
# after it comes from the layer that failed, in English, with its names and figures.
ERROR_SUMMARIES: dict[type[AscoltoError], str] = {
    DatabaseError: N_("the database cannot be opened or brought up to date"),
    SettingsError: N_("the settings cannot be used"),
}


def _explained(exc: AscoltoError) -> str:
    detail = str(exc)
    if current_language() == LANGUAGES[0]:
        return detail
    for kind, summary in ERROR_SUMMARIES.items():
        if isinstance(exc, kind):
            return f"{_(summary)} ({detail})"
    return detail


def _root_command() -> Any:
    """The click command of `app`, its help in the language of the environment: `ascolto
    --help` is shown before any option or setting is read."""
    command = typer.main.get_command(app)
    set_language(command_line_language(os.environ.get("ASCOLTO_LANG"), None))
    speak_help(command)
    return command


def main() -> NoReturn:
    """Console-script entry point: maps ascolto's errors to messages and exit codes."""
    try:
        # Without standalone mode, typer returns the code of `typer.Exit` instead of exiting.
        code = _root_command()(standalone_mode=False)
    except AscoltoError as exc:
        err.print(
            "[red]" + _("error:") + "[/] " + escape(_explained(exc)),
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print(_("interrupted"))
        sys.exit(130)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors (unknown option, bad value) from typer's bundled click.
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)
