"""Draft-lint: what a careful care agent would fix in a draft before sending it.

Each check names one habit of a careful agent: one courtesy of each kind, the customer
greeted by name (never by a handle dressed as a name), the product, order and problem named
when known, a next step and when it happens, a length the network takes, the brand's
register ("Lei" or "tu"), sign-off and emoji policy, and no request for what the customer
already told us. The checks read the text and the facts the template was given; they
never change the draft. Tests run them over every template, and the drafts benchmark
counts their findings (target: none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Public replies, as many characters as each network takes (code points).
NETWORK_LIMITS = {
    "x": 280,
    "bluesky": 300,
    "mastodon": 500,
    "appstore": 5970,
    "reddit": 10000,
    "hackernews": 10000,
}
# Courtesies that read as stacked when said twice in one draft.
_COURTESIES = {
    "thanks": re.compile(r"\b(?:thank you|thanks|grazie|ringrazi\w*)\b", re.IGNORECASE),
    "sorry": re.compile(r"\b(?:sorry|apologi[sz]e\w*|ci dispiace|scus\w*)\b", re.IGNORECASE),
    "patience": re.compile(r"\b(?:patience|pazienza)\b", re.IGNORECASE),
}
_NEXT_STEP = re.compile(
    r"\b(?:we'll|we will|will (?:write|call|reply)|please|reply|send us|scriverà|faremo|"
    r"verificheremo|controlleremo|risponderemo|scriveremo|pubblicheremo|apriremo|diremo|"
    r"per favore|scrivici|ci scriva|rispondi|risponda)\b",
    re.IGNORECASE,
)
_WHEN = re.compile(
    r"\b(?:within \d+ (?:hours?|days?)|entro \d+ (?:or[ae]|giorni)|as soon as|appena|today|"
    r"oggi|tomorrow|domani)\b",
    re.IGNORECASE,
)
# "ti", "tuo", "scrivici" in a formal Italian draft; "Le", "Suo", "ci scriva" in an informal one.
_INFORMAL_IT = re.compile(
    r"\b(?:ti|tuo|tua|tuoi|tue|scrivici|rispondi|hai|sei|puoi|vuoi|preferisci|ti aspettavi)\b",
    re.IGNORECASE,
)
_FORMAL_IT = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:Le|Suo|Sua|Suoi|Sue)\b|\bci scriva\b|\brisponda\b")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2764]")
_ASK_DESCRIPTION = re.compile(r"\b(?:short description|breve descrizione)\b", re.IGNORECASE)
_ASK_ORDER = re.compile(r"\b(?:your order number|numero d'ordine)\b", re.IGNORECASE)
_LEFTOVERS = re.compile(r"\{\{|\}\}|\{%|%\}|\bNone\b|\bundefined\b| {2,}| [,.;:!?]")
# The customer's own words, quoted in an e-mail: not ours, not linted.
_QUOTED = re.compile(r"“[^”]*”|«[^»]*»")
_GREETING = re.compile(
    r"^(?:Hi|Hello|Dear|Ciao|Gentile|Buongiorno|Salve)\s+([^\s,]+)", re.IGNORECASE
)
# Intents whose draft promises a next step with a time.
_NEEDS_NEXT_STEP = ("complaint_", "known_issue", "question", "follow_up")


@dataclass(frozen=True)
class LintFinding:
    """One thing to fix: which check, and what it found."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


@dataclass(frozen=True)
class LintContext:
    """What the draft should say and how: the facts its template had, and the voice."""

    language: str
    intent: str
    public: bool
    network: str | None = None
    formal: bool = False
    emoji: bool = False
    sign_off: str | None = None
    name: str | None = None
    handle: str | None = None
    product: str | None = None
    order_number: str | None = None
    has_order: bool = False
    described: bool = False

    @property
    def limit(self) -> int | None:
        """Most characters the network takes for a public reply; None for e-mail."""
        if not self.public or self.network is None:
            return None
        return NETWORK_LIMITS.get(self.network)


