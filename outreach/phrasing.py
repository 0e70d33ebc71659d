"""The data a template receives: names, dates and order stages put in the reader's words.

Only plain values (strings, booleans, lists, dicts) reach the templates: no database rows,
so a user's template cannot walk from a value to anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from outreach.context import DraftFacts
from outreach.draft_settings import DraftSettings
from outreach.problems import named_problem, words
from outreach.rendering import clean
from outreach.voice import Voice

_MONTHS = {
    "en": [
        *("January", "February", "March", "April", "May", "June"),
        *("July", "August", "September", "October", "November", "December"),
    ],
    "it": [
        *("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno"),
        *("luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"),
    ],
}
_PLATFORMS = {
    "appstore": "the App Store",
    "bluesky": "Bluesky",
    "hackernews": "Hacker News",
    "mastodon": "Mastodon",
    "reddit": "Reddit",
}
_HANDLE = re.compile(r"^@?([A-Za-z0-9_][A-Za-z0-9_.-]{0,59})(@[A-Za-z0-9.-]{1,100})?$")
# Letters, with hyphens and apostrophes inside (Jean-Luc, D'Amico, D\u2019Amico).
_NAME_CHARS = re.compile(r"^[^\W\d_](?:[^\W\d_]|[-'\u2019])*$")
# Caps on what comes from outside: a name, a handle, a quoted post.
NAME_LIMIT = 40
QUOTE_LIMIT = 280
# An order number the customer wrote ("ordine #AC-55102", "order 1042"): not asked again.
_ORDER_IN_TEXT = re.compile(
    r"(?:\border|\bordine)\s*(?:n\.|no\.|number|numero)?\s*#?[A-Z]{0,4}-?\d{3,}|#[A-Z]{0,4}-?\d{4,}",
    re.IGNORECASE,
)
# A post of this many words describes its problem: a reply does not ask for a description.
DESCRIBED_WORDS = 12


def first_name(full: str | None) -> str | None:
    """The first word of a person's name when it looks like a name, else None."""
    if not full:
        return None
    words = clean(full, 120).split()
    if not words:
        return None
    word = words[0].strip(",.")
    if not 2 <= len(word) <= NAME_LIMIT or not _NAME_CHARS.match(word):
        return None
    return word[0].upper() + word[1:] if word.islower() else word


def display_first_name(display: str | None) -> str | None:
    """The first name in a network's display name, never the handle in disguise.

    "lucaverdi" or "rbolt" are handles, not names: a display name whose first word is
    written all in lower case greets no one (a person writes their name capitalised).
    """
    name = first_name(display)
    if name is None or display is None:
        return None
    first = clean(display, 120).split()[0].strip(",.")
    if first.islower():
        return None
    return name


def within(hours: int, language: str) -> str:
    """When the next contact comes: "within 24 hours" / "entro 24 ore"."""
    if hours % 24 == 0 and hours >= 48:
        days = hours // 24
        return f"entro {days} giorni" if language == "it" else f"within {days} days"
    unit_it = "ora" if hours == 1 else "ore"
    unit_en = "hour" if hours == 1 else "hours"
    return f"entro {hours} {unit_it}" if language == "it" else f"within {hours} {unit_en}"


def public_handle(handle: str | None, platform: str | None) -> str | None:
    """``@handle`` as the platform shows it; None for anything that is not a plain handle.

    An e-mail address used as a handle (some review sites) is never shown.
    """
    if not handle:
        return None
    match = _HANDLE.match(handle.strip())
    if not match:
        return None
    if match.group(2) and platform not in ("fediverse", "mastodon"):
        return None
    return "@" + match.group(1) + (match.group(2) or "")


