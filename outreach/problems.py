"""The specific problem a customer names, in words a reply can repeat back to them.

A small vocabulary of what goes wrong with devices and orders, matched in English and
Italian; a reply that says "the battery drain" shows the customer it was read. Nothing is
named when nothing matches: a guess would be worse than the product alone.
"""

from __future__ import annotations

import re

# (pattern over the customer's words, how English says it, how Italian says it)
_PROBLEMS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), en, it)
    for pattern, en, it in (
        (
            r"\b(?:battery|batteria|drain\w*|si scarica|scarica|standby)\b",
            "the battery drain",
            "il consumo della batteria",
        ),
        (
            r"\b(?:charg\w*|carica\w*|caricatore|alimentatore)\b",
            "the charging problem",
            "il problema di ricarica",
        ),
        (r"\b(?:bluetooth|stutter\w*|a scatti|ldac)\b", "the Bluetooth audio", "l'audio Bluetooth"),
        (
            r"\b(?:screen|display|schermo|flicker\w*|sfarfall\w*)\b",
            "the screen problem",
            "il problema allo schermo",
        ),
        (
            r"\b(?:crash\w*|freez\w*|si blocca|bloccat\w*|si riavvia|reboot\w*)\b",
            "the crashes",
            "i blocchi",
        ),
        (
            r"\b(?:won't turn on|doesn't turn on|non si accende|dead on arrival)\b",
            "it not turning on",
            "la mancata accensione",
        ),
        (
            r"\b(?:overheat\w*|gets hot|surriscald\w*|scotta)\b",
            "the overheating",
            "il surriscaldamento",
        ),
        (r"\b(?:wi-?fi|wireless|connessione)\b", "the Wi-Fi connection", "la connessione Wi-Fi"),
        (
            r"\b(?:damaged|broken|cracked|rott\w*|danneggiat\w*|crepat\w*)\b",
            "the damage",
            "il danno",
        ),
        (
            r"\b(?:charged twice|double charge\w*|addebitat\w* due volte|doppio addebito)\b",
            "the double charge",
            "il doppio addebito",
        ),
    )
)


def named_problem(text: str, language: str) -> str | None:
    """The first problem the text names, in `language` (English otherwise); None if none."""
    for pattern, en, it in _PROBLEMS:
        if pattern.search(text):
            return it if language == "it" else en
    return None


def words(text: str) -> int:
    """How many words the customer wrote."""
    return len(re.findall(r"\w+", text))
