"""Keywords and titles of defect clusters, from small real-looking complaint texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from classify.defects import Complaint, DefectConfig, DefectDetector
from classify.defects.keywords import class_tfidf, make_title, shorten, terms
from classify.defects.model import Sample

AT = datetime(2025, 5, 2, 8, tzinfo=UTC)

BATTERY_EN = [
    "Battery drains overnight on my Acme Tab 10, 100% to zero in six hours.",
    "@acme the battery on the new tab dies in a few hours, even idle. https://t.co/x1",
    "Tab 10 battery drain is insane since day one",
    "My Acme Tab battery goes from full to empty overnight. Not ok.",
    "Anyone else's Tab 10 battery draining while asleep? Lost 60% overnight",
    "battery drains super fast, tablet unusable after lunch",
]
BATTERY_IT = [
    "La batteria del Tab 10 si scarica durante la notte, da 100 a zero!",
    "@acme_it batteria che si scarica in poche ore anche a tablet spento",
    "Il mio Tab 10 ha la batteria che si scarica di notte. Assurdo.",
    "batteria scarica ogni mattina, il tablet è inutilizzabile",
    "Tab 10: la batteria si scarica da sola, qualcun altro ha lo stesso problema?",
]
OTHER = [
    "Delivery took three weeks and the box was crushed",
    "Customer service never answered my email about the invoice",
    "The charger cable frayed after a month",
    "Screen has a dead pixel in the corner",
    "Refund still not processed after 20 days",
    "Stylus does not pair with the tablet",
]


def _complaints(
    texts: list[str], direction: np.ndarray, lang: str, first_id: int
) -> list[Complaint]:
    rng = np.random.default_rng(first_id)
    out = []
    for i, text in enumerate(texts):
        v = direction + rng.normal(scale=0.05, size=direction.shape)
        out.append(
            Complaint(
                mention_id=first_id + i,
                product="tab10",
                at=AT + timedelta(minutes=20 * i),
                author=f"{lang}-{i}",
                source="twitter",
                text=text,
                vector=(v / np.linalg.norm(v)).astype(np.float32),
                language=lang,
            )
        )
    return out


def _direction(seed: int, dim: int = 24) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_terms_drop_links_handles_numbers_and_function_words() -> None:
    got = terms("@acme The battery's dead after 2 days!! https://t.co/abc perché non va")
    # "days" is a word of time, as common in complaints as a function word.
    assert got == {"battery", "dead"}


def test_class_tfidf_prefers_words_specific_to_a_cluster() -> None:
    clusters = [
        {"battery": 6, "drains": 4, "tab": 6, "overnight": 3},
        {"delivery": 3, "tab": 3, "late": 2},
        {"refund": 2, "tab": 2, "invoice": 1},
    ]
    (top,) = class_tfidf(clusters, [0], 3)
    assert top[0] == "battery"
    assert "tab" not in top


def test_detector_describes_clusters_with_keywords_and_a_title_in_their_language() -> None:
    detector = DefectDetector(DefectConfig(min_size=4, min_authors=3))
    english = _complaints(BATTERY_EN, _direction(1), "en", 100)
    italian = _complaints(BATTERY_IT, _direction(2), "it", 200)
    others = [
        c
        for k, text in enumerate(OTHER)
        for c in _complaints([text], _direction(10 + k), "en", 300 + k)
    ]
    result = detector.update([], english + italian + others, now=AT + timedelta(hours=3))
    by_key = {a.key: a for a in result.assessments}
    en = by_key[result.assignments[100]]
    it = by_key[result.assignments[200]]
    assert "battery" in en.keywords[:3]
    assert "batteria" in it.keywords[:3]
    assert "scarica" in it.keywords[:4]
    assert "battery" in en.title.lower()
    assert len(en.title) <= 80
    # Titles speak the product team's language (English unless configured), whatever the
    # language of the complaints.
    assert "battery" in it.title.lower()
    assert "@" not in en.title + it.title
    assert "http" not in en.title + it.title
    assert {s.mention_id for s in en.representatives} <= {c.mention_id for c in english}
    assert len(en.representatives) == 5
    assert {a.raised_level for a in result.alerts} == {1}


def test_an_italian_team_reads_its_clusters_named_in_italian() -> None:
    config = DefectConfig(min_size=4, min_authors=3, languages=(("tab10", "it"),))
    detector = DefectDetector(config)
    english = _complaints(BATTERY_EN, _direction(1), "en", 100)
    italian = _complaints(BATTERY_IT, _direction(2), "it", 200)
    result = detector.update([], english + italian, now=AT + timedelta(hours=3))
    titles = {a.title.lower() for a in result.assessments}
    assert titles
    assert all("batteria" in title for title in titles)


def test_title_falls_back_to_keywords_and_is_shortened() -> None:
    assert make_title(["battery", "drain", "overnight"], []) == "Battery, drain, overnight"
    long = Sample(1, "word " * 40, AT, "a", "web")
    assert make_title(["word"], [long]).endswith("…")
    assert len(shorten("x" * 30 + " " + "y" * 80)) <= 80
