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
        r"\bsuing\b",
        r"\bsue (?:you|u|them|your|the|this|for)\b",
        r"\b(?:will|gonna|going to|to|should|could|and) sue\b",
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
        r"\b(?:this|that) (?:is|was|will be) (?:my|our|the) last order\b",
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
        r"\b(?:e|sara|era) (?:il mio |l'|l )?ultimo ordine\b",
        r"\bvado (?:da|con)\b",
    ],
    "press": [
        r"\bjournalist\b",
        r"\breporter\b",
        r"\bmy (?:blog|column|channel|podcast)\b",
        r"\bour (?:readers|column|newsroom)\b",
        r"\b\d+k (?:followers|subscribers|readers)\b",
        r"\b(?:my|our|\d[\d,.]*k?) (?:subscribers|followers|readers)\b",
        r"\bgoing viral\b",
        r"\bgiornalist[ae]\b",
        r"\bredazione\b",
        r"\brubrica\b",
        r"\b(?:il|sul|nel) mio (?:blog|canale|podcast)\b",
        r"\bmiei \d+\w* (?:follower|iscritti|lettori)\b",
        r"\b(?:miei|nostri|\d[\d.]*(?:k|mila)?) (?:follower|iscritti|lettori)\b",
        r"\b(?:alla|sulla|dalla|ufficio|comunicato) stampa\b",
        r"\b(?:scrivo|scrivero|scrivere|pubblico|pubblichero) un articolo\b",
    ],
}

# Figures of speech and everyday phrases that contain a keyword but are not urgent; they
# are blanked out before the rules run ("killer feature", "noise cancelling", "tennis court").
_FIGURATIVE = re.compile(
    "|".join(
        [
            r"\b(?:you re|youre|you are|he s|she s|we re|i m|im|team is|deal is|deals are"
            r"|price is|prices are|sales are) (?:on )?fire\b",
            r"\bfire (?:deal|sale|price)s?\b",
            r"\bsmoking (?:hot|deal|price)s?\b",
            r"\bholy smoke\b",
            r"\bsmoke and mirrors\b",
            r"\bsparks? joy\b",
            r"\bspark plugs?\b",
            r"\bflame ?wars?\b",
            r"\bheart (?:is )?melt\w*",
            r"\bmelt(?:s|ed|ing)? (?:my|in your|in the) (?:heart|mouth)\b",
            r"\bmelting pot\b",
            r"\bburn(?:ed|t|ing)? out\b",
            r"\bgot burned\b",
            r"\bburn(?:ed|t)? (?:a|the|my) (?:cd|dvd|disc)s?\b",
            r"\b(?:mind|minds) (?:blown|exploded)\b",
            r"\b(?:tennis|basketball|food|volleyball|padel) courts?\b",
            r"\bnoise[ -]?cancell?(?:ing|ation|ed)\b",
            r"\bmoving to (?:a|my|our|the) (?:new )?(?:house|home|flat|apartment|place|city"
            r"|country|town|office)\b",
            r"\bgoing back to (?:work|school|sleep|bed|normal|the office)\b",
            r"\bsede legale\b",
            r"\blegale rappresentante\b",
            r"\brappresentante legale\b",
            r"\bpasso a \w+(?:ar|er|ir)(?:e|lo|la|li|le|ne)\b",
            r"\bvado (?:da|con) (?:mia|mio|mie|miei|un|una|lui|lei)\b",
            r"\bmai piu senza\b",
            r"\bsenza fumo\b",
        ]
    )
)
_COMPILED = {kind: re.compile("|".join(pats)) for kind, pats in _RULES.items()}
URGENCY_KINDS = tuple(_RULES)


def keyword_urgency(text: str) -> list[str]:
    """Urgency kinds whose keywords occur in `text` (case- and accent-insensitive)."""
    folded = _FIGURATIVE.sub(" ", fold(text))
    return [kind for kind, pattern in _COMPILED.items() if pattern.search(folded)]
