"""Loaders for the shared datasets folder (../shared/datasets): train and validation splits.

Test splits live in `classify.test_splits`, which only the benchmark imports.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classify.cleaning import clean

SENTIMENT_LABELS = ("negative", "neutral", "positive")
ISSUE_TYPES = ("defect", "delivery", "billing", "service", "question", "praise", "other")
URGENCY_TYPES = ("safety", "legal", "churn", "press")

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass(slots=True)
class Split:
    """Texts (already cleaned the way the pipeline cleans) and integer labels."""

    texts: list[str]
    labels: list[int]
    langs: list[str] = field(default_factory=list)


def prepare(texts: list[str]) -> list[str]:
    """The pipeline's own cleaning, so heads train on what they will see."""
    return [clean(t).text for t in texts]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _tweeteval_train(folder: Path) -> Split:
    texts, labels = [], []
    with (folder / "train_reconstructed.tsv").open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            text, label, *_ = line.rstrip("\n").split("\t")
            # Some rebuilt tweets keep escapes like "\u002c" from the original downloads.
            texts.append(_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
            labels.append(int(label))
    # A fixed shuffle, so any prefix is a random subsample and prefixes share cached chunks.
    order = np.random.default_rng(2017).permutation(len(texts))
    texts = [texts[i] for i in order]
    labels = [labels[i] for i in order]
    return Split(prepare(texts), labels, ["en"] * len(texts))


def _text_label_files(folder: Path, split: str, lang: str) -> Split:
    texts = _lines(folder / f"{split}_text.txt")
    labels = [int(x) for x in _lines(folder / f"{split}_labels.txt")]
    assert len(texts) == len(labels), folder
    return Split(prepare(texts), labels, [lang] * len(texts))


def sentiment_splits(datasets_dir: Path) -> dict[str, Split]:
    """TweetEval (EN) and UMSAB Italian train and validation.

    xlmt_sentiment_en is left out: its train and validation tweets are inside
    TweetEval's validation split, and its test split inside TweetEval's test split.
    """
    te = datasets_dir / "tweeteval_sentiment"
    it = datasets_dir / "xlmt_sentiment_it"
    return {
        "tweeteval_train": _tweeteval_train(te),
        "tweeteval_val": _text_label_files(te, "val", "en"),
        "it_train": _text_label_files(it, "train", "it"),
        "it_val": _text_label_files(it, "val", "it"),
    }


def complaints(datasets_dir: Path) -> Split:
    """All of complaints/train.csv (the paper cross-validates; there is no test split)."""
    texts, labels = [], []
    with (datasets_dir / "complaints" / "train.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        text_col = next(i for i, h in enumerate(header) if "text" in h)
        label_col = next(i for i, h in enumerate(header) if "complaint" in h)
        for row in reader:
            texts.append(row[text_col])
            labels.append(int(row[label_col]))
    return Split(prepare(texts), labels, ["en"] * len(texts))


@dataclass(slots=True)
class SeedExample:
    """One labelled post of the issue/urgency seed set (or an agent's correction).

    A label that is `None` was not given: the example says nothing about that task, and
    the head for it does not learn from the example (an empty `urgency` list, instead,
    says "not urgent").
    """

    text: str
    lang: str
    issues: list[str] | None
    urgency: list[str] | None
    split: str = "train"
    sentiment: str | None = None
    complaint: bool | None = None
    pair: str | None = None


def read_seed(path: Path, require_issues: bool = True) -> list[SeedExample]:
    """Read labelled examples from JSON lines; unknown labels are an error, never dropped.

    Corrections from agents use the same format and may carry only some labels
    (`issues`, `urgency`, `sentiment`, `complaint`); a missing key means "not labelled".
    """
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        ex = SeedExample(
            text=row["text"],
            lang=row.get("lang", "und"),
            issues=_label_list(row, "issues"),
            urgency=_label_list(row, "urgency"),
            split=row.get("split", "train"),
            sentiment=row.get("sentiment"),
            complaint=row.get("complaint"),
            pair=row.get("pair"),
        )
        bad = [i for i in ex.issues or [] if i not in ISSUE_TYPES]
        bad += [u for u in ex.urgency or [] if u not in URGENCY_TYPES]
        if ex.sentiment is not None and ex.sentiment not in SENTIMENT_LABELS:
            bad.append(ex.sentiment)
        if bad or (require_issues and not ex.issues):
            raise ValueError(f"{path}:{n}: unknown or missing labels {bad or ex.issues}")
        out.append(ex)
    return out


def carries(example: SeedExample, task: str) -> bool:
    """Whether `example` labels `task`: a head learns only from examples that do."""
    if task == "sentiment":
        return example.sentiment is not None
    if task == "complaint":
        return example.complaint is not None
    if task == "issues":
        return bool(example.issues)
    if task == "urgency":
        return example.urgency is not None
    raise ValueError(f"unknown task {task!r}")


def _label_list(row: dict[str, object], key: str) -> list[str] | None:
    """A row's labels for one task; `None` when the row does not label that task."""
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list of labels, got {value!r}")
    return [str(v) for v in value]
