"""Keyword signals for urgency, added to the learned urgency head (never replacing it).

Patterns are deliberately specific: a missed keyword still has the head behind it, while a
loose keyword would flood agents with false alarms.
"""

from __future__ import annotations

import re

from classify.products import fold

_RULES: dict[str, list[str]] = {
    "safety": [
        r"\bon fire\b",
        r"\bcaught fire\b",
        r"\bcatch(?:es)? fire\b",
        r"\bburst into flames\b",
        r"\bflames?\b",
        r"\bsmok(?:e|ing|ed)\b",
        r"\bburning smell\b",
        r"\bsmell(?:s|ed)? of burning\b",
        r"\bexplod(?:e|ed|es|ing)\b",
        r"\belectric(?:al)? shock\b",
        r"\belectrocut",
        r"\bsparks?\b",
        r"\bsparked\b",
        r"\boverheat",
        r"\bswollen battery\b",
        r"\bbattery (?:is )?swollen\b",
        r"\bmelt(?:ed|ing)\b",
        r"\bchok(?:e|ing)\b",
        r"\binjur(?:y|ed|ies)\b",
        r"\bhospital\b",
        r"\bburn(?:ed|t)\b",
        r"\bpuzza di bruciato\b",
        r"\bodore di bruciato\b",
        r"\bscoss[ae]\b",
        r"\bfumo\b",
        r"\bfumare\b",
        r"\bfuma(?:va)?\b",
        r"\bpreso fuoco\b",
        r"\bprende(?:re)? fuoco\b",
        r"\bprendono fuoco\b",
        r"\bandare a fuoco\b",
        r"\bfiamm[ae]\b",
        r"\besplos[oa]\b",
        r"\bscintill[ae]\b",
        r"\bsurriscald",
        r"\bbatteria gonfia\b",
        r"\bscotta\b",
        r"\bustion[ei]\b",
        r"\bferit[oai]\b",
        r"\bpronto soccorso\b",
        r"\bpericolos[oai]\b",
    ],
    "legal": [
        r"\blawyers?\b",
        r"\battorneys?\b",
        r"\bsu(?:e|ing)\b",
        r"\blawsuit\b",
        r"\bclass action\b",
        r"\blegal action\b",
        r"\bsmall claims\b",
        r"\bcourt\b",
        r"\bconsumer protection\b",
        r"\bftc\b",
        r"\btrading standards\b",
        r"\bombudsman\b",
        r"\bavvocat[oiae]\b",
        r"\blegale\b",
        r"\bdenuncia\b",
        r"\bdenuncio\b",
        r"\bquerela\b",
        r"\btribunale\b",
        r"\bgiudice di pace\b",
        r"\bcodacons\b",
        r"\bantitrust\b",
        r"\bagcom\b",
        r"\bazione legale\b",
        r"\bvie legali\b",
    ],
    "churn": [
        r"\bcancel(?:l?ing|l?ed)? (?:my |the )?"
        r"(?:subscription|account|contract|membership|plan|order|everything)\b",
        r"\bcancell?ing\b",
        r"\bswitching to\b",
        r"\bmoving to\b",
        r"\bgoing back to\b",
        r"\bnever (?:buy|buying|order|ordering) (?:from )?\w* ?again\b",
        r"\blast order\b",
        r"\bclosing my account\b",
        r"\bdone with you\b",
        r"\bleaving (?:you|for)\b",
        r"\bdisdic[oa]\b",
        r"\bdisdetta\b",
        r"\bpasso a\b",
        r"\bpasso alla\b",
        r"\bcambio (?:marca|operatore|gestore)\b",
        r"\bmai piu\b",
        r"\bchiudo il conto\b",
        r"\btorno su\b",
        r"\bultimo ordine\b",
        r"\bvado (?:da|con)\b",
    ],
    "press": [
        r"\bjournalist\b",
        r"\breporter\b",
        r"\bmy (?:blog|column|channel|podcast)\b",
        r"\bour (?:readers|column|newsroom)\b",
        r"\b\d+k (?:followers|subscribers|readers)\b",
        r"\bsubscribers\b",
        r"\bfollowers\b",
        r"\bgoing viral\b",
        r"\bgiornalist[ae]\b",
        r"\bredazione\b",
        r"\brubrica\b",
        r"\bil mio blog\b",
        r"\bmiei \d+\w* (?:follower|iscritti|lettori)\b",
        r"\biscritti\b",
        r"\blettori\b",
        r"\bfollower\b",
        r"\bstampa\b",
        r"\bun articolo\b",
    ],
}

_COMPILED = {kind: re.compile("|".join(pats)) for kind, pats in _RULES.items()}
URGENCY_KINDS = tuple(_RULES)


def keyword_urgency(text: str) -> list[str]:
    """Urgency kinds whose keywords occur in `text` (case- and accent-insensitive)."""
    folded = fold(text)
    return [kind for kind, pattern in _COMPILED.items() if pattern.search(folded)]
