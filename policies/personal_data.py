"""Finding personal data in a text: e-mail addresses, phone numbers, order numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_SEP = r"[\s.\-/]?"
# Not inside a longer number, a decimal or a date; a sentence's full stop may follow.
_BEFORE = r"(?<![\w+,/-])(?<!\d\.)"
_AFTER = r"(?![\w,/-]|\.\d)"
PHONE = re.compile(
    "|".join(
        (
            # +39 333 123 4567, 0039 02 1234 5678, +1 (555) 123-4567
            rf"(?<![\w+])(?:\+|00)\d{{1,3}}{_SEP}(?:\(\d{{1,4}}\){_SEP})?"
            rf"(?:\d{{2,4}}{_SEP}){{1,4}}\d{{2,4}}{_AFTER}",
            # Italian mobiles: 333 123 4567
            rf"{_BEFORE}3\d{{2}}{_SEP}\d{{3}}{_SEP}\d{{3,4}}{_AFTER}",
            # Italian landlines: 02 1234 5678, 06-12345678
            rf"{_BEFORE}0\d{{1,3}}{_SEP}\d{{3,4}}{_SEP}\d{{3,4}}{_AFTER}",
            # North American: (555) 123-4567, 555-123-4567
            rf"(?<![\w+])(?:\(\d{{3}}\)\s?|\d{{3}}[\-.])\d{{3}}[\-.]\d{{4}}{_AFTER}",
        )
    )
)
# Phone numbers have 8 to 15 digits (E.164); fewer is a quantity or a code.
PHONE_DIGITS = (8, 15)

DEFAULT_ORDER_PATTERNS = (
    # "order 100234", "ordine n. 100234", "order #A-100234", "order number: 100234"
    r"(?i:\b(?:order|ordine)(?:\s+(?:number|no\.?|nr\.?|n\.?|num\.?|numero|id))?\s*:?\s*)"
    r"(#?[A-Z]{0,4}-?\d{4,}\b)",
    # "#100234"
    r"(?<![\w&])#\d{4,}\b",
)


@dataclass(frozen=True, slots=True)
class Found:
    """A piece of personal data: its kind and where it is."""

    kind: str
    start: int
    end: int


KIND_WORDS = {"email": "e-mail address", "phone": "phone number", "order_number": "order number"}


def find_personal_data(
    text: str,
    *,
    kinds: Iterable[str] = ("email", "phone", "order_number"),
    order_patterns: Sequence[re.Pattern[str]] = (),
    order_ids: Sequence[str] = (),
    allowed: Iterable[str] = (),
) -> list[Found]:
    """Non-overlapping personal data in `text`: e-mail addresses first, then order and
    phone numbers outside links."""
    wanted = set(kinds)
    allow = {a.strip().lower() for a in allowed}
    taken: list[tuple[int, int]] = []
    found: list[Found] = []

    def add(kind: str, start: int, end: int) -> None:
        if text[start:end].strip().lower() in allow:
            return
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(Found(kind, start, end))

    if "email" in wanted:
        for match in EMAIL.finditer(text):
            add("email", match.start(), match.end())
    # Digits inside links (product pages, tracking links) are not phone or order numbers.
    taken += [(m.start(), m.end()) for m in URL.finditer(text)]
    if "order_number" in wanted:
        for identifier in order_ids:
            if len(identifier.strip()) >= 4:
                for match in re.finditer(rf"(?<!\w){re.escape(identifier.strip())}(?!\w)", text):
                    add("order_number", match.start(), match.end())
        for pattern in order_patterns:
            for match in pattern.finditer(text):
                group = 1 if pattern.groups else 0
                add("order_number", match.start(group), match.end(group))
    if "phone" in wanted:
        for match in PHONE.finditer(text):
            digits = sum(c.isdigit() for c in match.group(0))
            if PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
                add("phone", match.start(), match.end())
    return sorted(found, key=lambda f: f.start)


def redact(text: str, found: Sequence[Found], replacement: str) -> str:
    """`text` with every found span replaced."""
    for item in sorted(found, key=lambda f: f.start, reverse=True):
        text = text[: item.start] + replacement + text[item.end :]
    return text
