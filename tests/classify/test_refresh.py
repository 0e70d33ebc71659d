"""Refreshing trained heads: calibrated probabilities, the same decisions, severity added."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from classify.head_set import SHIPPED_DIR, HeadSet, default_head_dir
from classify.pipeline import Classifier
from classify.refresh import refresh
from tests.mini_datasets import DATASETS, copy_care_sets

TEXTS = [
    "My order never arrived and nobody answers the phone",
    "Il pacco è arrivato rotto e il rimborso non arriva",
    "Thanks, the replacement works perfectly",
    "Quando esce il nuovo modello?",
    "The app logs me out every five minutes since the update",
]


@pytest.fixture(scope="module")
def mini_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DATASETS.exists():
        pytest.skip("shared datasets not available")
    root = tmp_path_factory.mktemp("datasets")
    copy_care_sets(root, n=200)
    return root


def test_refresh_calibrates_without_changing_decisions(
    classifier: Classifier, mini_datasets: Path, tmp_path: Path
) -> None:
    shipped = default_head_dir(classifier.encoder.version)
    assert shipped.parent == SHIPPED_DIR
    heads = tmp_path / "heads"
    shutil.copytree(shipped, heads)
    for name in ("severity.npz",):
        (heads / name).unlink(missing_ok=True)
    before = classifier.classify(TEXTS)

    card = refresh(mini_datasets, heads, cache_dir=tmp_path / "cache")
    assert (heads / "severity.npz").exists()
    for name in ("sentiment", "sentiment_it", "complaint"):
        calibration = card["heads"][name]["calibration"]
        assert 0.0 <= calibration["val_ece"] <= 1.0
        assert calibration["n"] > 0
    assert card["refreshed"]["from_heads_version"]

    refreshed = Classifier(
        classifier.encoder,
        HeadSet.load(heads, classifier.encoder.version),
        classifier.languages,
    )
    after = refreshed.classify(TEXTS)
    assert [a.sentiment for a in after] == [b.sentiment for b in before]
    assert [a.complaint for a in after] == [b.complaint for b in before]
    assert all(a.severity is not None for a in after)
    x = np.stack([a.embedding for a in after if a.embedding is not None])
    for name in ("sentiment", "sentiment_it"):
        probs = getattr(refreshed.heads, name).scores(x)
        assert np.allclose(probs.sum(1), 1.0, atol=1e-4)

    # A second refresh changes nothing: the same decisions, the same calibration.
    again = refresh(mini_datasets, heads, cache_dir=tmp_path / "cache")
    assert again["heads_version"] == card["heads_version"]
    assert json.loads((heads / "card.json").read_text())["heads_version"] == card["heads_version"]


def test_the_shipped_heads_are_calibrated_and_grade_severity(classifier: Classifier) -> None:
    folder = default_head_dir(classifier.encoder.version)
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    for name in ("sentiment", "sentiment_it", "complaint", "severity"):
        assert card["heads"][name]["calibration"]["val_ece"] <= 0.05, name
    assert classifier.heads.severity is not None
