"""Drafting from history: the closest approved, unedited reply, re-filled for this customer.

Agents' approved replies that went out as drafted are the best evidence of what a careful
reply to a mention says. For a new mention, the most similar past mention (cosine of the
stored encoder embeddings, same intent, language and kind of reply, a case of the same
shape: order stage, earlier contact, known issue) lends its reply; every
fact of the earlier customer in it (greeting, name, handle, product, order number and
dates, the problem they named, the quoted post) is swapped for this customer's, and the
result is refused when anything of the earlier customer's could still be in it: their
names, handle or e-mail address, an order or phone number, a date or an @handle that this
draft's own facts do not give.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from outreach.context import DraftFacts, facts_for_mention
from outreach.drafters.base import Composed, Declined, DraftRequest, DraftSource
from outreach.phrasing import template_data
from outreach.voice import voice_for
from policies.personal_data import DEFAULT_ORDER_PATTERNS, find_personal_data
from storage.classifications import get_embedding
from storage.draft_history import PastReply, approved_replies
from storage.outreach import mention_facts

# Past replies tried, most similar first, before the source gives way.
TRIES = 3
_ORDER_PATTERNS = tuple(re.compile(p) for p in DEFAULT_ORDER_PATTERNS)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
)
_SPOKEN_DATE = re.compile(rf"\b\d{{1,2}}°? (?:{_MONTHS}) \d{{4}}\b", re.IGNORECASE)
# A handle, without the full stop that may end the sentence after it.
_AT_HANDLE = re.compile(
    r"(?<![\w.])@[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?"
)
# What a template is given that names the customer or their case: swapped one for one.
_SWAPPED = ("greeting", "sign_off", "quote", "mention_url", "posted_on", "product", "problem")
_SWAPPED_IF_PRIVATE = ("signature",)
_ORDER_FIELDS = (
    "number",
    "placed_on",
    "shipped_on",
    "delivered_on",
    "returned_on",
    "refunded_on",
)


class HistorySource(DraftSource):
    """The closest approved, unedited reply to a similar mention, re-filled."""

    name = "history"

    def compose(self, request: DraftRequest) -> Composed:
        started = time.perf_counter()
        facts = request.facts
        if facts.mention_id is None:
            raise Declined("no mention to compare")
        own = get_embedding(request.session, mention_id=facts.mention_id)
        if own is None:
            raise Declined("this mention has no embedding")
        version, vector = own
        options = self.settings.drafts.history
        past = approved_replies(
            request.session,
            intent=request.intent,
            language=request.language,
            public=not request.private,
            since=request.now - timedelta(days=options.max_age_days),
            limit=options.candidates,
            exclude_mention_id=facts.mention_id,
        )
        ranked = _ranked(vector, [p for p in past if p.model_version == version])
        close = [(score, p) for score, p in ranked if score >= options.min_similarity]
        details: dict[str, Any] = {
            "compared": len(ranked),
            "best_similarity": round(ranked[0][0], 4) if ranked else None,
        }
        if not close:
            raise Declined(
                "no approved, unedited reply to a similar mention",
                details=details,
                ms=_ms(started),
            )
        reasons = []
        for score, reply in close[:TRIES]:
            try:
                text = self._refill(request, reply)
            except Declined as exc:
                reasons.append(f"draft {reply.draft_id}: {exc.reason}")
                continue
            return Composed(
                text,
                {
                    **details,
                    "past_draft_id": reply.draft_id,
                    "past_mention_id": reply.mention_id,
                    "similarity": round(score, 4),
                },
                ms=_ms(started),
            )
        raise Declined("; ".join(reasons), details=details, ms=_ms(started))

    def _refill(self, request: DraftRequest, reply: PastReply) -> str:
        found = mention_facts(request.session, mention_id=reply.mention_id)
        if found is None:
            raise Declined("the earlier mention is gone")
        # The earlier case as it stood when its reply was drafted (not counting that reply).
        then = facts_for_mention(request.session, self.settings, found, now=reply.created_at)
        earlier = [
            c for c in then.earlier if c.at < reply.created_at and c.draft_id != reply.draft_id
        ]
        then = replace(then, earlier=tuple(earlier))
        past_data = template_data(
            then,
            voice_for(self.settings.brand, request.language),
            channel=request.kind,
            language=request.language,
            drafts=self.settings.drafts,
        )
        differs = [k for k, v in shape(past_data).items() if shape(request.data)[k] != v]
        if differs:
            raise Declined(f"the earlier case differs: {', '.join(differs)}")
        text = refill(reply.text, past_data, request.data, private=request.private)
        check_no_leak(text, then, request.facts, request.data, request.template.text)
        return text


def shape(data: Mapping[str, Any]) -> dict[str, Any]:
    """What a template's wording turns on: a reply to a case of another shape (an order at
    another stage, an earlier contact, a known issue) would state what is not so here."""
    order = data.get("order") or {}
    return {
        "order": bool(order),
        "order status": order.get("status"),
        "order stages": sorted(k for k in _ORDER_FIELDS[1:] if order.get(k)),
        "earlier contact": bool(data.get("earlier")),
        "known issue": bool(data.get("known_issue")),
        "safety": bool(data.get("safety")),
        "described": bool(data.get("described")),
        "order known": bool(data.get("order_known")),
        "survey answer": bool(data.get("answer")),
    }


def _ranked(
    vector: npt.NDArray[np.float32], past: list[PastReply]
) -> list[tuple[float, PastReply]]:
    """Past replies by the cosine similarity of their mention to this one, closest first."""
    kept = [p for p in past if p.vector.shape == vector.shape]
    if not kept:
        return []
    matrix = np.stack([p.vector for p in kept])
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(vector) or 1.0)
    scores = (matrix @ vector) / np.where(norms == 0, 1.0, norms)
    order = np.argsort(-scores, kind="stable")
    return [(float(scores[i]), kept[i]) for i in order]


def _pairs(
    past: Mapping[str, Any], new: Mapping[str, Any], *, private: bool
) -> list[tuple[str, str, str | None]]:
    """(what, the earlier value, this customer's value) for every fact a reply may carry."""
    keys = _SWAPPED + (_SWAPPED_IF_PRIVATE if private else ())
    pairs: list[tuple[str, str, str | None]] = []
    for key in keys:
        old = past.get(key)
        if isinstance(old, str) and old.strip():
            value = new.get(key)
            pairs.append((key, old, value if isinstance(value, str) and value.strip() else None))
    old_order = past.get("order") or {}
    new_order = new.get("order") or {}
    for key in _ORDER_FIELDS:
        old = old_order.get(key)
        if isinstance(old, str) and old.strip():
            pairs.append((f"order {key}", old, new_order.get(key) or None))
    for key in ("name", "handle"):
        old = past.get(key)
        if isinstance(old, str) and old.strip():
            pairs.append((key, old, new.get(key) or None))
    return pairs


def refill(text: str, past: Mapping[str, Any], new: Mapping[str, Any], *, private: bool) -> str:
    """The earlier reply with every fact of the earlier customer swapped for this one's.

    Longer values go first, and all at once (through markers), so a name inside the
    greeting is swapped with the greeting and no new value is swapped again.
    """
    pairs = sorted(_pairs(past, new, private=private), key=lambda p: -len(p[1]))
    markers: dict[str, str | None] = {}
    for n, (what, old, value) in enumerate(pairs):
        if old not in text:
            continue
        if value is None:
            raise Declined(f"the earlier reply names its customer's {what}, unknown for this one")
        marker = f"\x00{n}\x00"
        markers[marker] = value
        text = text.replace(old, marker)
    for marker, value in markers.items():
        text = text.replace(marker, value or "")
    return text


def check_no_leak(
    text: str,
    then: DraftFacts,
    now: DraftFacts,
    data: Mapping[str, Any],
    template_text: str,
) -> None:
    """Refuse a re-filled reply that could still carry the earlier customer's data."""
    allowed = _allowed(now, data, template_text)
    lowered = text.lower()
    for what, value in _identity(then):
        if value.lower() in allowed:
            continue
        if re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", lowered):
            raise Declined(f"it still carries the earlier customer's {what}")
    order_ids = [n for n in (then.order.number, then.order.internal_id) if n] if then.order else []
    for found in find_personal_data(text, order_patterns=_ORDER_PATTERNS, order_ids=order_ids):
        piece = text[found.start : found.end]
        if piece.lower() not in allowed and piece not in template_text:
            raise Declined(f"it carries a {found.kind.replace('_', ' ')} not of this customer")
    for pattern, what in ((_SPOKEN_DATE, "date"), (_AT_HANDLE, "handle")):
        for match in pattern.finditer(text):
            if match.group(0).lower() not in allowed and match.group(0) not in template_text:
                raise Declined(f"it carries a {what} this draft's facts do not give")


def _identity(facts: DraftFacts) -> Iterable[tuple[str, str]]:
    """The earlier customer's names, handle and address, as they could appear in a reply."""
    if facts.customer_email:
        yield "e-mail address", facts.customer_email
    for what, full in (("name", facts.customer_name), ("display name", facts.display_name)):
        for word in (full or "").replace(",", " ").split():
            if len(word) >= 3 and word[0].isalpha():
                yield what, word.strip(".")
    if facts.handle:
        bare = facts.handle.lstrip("@").split("@")[0]
        if len(bare) >= 3:
            yield "handle", bare


def _allowed(facts: DraftFacts, data: Mapping[str, Any], template_text: str) -> set[str]:
    """Everything this draft may say of a person: this customer's facts, and the brand's."""
    values: list[str] = [template_text]
    for value in data.values():
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, Mapping):
            values.extend(str(v) for v in value.values() if isinstance(v, str))
    values.extend(v for v in (facts.customer_email, facts.customer_name, facts.handle) if v)
    allowed: set[str] = set()
    for value in values:
        lowered = value.lower()
        allowed.add(lowered)
        allowed.update(lowered.replace(",", " ").split())
        allowed.update(m.group(0).lower() for m in _SPOKEN_DATE.finditer(value))
        allowed.update(m.group(0).lower() for m in _AT_HANDLE.finditer(value))
    return allowed


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
