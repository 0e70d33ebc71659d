"""Calibrate and complete trained heads without changing the decisions they make.

    python -m classify.refresh --datasets ../shared/datasets [--heads DIR]

Heads trained before calibration existed give scores that are not probabilities, and lack
the severity head. This fits, on validation rows those heads never saw, a temperature for
each sentiment head and Platt scaling for the complaint head (the complaint threshold moves
with the scale, so every decision stays as it was), trains the severity head, and re-tunes
the urgency thresholds for how urgency is used (head OR keyword rules). Test splits are
never read. The card records what was done and the figures before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classify.care_sets import CARE_SETS
from classify.cleaning import clean
from classify.datasets import URGENCY_TYPES, carries, prepare, read_seed
from classify.embedding_cache import default_cache_dir
from classify.encoders import build_encoder
from classify.fitting import binary_ece, fit_platt, fit_temperature, softmax_ece
from classify.head_set import CARD, HeadSet, default_head_dir, save_heads
from classify.heads import Head
from classify.pipeline import DEFAULT_ENCODER
from classify.train import (
    COMPLAINT_SETS,
    SEED_FILE,
    SEVERITY_SETS,
    Part,
    TrainingError,
    _care_parts,
    _embed,
    _f1,
    _multi_hot,
    train_severity,
    train_urgency,
)
from classify.urgency_rules import keyword_urgency

log = logging.getLogger("classify.refresh")

# Validation rows no shipped sentiment head was fitted on (the older recipe refit on the
# TweetEval and UMSAB validation splits, so those would flatter the calibration).
SENTIMENT_CALIBRATION = {
    "sentiment": ("x_fincorp", "cesamard_aspect", "uci_sentiment_sentences"),
    "sentiment_it": ("it_public_service_tweets",),
}


def calibrate_softmax(head: Head, parts: Sequence[Part]) -> dict[str, float]:
    """Temperature scaling: the top class never changes, its probability becomes honest."""
    z = np.concatenate([head.logits(p.x) for p in parts])
    y = np.concatenate([p.y for p in parts])
    head.scale, head.shift = [], []
    before = softmax_ece(head.probabilities(z), y)
    t = fit_temperature(z, y)
    head.scale, head.shift = [1.0 / t] * len(head.labels), [0.0] * len(head.labels)
    return {
        "temperature": t,
        "val_ece_before": before,
        "val_ece": softmax_ece(head.probabilities(z), y),
        "n": len(y),
        "sets": [p.name for p in parts],  # type: ignore[dict-item]
    }


def calibrate_binary(head: Head, parts: Sequence[Part]) -> dict[str, Any]:
    """Platt scaling, with the threshold moved so that every decision stays the same."""
    z = np.concatenate([head.logits(p.x)[:, 0] for p in parts])
    y = np.concatenate([p.y for p in parts]).astype(bool)
    threshold = head.thresholds[0] if head.thresholds else 0.5
    decided = head.probabilities(z[:, None])[:, 0] >= threshold
    # The decision boundary as a raw logit, through whatever scale the head has now (so a
    # second refresh keeps the same decisions too).
    old_scale, old_shift = (head.scale or [1.0])[0], (head.shift or [0.0])[0]
    cut = (float(np.log(threshold / (1.0 - threshold))) - old_shift) / old_scale
    head.scale, head.shift = [], []
    before = binary_ece(head.probabilities(z[:, None])[:, 0], y)
    a, b = fit_platt(z, y)
    if a <= 0:
        raise TrainingError("Platt scaling came out decreasing: the head scores the wrong way")
    head.scale, head.shift = [a], [b]
    head.thresholds = [float(1.0 / (1.0 + np.exp(-(a * cut + b))))]
    after = head.probabilities(z[:, None])[:, 0]
    # Sigmoids are monotone: only float32 rounding right at the boundary can differ.
    moved = (after >= head.thresholds[0]) != decided
    assert np.all(np.abs(z[moved] - cut) < 1e-3), "calibration changed complaint decisions"
    return {
        "platt": [a, b],
        "threshold": head.thresholds[0],
        "val_ece_before": before,
        "val_ece": binary_ece(after, y),
        "val_f1": {
            p.name: _f1(p.y.astype(bool), head.decide(head.scores(p.x))[:, 0]) for p in parts
        },
        "n": len(y),
        "sets": [p.name for p in parts],
    }


def refresh(
    datasets_dir: Path, head_dir: Path | None = None, seed: int = 0, cache_dir: Path | None = None
) -> dict[str, Any]:
    """Calibrate the heads in `head_dir` (default: the shipped ones) and add what they lack."""
    missing = [n for n in CARE_SETS if not (datasets_dir / n).is_dir()]
    if missing:
        raise TrainingError(f"{datasets_dir} lacks the dataset folders {', '.join(missing)}")
    encoder = build_encoder(DEFAULT_ENCODER, None, None)
    folder = head_dir or default_head_dir(encoder.version)
    heads = HeadSet.load(folder, encoder.version)
    cache = cache_dir or default_cache_dir()
    card = heads.card
    notes: dict[str, Any] = {}
    for name, sets in SENTIMENT_CALIBRATION.items():
        parts = _care_parts(encoder, cache, datasets_dir, sets, "val", "sentiment")
        notes[name] = calibrate_softmax(getattr(heads, name), parts)
    comp_val = _care_parts(encoder, cache, datasets_dir, COMPLAINT_SETS, "val", "complaint")
    notes["complaint"] = calibrate_binary(heads.complaint, comp_val)
    severity, severity_card = train_severity(
        _care_parts(encoder, cache, datasets_dir, SEVERITY_SETS, "train", "severity"),
        _care_parts(encoder, cache, datasets_dir, SEVERITY_SETS, "val", "severity"),
        seed,
    )
    urgency, urgency_card = _urgency(encoder, cache, seed)
    for name, note in notes.items():
        card["heads"].setdefault(name, {})["calibration"] = note
    card["heads"]["severity"] = severity_card
    card["heads"]["urgency"] = urgency_card
    card["data"]["severity"] = (
        "train splits of "
        + ", ".join(SEVERITY_SETS)
        + ("; C and temperature on their validation splits")
    )
    card["data"]["urgency"] = (
        "seed posts (split=train); thresholds tuned for head OR keyword rules by 5-fold CV "
        "grouped by translation pair, a label's head never firing where it would lower F1"
    )
    card["refreshed"] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "from_heads_version": card.get("heads_version"),
        "what": "temperature (sentiment, sentiment_it) and Platt (complaint) scaling on "
        "validation rows those heads never saw, decisions unchanged; severity head added; "
        "urgency thresholds re-tuned for head OR keywords",
    }
    all_heads = [
        heads.sentiment,
        heads.sentiment_it,
        heads.complaint,
        heads.issues,
        urgency,
        severity,
    ]
    card["heads_version"] = save_heads(all_heads, folder)
    (folder / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return card


def _urgency(encoder: Any, cache: Path | None, seed: int) -> tuple[Head, dict[str, Any]]:
    examples = [ex for ex in read_seed(SEED_FILE) if ex.split == "train" and carries(ex, "urgency")]
    x = _embed(encoder, prepare([ex.text for ex in examples]), cache)
    y = _multi_hot([ex.urgency or [] for ex in examples], URGENCY_TYPES)
    keywords = _multi_hot(
        [sorted(keyword_urgency(clean(ex.text).text)) for ex in examples], URGENCY_TYPES
    )
    groups = [ex.pair or f"row-{i}" for i, ex in enumerate(examples)]
    return train_urgency(x, y, keywords, groups, seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classify.refresh", description=__doc__)
    parser.add_argument("--datasets", type=Path, required=True)
    parser.add_argument("--heads", type=Path, help="head directory (default: shipped heads)")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: user cache)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    card = refresh(args.datasets, args.heads, args.seed, args.cache_dir)
    summary = {
        name: {k: v for k, v in head.get("calibration", {}).items() if "ece" in k}
        for name, head in card["heads"].items()
    }
    print(json.dumps({"heads_version": card["heads_version"], "calibration": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
