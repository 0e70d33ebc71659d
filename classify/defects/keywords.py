"""Cluster keywords (class-based TF-IDF over a product's clusters) and a readable title."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence

from classify.defects.model import Sample

TITLE_CHARS = 80
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_WORD = re.compile(r"[^\W\d_]{3,}(?:'[^\W\d_]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")

# Function words of English and Italian (the languages the classifier is trained for); the
# inverse frequency already damps common words, this keeps them out of short clusters.
_STOPWORD_TEXT = """
    the and for are but not you your yours our ours they them their this that these those
    with without from into onto over under about after before again against all any both
    each few more most other some such only own same than too very can will just don
    should now was were been being have has had having does did doing would could there
    here when where why how what which who whom its it's i'm i've i'd you're we're they're
    isn't aren't wasn't weren't don't doesn't didn't can't won't couldn't shouldn't
    also still even ever get got getting gets one two out off then once because while
    until upon via yet per lol omg pls please thanks thank amp rt
    che chi cui non per con una uno del della dei degli delle dal dalla dai dagli dalle
    nel nella nei negli nelle sul sulla sui sugli sulle gli les come anche sono sei siamo
    siete era erano stato stata stati state essere avere abbiamo avete hanno aveva questo
    questa questi queste quello quella quelli quelle mio mia miei mie tuo tua suo sua
    nostro nostra loro più meno molto poco tutto tutti tutte ancora già solo dopo prima
    quando dove perché perche cosa mai ora qui qua però pero oppure anzi quindi allora
    anyone else same like just really know think since last first new now today yesterday
    still getting day days week weeks got lot lots much many every everyone someone
    something anything nothing thing things way back going make made want need says said
    tried try trying see seen seems look looks around well good bad sure maybe yes
    ogni ogni tutto fatto fare fa stesso stessa stessi cosa cose qualcuno nessuno niente
    sempre proprio volta volte giorno giorni settimana ieri oggi adesso appena ciao grazie
    salve tutti ecco dice detto però poi così cosi bene male forse sia sta sto stai hai
    ho ha abbiamo mar gen feb apr mag giu lug ago set ott nov dic jan jun jul aug sep oct
    dec
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def terms(text: str, drop: frozenset[str] = frozenset()) -> set[str]:
    """Distinct content words of `text`, case-folded, without links, handles and numbers."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text))
    folded = unicodedata.normalize("NFC", text.casefold().replace("\u2019", "'"))
    words = {w.removesuffix("'s") for w in _WORD.findall(folded)}
    return {w for w in words if len(w) >= 3 and w not in STOPWORDS and w not in drop}


def class_tfidf(
    term_counts: Sequence[Mapping[str, int]], targets: Sequence[int], k: int
) -> list[list[str]]:
    """Top `k` terms of each target cluster by c-TF-IDF against all of `term_counts`.

    Weight of term t in cluster c: tf(t, c) / |c| * log(1 + A / f(t)), where |c| is the
    cluster's term total, A the average term total per cluster and f(t) the term's total
    over every cluster (Grootendorst 2022, BERTopic).
    """
    totals: dict[str, int] = {}
    grand = 0
    for counts in term_counts:
        for term, n in counts.items():
            totals[term] = totals.get(term, 0) + n
            grand += n
    if not term_counts or grand == 0:
        return [[] for _ in targets]
    average = grand / len(term_counts)
    out = []
    for index in targets:
        counts = term_counts[index]
        size = sum(counts.values()) or 1
        scored = sorted(
            ((n / size * math.log(1 + average / totals[t]), t) for t, n in counts.items()),
            key=lambda pair: (-pair[0], pair[1]),
        )
        out.append([t for _, t in scored[:k]])
    return out


def clean_sentence(text: str) -> str:
    """`text` without links and handles, whitespace collapsed."""
    text = _HANDLE.sub("", _URL.sub("", text))
    text = re.sub(r"^\s*RT\b:?", "", text)
    return " ".join(text.split()).strip(" -:;,")


def shorten(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"


def make_title(keywords: Sequence[str], representatives: Sequence[Sample]) -> str:
    """A sentence from the most central mention that names the top keywords, in its language.

    Among the representatives (closest to the centroid first), the first sentence holding
    the most of the top three keywords wins; without text, the keywords themselves.
    """
    top = set(keywords[:3])
    best, best_hits = "", -1
    for sample in representatives:
        for sentence in _SENTENCE_END.split(clean_sentence(sample.text)):
            sentence = sentence.strip()
            if len(sentence) < 12:
                continue
            hits = len(terms(sentence) & top)
            if hits > best_hits:
                best, best_hits = sentence, hits
    if best:
        return shorten(best[0].upper() + best[1:])
    if keywords:
        return shorten(", ".join(keywords[:3]).capitalize())
    return ""
