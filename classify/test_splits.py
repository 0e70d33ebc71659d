"""Official test splits: imported by the benchmark only, never by training."""

from __future__ import annotations

import json
import re
from pathlib import Path

from classify.care_sets import CareText, _read_all
from classify.datasets import Split, _text_label_files


def tweeteval_test(datasets_dir: Path) -> Split:
    """TweetEval sentiment test (12,284 tweets)."""
    return _text_label_files(datasets_dir / "tweeteval_sentiment", "test", "en")


def italian_test(datasets_dir: Path) -> Split:
    """UMSAB Italian test (869 tweets)."""
    return _text_label_files(datasets_dir / "xlmt_sentiment_it", "test", "it")


def app_reviews(datasets_dir: Path) -> list[dict[str, object]]:
    """Maalej et al. 2016 reviews merged by id: text, rating and the set of types."""
    folder = datasets_dir / "app_reviews_maalej2016"
    merged: dict[str, dict[str, object]] = {}
    for path in sorted(folder.glob("*.json")):
        # The files end with a comma before "]", which strict JSON rejects.
        raw = re.sub(r",\s*\]\s*$", "]", path.read_text(encoding="utf-8").strip())
        for row in json.loads(raw):
            text = " ".join(
                str(row.get(k) or "") for k in ("title", "comment") if row.get(k)
            ).strip()
            # The same review appears in several files; its text is the stable key.
            key = text
            item = merged.setdefault(
                key, {"text": text, "rating": row.get("rating"), "types": set()}
            )
            types = item["types"]
            assert isinstance(types, set)
            types.add(path.stem)
    return list(merged.values())


def care_test(datasets_dir: Path, name: str) -> list[CareText]:
    """The `test` rows of one customer-care set (see `classify.care_sets` for the rule)."""
    return [row for row in _read_all(datasets_dir, name) if row.split == "test"]


HAND_MADE = Path(__file__).resolve().parent / "data"


def hand_made_test(name: str) -> list[dict[str, object]]:
    """The `test` rows of one hand-made evaluation set (`classify/data/README.md`)."""
    path = HAND_MADE / f"{name}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if row.get("split") == "test"]