def spoken_date(at: datetime | None, language: str, zone: ZoneInfo | None) -> str | None:
    """ "3 November 2026" in the reader's time zone; None when unknown.

    The year is always written: a date without one reads as a promise of the next
    time that day comes round.
    """
    if at is None:
        return None
    local = at.astimezone(zone) if zone else at
    months = _MONTHS.get(language, _MONTHS["en"])
    # Italian says "1° novembre" for the first of the month.
    number = "1°" if local.day == 1 and language == "it" else str(local.day)
    return f"{number} {months[local.month - 1]} {local.year}"


def template_data(
    facts: DraftFacts,
    voice: Voice,
    *,
    channel: str,
    language: str,
    drafts: DraftSettings | None = None,
    answer: SurveyReply | None = None,
) -> dict[str, Any]:
    """What a template of `channel` may print about `facts`, in `language`.

    `answer` is the survey answer a follow-up e-mail responds to, when there is one.
    """
    drafts = drafts or DraftSettings()
    private = channel == "email"
    zone = facts.timezone()
    name = first_name(facts.customer_name) or display_first_name(facts.display_name)
    handle = public_handle(facts.handle, facts.platform)
    greeting_name = name or (None if private else handle)
    order = None
    if facts.order is not None:
        stages = facts.order.stages
        order = {
            # Order numbers are personal data: only private messages carry them.
            "number": clean(facts.order.number, 60) if private else None,
            "status": facts.order.status,
            "placed_on": spoken_date(facts.order.placed_at, language, zone),
            **{
                f"{stage}_on": spoken_date(stages.get(stage), language, zone)
                for stage in ("shipped", "delivered", "returned", "refunded")
            },
            "products": [clean(p, 80) for p in facts.order.products],
        }
    earlier = None
    if facts.latest_contact is not None:
        earlier = {
            "on": spoken_date(facts.latest_contact.at, language, zone),
            "channel": facts.latest_contact.channel,
            "count": len(facts.earlier),
        }
    quote = clean(facts.mention_text, QUOTE_LIMIT) if private and facts.mention_text else None
    # What the customer told us: their post, and their survey comment when answering one.
    said = " ".join(t for t in (facts.full_text, answer.comment if answer else None) if t)
    return {
        "language": language,
        "channel": channel,
        "brand": voice.brand,
        "formal": voice.formal,
        "greeting": voice.greeting(clean(greeting_name, NAME_LIMIT) if greeting_name else None),
        "sign_off": voice.sign_off,
        "signature": voice.signature if private else "",
        "name": name,
        "handle": handle,
        "platform": _PLATFORMS.get(facts.source_kind or ""),
        "product": clean(facts.product, 80) if facts.product else None,
        "issues": list(facts.issues),
        "safety": "safety" in facts.urgency,
        "order": order,
        "earlier": earlier,
        "known_issue": facts.known_issue is not None,
        "quote": quote,
        "posted_on": spoken_date(facts.opened_at, language, zone) if facts.mention_id else None,
        "mention_url": clean(facts.mention_url, 500) if facts.mention_url else None,
        "problem": named_problem(said, language),
        "described": words(said) >= DESCRIBED_WORDS,
        "order_known": facts.order is not None or bool(_ORDER_IN_TEXT.search(said)),
        "within": within(drafts.reply_within_hours, language),
        "emoji": drafts.emoji,
        "answer": answer.as_data(language) if answer is not None and private else None,
    }


@dataclass(frozen=True)
class SurveyReply:
    """A customer's survey answer, as a follow-up e-mail repeats it back to them."""

    csat: int | None
    nps: int | None
    comment: str | None

    def as_data(self, language: str) -> dict[str, Any]:
        """`score` in words ("2 out of 5" / "2 su 5") and the comment, cleaned and capped."""
        of = "su" if language == "it" else "out of"
        scores = []
        if self.csat is not None:
            scores.append(f"{self.csat} {of} 5")
        if self.nps is not None:
            scores.append(f"{self.nps} {of} 10")
        joiner = " e " if language == "it" else " and "
        comment = clean(self.comment, QUOTE_LIMIT) if self.comment else None
        return {"score": joiner.join(scores) or "—", "comment": comment or None}
