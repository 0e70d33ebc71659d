"""Amounts of money and percentages a draft offers, written the English or Italian way.

"$50", "50 USD", "€ 30,50", "30 euro", "1.000,50 €", "a 20% refund", "rimborso di 40 €",
"un buono da 30" (no currency: reported with currency None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

PERCENT = "percent"

# ISO 4217 codes written in capitals; the lower-case forms people type are the few below.
ISO_CODES = frozenset(
    {
        "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK",
        "EGP", "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KRW", "MAD",
        "MXN", "MYR", "NGN", "NOK", "NZD", "PHP", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
        "SEK", "SGD", "THB", "TRY", "TWD", "UAH", "USD", "VND", "ZAR",
    }
)  # fmt: skip
LOWER_CODES = ("eur", "usd", "gbp", "chf")
SYMBOLS = {"US$": "USD", "C$": "CAD", "A$": "AUD", "€": "EUR", "£": "GBP", "¥": "JPY"}
WORDS = {
    "euro": "EUR",
    "euros": "EUR",
    "dollar": "USD",
    "dollars": "USD",
    "dollari": "USD",
    "dollaro": "USD",
    "bucks": "USD",
    "pound": "GBP",
    "pounds": "GBP",
    "sterlina": "GBP",
    "sterline": "GBP",
    "yen": "JPY",
    "franchi": "CHF",
    "franco": "CHF",
    "francs": "CHF",
}

# Words that make a number an offer: a percentage counts only near one of them (a battery
# "at 20%" is not a refund), and a bare number right after one is an amount with no currency.
OFFER_WORDS = (
    r"refund(?:s|ed)?|reimburse\w*|voucher|coupon|credit|discount|compensation|gift\s+card|"
    r"cashback|rimbors\w*|buon[oi]|credito|sconto|risarcimento|indennizzo|carta\s+regalo|"
    r"compensazione"
)

_NUMBER = (
    r"(?<![\w.,])(?:\d{1,3}(?:[.,\u00a0\u202f']\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)(?!\d)"
)
_CODES = "|".join(sorted(ISO_CODES))
_PREFIX = rf"US\$|C\$|A\$|\$|€|£|¥|\b(?:{_CODES})\b|\b(?i:{'|'.join(LOWER_CODES)})\b"
_WORDS = "|".join(sorted(WORDS, key=len, reverse=True))
_SUFFIX = rf"\$|€|£|¥|(?:{_CODES})\b|(?i:{'|'.join(LOWER_CODES)})\b|(?i:{_WORDS})\b"
_AMOUNT = re.compile(
    rf"(?P<pre>{_PREFIX})[\s\u00a0]?(?P<n1>{_NUMBER})"
    rf"|(?P<n2>{_NUMBER})[\s\u00a0]?(?P<post>{_SUFFIX})"
    rf"|(?P<n3>{_NUMBER})[\s\u00a0]?(?:%|(?i:per\s?cento?\b|percent\b))"
)
_OFFER = re.compile(rf"(?i:\b(?:{OFFER_WORDS}|off)\b)")
_BARE = re.compile(
    rf"(?i:\b(?:{OFFER_WORDS})\b)[\s\u00a0]+"
    r"(?i:(?:of|for|worth|up\s+to|da|di|del\s+valore\s+di|pari\s+a|fino\s+a)[\s\u00a0]+)?"
    rf"(?P<n>{_NUMBER})"
    r"(?![\s\u00a0]*(?i:days?|giorni|months?|mesi|weeks?|settimane|items?|pezzi|orders?|ordini)\b)"
)
# How far from a percentage an offer word may be (characters).
_PERCENT_WINDOW = 40


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount in a text: `currency` is an ISO code, "percent", or None when not written."""

    value: Decimal
    currency: str | None
    text: str
    start: int
    end: int

    def __str__(self) -> str:
        if self.currency == PERCENT:
            return f"{self.value}%"
        return f"{self.value} {self.currency}" if self.currency else f"{self.value} (no currency)"


def parse_number(raw: str) -> Decimal:
    """ "1.000,50" and "1,000.50" -> 1000.50; "30,50" -> 30.50; "1,000" -> 1000."""
    digits = raw.replace("\u00a0", "").replace("\u202f", "").replace("'", "")
    decimal = re.search(r"[.,](\d{1,2})$", digits)
    whole, fraction = (digits[: decimal.start()], decimal.group(1)) if decimal else (digits, "")
    whole = re.sub(r"[.,]", "", whole)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def find_amounts(text: str, *, dollar: str = "USD") -> list[Amount]:
    """Every amount of money, offered percentage and bare offered number in `text`."""
    found: list[Amount] = []
    for match in _AMOUNT.finditer(text):
        if match.group("n1") is not None:
            number, currency = match.group("n1"), _currency(match.group("pre"), dollar)
        elif match.group("n2") is not None:
            number, currency = match.group("n2"), _currency(match.group("post"), dollar)
        else:
            window = text[max(0, match.start() - _PERCENT_WINDOW) : match.end() + _PERCENT_WINDOW]
            if not _OFFER.search(window):
                continue
            number, currency = match.group("n3"), PERCENT
        found.append(
            Amount(parse_number(number), currency, match.group(0), match.start(), match.end())
        )
    taken = [(a.start, a.end) for a in found]
    for match in _BARE.finditer(text):
        start, end = match.span("n")
        if any(s < end and start < e for s, e in taken):
            continue
        found.append(Amount(parse_number(match.group("n")), None, match.group(0), start, end))
    found.sort(key=lambda a: a.start)
    return found


def _currency(written: str, dollar: str) -> str:
    if written == "$":
        return dollar
    if written in SYMBOLS:
        return SYMBOLS[written]
    lowered = written.lower()
    if lowered in WORDS:
        return WORDS[lowered]
    return written.upper()
