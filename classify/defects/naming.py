"""A cluster's name as a product manager would write it: product · symptom · trigger.

The symptom and the trigger are read from the member texts (English or Italian) by a
small bilingual lexicon of what goes wrong with devices and apps, and written in the
team's language whatever language the complaints are in. A cluster whose texts name no
known symptom is named by its keywords.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

SEPARATOR = " · "
LANGUAGES = ("en", "it")


@dataclass(frozen=True)
class Symptom:
    """One way a product misbehaves: how to recognise it, how to name it."""

    en: str
    it: str
    pattern: re.Pattern[str]


def _p(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "battery drains",
        "la batteria si scarica",
        _p(
            r"batter\w*.{0,40}(drain|dies|dying|empt|scaric|dura poco)|drain|si scarica|"
            r"scaric\w*.{0,20}batteri|loses (about )?~?\d+\s?%|perde .{0,12}%"
        ),
    ),
    Symptom("overheats", "si surriscalda", _p(r"overheat|heats? up|surriscald|scotta|bollente")),
    Symptom("app crashes", "l'app va in crash", _p(r"crash|force.?clos|si chiude da sol")),
    Symptom("freezes", "si blocca", _p(r"freez|frozen|si blocca|bloccat|\bhangs?\b|rallent")),
    Symptom(
        "Bluetooth audio stutters",
        "l'audio Bluetooth va a scatti",
        _p(r"stutter|a scatti|audio.{0,20}(cuts?|drops?)|dropping.{0,20}connection"),
    ),
    Symptom(
        "Bluetooth disconnects",
        "il Bluetooth si disconnette",
        _p(r"bluetooth.{0,30}(disconnect|drops)|si disconnett"),
    ),
    Symptom(
        "Wi-Fi drops",
        "il Wi-Fi si disconnette",
        _p(r"wi-?fi.{0,30}(drop|disconnect|cade|perde|stacca)"),
    ),
    Symptom(
        "won't charge",
        "non si ricarica",
        _p(r"(won't|doesn't|does not|not|stopped) charg|non (si )?ricaric|non carica"),
    ),
    Symptom(
        "won't turn on",
        "non si accende",
        _p(r"(won't|doesn't|does not|not) (turn|switch|power) on|non si accende|dead on arrival"),
    ),
    Symptom(
        "screen flickers",
        "lo schermo sfarfalla",
        _p(r"flicker|sfarfall|dead pixel|pixel mort|ghost touch|schermo.{0,20}(nero|verde)"),
    ),
    Symptom("cracks", "si crepa", _p(r"crack|crepa|hinge|cerniera|spaccat")),
    Symptom("makes noise", "fa rumore", _p(r"noise|rumor|buzz|ronzio|crackl|gracchi|fruscio")),
    Symptom("microphone fails", "il microfono non funziona", _p(r"micro(phone|fono)|\bmic\b")),
)

_WHEN = _p(r"standby|stand-by|overnight|di notte|in una notte|per night|idle|a riposo")
_VERSION = _p(
    r"(?:firmware|update|updating|aggiornamento|aggiornato|versione|version|fw)"
    r"\D{0,12}?v?(\d+\.\d+(?:\.\d+)?)|(\d+\.\d+(?:\.\d+)?)\s*(?:update|firmware)"
)
_UPDATE = _p(r"\bupdate|aggiornament|aggiornat")
_CHARGING = _p(r"while charging|when charging|in carica|mentre (si )?carica")

_PHRASES = {
    "en": {
        "when": "in standby",
        "after_version": "after firmware {v}",
        "after_update": "after the update",
        "with": "with {p}",
        "charging": "while charging",
    },
    "it": {
        "when": "in standby",
        "after_version": "dopo il firmware {v}",
        "after_update": "dopo l'aggiornamento",
        "with": "con {p}",
        "charging": "in carica",
    },
}


def cluster_name(
    product: str,
    texts: Sequence[str],
    *,
    language: str = "en",
    keywords: Sequence[str] = (),
    other_products: Sequence[str] = (),
) -> str:
    """ "Acme Tab 3 · battery drains in standby · after firmware 2.1", in `language`."""
    lang = language if language in LANGUAGES else "en"
    words = _PHRASES[lang]
    symptom = _most_common(texts, SYMPTOMS)
    parts = [product]
    if symptom is not None:
        named = symptom.it if lang == "it" else symptom.en
        if symptom is SYMPTOMS[0] and _share(texts, _WHEN) >= 0.3:
            named = f"{named} {words['when']}"
        parts.append(named)
    elif keywords:
        parts.append(", ".join(keywords[:3]))
    trigger = _trigger(texts, words, other_products)
    if trigger:
        parts.append(trigger)
    return SEPARATOR.join(parts)


def _most_common(texts: Sequence[str], symptoms: Sequence[Symptom]) -> Symptom | None:
    counts: Counter[int] = Counter()
    for text in texts:
        for i, symptom in enumerate(symptoms):
            if symptom.pattern.search(text):
                counts[i] += 1
    if not counts:
        return None
    # Most texts first; on a tie, the earlier (more specific) entry of the lexicon.
    best = min(counts, key=lambda i: (-counts[i], i))
    return symptoms[best] if counts[best] * 4 >= len(texts) else None


def _share(texts: Sequence[str], pattern: re.Pattern[str]) -> float:
    return sum(1 for t in texts if pattern.search(t)) / max(len(texts), 1)


def _trigger(texts: Sequence[str], words: dict[str, str], others: Sequence[str]) -> str:
    versions: Counter[str] = Counter()
    for text in texts:
        for match in _VERSION.finditer(text):
            versions[match.group(1) or match.group(2)] += 1
    if versions and sum(versions.values()) * 3 >= len(texts):
        version = min(versions, key=lambda v: (-versions[v], len(v), v))
        return words["after_version"].format(v=version)
    if _share(texts, _UPDATE) >= 0.4:
        return words["after_update"]
    named = Counter(
        p for p in others for t in texts if re.search(rf"\b{re.escape(p)}\b", t, re.IGNORECASE)
    )
    if named:
        other, n = named.most_common(1)[0]
        if n * 2 >= len(texts):
            return words["with"].format(p=other)
    if _share(texts, _CHARGING) >= 0.4:
        return words["charging"]
    return ""