def context_from_data(data: Mapping[str, Any], *, intent: str, network: str | None) -> LintContext:
    """The lint's view of a draft rendered from `data` (what `template_data` returned)."""
    order = data.get("order") or {}
    return LintContext(
        language=str(data.get("language", "en")),
        intent=intent,
        public=data.get("channel") != "email",
        network=network,
        formal=bool(data.get("formal")),
        emoji=bool(data.get("emoji")),
        sign_off=data.get("sign_off"),
        name=data.get("name"),
        handle=data.get("handle"),
        product=data.get("product"),
        order_number=order.get("number") if order else None,
        has_order=bool(order) or bool(data.get("order_known")),
        described=bool(data.get("described")),
    )


def lint(text: str, ctx: LintContext) -> list[LintFinding]:
    """Everything a careful agent would change in `text`; empty when nothing."""
    own = _QUOTED.sub("“…”", text)
    found: list[LintFinding] = []

    def add(check: str, message: str) -> None:
        found.append(LintFinding(check, message))

    for kind, pattern in _COURTESIES.items():
        said = pattern.findall(own)
        if len(said) > 1:
            add("repeated_courtesy", f"{kind} said {len(said)} times ({', '.join(said)})")
    greeted = _GREETING.match(own.strip())
    if greeted and ctx.handle:
        word = greeted.group(1).lower()
        bare = ctx.handle.lstrip("@").split("@")[0].lower()
        if word == bare or word == bare.split(".")[0]:
            add("handle_as_name", f"greets {greeted.group(1)!r}, the handle {ctx.handle}")
    if ctx.name and ctx.name not in own:
        add("name_missing", f"the customer's name {ctx.name!r} is known but not used")
    product_named = ctx.intent != "follow_up" or ctx.product is not None
    if ctx.product and product_named and ctx.product.lower() not in own.lower():
        add("product_missing", f"the product {ctx.product!r} is known but not named")
    if ctx.order_number and _about_order(ctx.intent) and ctx.order_number not in own:
        add("order_missing", f"the order {ctx.order_number} is known but not named")
    if ctx.intent.startswith(_NEEDS_NEXT_STEP):
        if not _NEXT_STEP.search(own):
            add("no_next_step", "says nothing of what happens next")
        elif not _WHEN.search(own):
            add("no_when", "says what happens next but not when")
    if ctx.limit is not None and len(text) > ctx.limit:
        add("too_long", f"{len(text)} characters; {ctx.network} takes {ctx.limit}")
    if ctx.language == "it":
        body = _without_greeting(own)
        if ctx.formal and (wrong := _INFORMAL_IT.findall(body)):
            add("register", f"informal words in a formal draft: {', '.join(sorted(set(wrong)))}")
        if not ctx.formal and (wrong := _FORMAL_IT.findall(body)):
            add("register", f"formal words in an informal draft: {', '.join(sorted(set(wrong)))}")
    if not ctx.emoji and (shown := _EMOJI.findall(own)):
        add("emoji", f"emoji {''.join(shown)} but the brand voice has none")
    if ctx.sign_off and ctx.sign_off not in own:
        add("sign_off", f"no sign-off {ctx.sign_off!r}")
    if ctx.described and _ASK_DESCRIPTION.search(own):
        add("asks_known", "asks for a description the customer already gave")
    if ctx.has_order and _ASK_ORDER.search(own):
        add("asks_known", "asks for the order number the order data already has")
    if leftover := _LEFTOVERS.search(own):
        add("leftover", f"template leftovers or loose spacing: {leftover.group(0)!r}")
    return found


def _about_order(intent: str) -> bool:
    return intent in ("complaint_delivery", "complaint_billing", "follow_up")


def _without_greeting(text: str) -> str:
    """The text after the greeting (a name there is not a pronoun)."""
    greeted = _GREETING.match(text.strip())
    return text.strip()[greeted.end() :] if greeted else text
