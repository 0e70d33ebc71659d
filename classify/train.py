"""Reproduce every shipped head from the public datasets, the seed set and corrections.

    python -m classify.train --datasets /path/to/datasets [--extra corrections.jsonl]

Reads only train and validation splits; tunes on validation (or cross-validation on
training data where no validation split exists); fixed seed, so reruns give the same heads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classify.care_sets import CARE_SETS, SEVERITY_LABELS, care_set, split_counts
from classify.cleaning import clean
from classify.datasets import (
    ISSUE_TYPES,
    SENTIMENT_LABELS,
    URGENCY_TYPES,
    SeedExample,
    carries,
    complaints,
    prepare,
    read_seed,
    sentiment_splits,
)
from classify.embedding_cache import cached_encode, default_cache_dir
from classify.encoders import Encoder, build_encoder
from classify.fine_tune import FineTuneOptions, fine_tune, sentiment_texts
from classify.fitting import (
    best_threshold,
    binary_ece,
    cross_val_scores,
    fit_binary_columns,
    fit_masked_columns,
    fit_platt,
    fit_softmax,
    fit_temperature,
    grouped_folds,
    macro_f1,
    macro_recall,
    softmax_ece,
)
from classify.head_set import CARD, HeadSet, default_head_dir, save_heads
from classify.heads import Array, Head
from classify.pipeline import DEFAULT_ENCODER
from classify.urgency_rules import keyword_urgency

log = logging.getLogger("classify.train")

SEED_FILE = Path(__file__).resolve().parent / "data" / "issue_seed.jsonl"
SENTIMENT_C = (1.0, 3.0)
# The Italian-only head: measured on validation, more English data kept lifting English
# recall but lowered Italian F1 (0.65 -> 0.62), so Italian posts get their own head.
ITALIAN_C = (0.3, 1.0, 3.0, 10.0)
COMPLAINT_C = (0.3, 1.0, 3.0, 10.0)
SEED_C = (0.3, 1.0, 3.0, 10.0)


class TrainingError(ValueError):
    """The requested training cannot run with these options."""


@dataclass
class TrainOptions:
    """Knobs that change the heads (all recorded in the card)."""

    encoder: str = DEFAULT_ENCODER
    model: str | None = None
    tweeteval_limit: int | None = None
    cache_dir: Path | None = None
    seed_file: Path = SEED_FILE
    threads: int | None = None
    # Fine-tune e5 adapters first (`fine_tune.py`), written here, and train heads on them.
    adapters_out: Path | None = None
    fine_tune: FineTuneOptions | None = None


def _embed(encoder: Encoder, texts: Sequence[str], cache_dir: Path | None) -> Array:
    return cached_encode(encoder, list(texts), cache_dir)


def train_binary(
    x: Array,
    y: npt.NDArray[np.bool_],
    labels: Sequence[str],
    grid: Sequence[float],
    seed: int,
    name: str,
    folds: int = 5,
    groups: Sequence[str] | None = None,
) -> tuple[Head, dict[str, Any]]:
    """Pick C by cross-validated macro-F1, thresholds from out-of-fold scores, refit on all."""
    results = []
    best_c, best_f, best_scores = grid[0], -1.0, None
    positive = [j for j in range(y.shape[1]) if y[:, j].any()]
    for c in grid:
        scores = cross_val_scores(x, y, labels, c, folds, seed, groups)
        thresholds = [best_threshold(scores[:, j], y[:, j]) for j in range(y.shape[1])]
        f1s = [_f1(y[:, j], scores[:, j] >= thresholds[j]) for j in positive]
        f = float(np.mean(f1s)) if f1s else 0.0
        results.append({"C": c, "cv_macro_f1": f})
        if f > best_f:
            best_c, best_f, best_scores = c, f, scores
    assert best_scores is not None
    head = fit_binary_columns(x, y, labels, best_c, seed)
    head.name = name
    head.thresholds = [best_threshold(best_scores[:, j], y[:, j]) for j in range(y.shape[1])]
    per_label = {labels[j]: _f1(y[:, j], best_scores[:, j] >= head.thresholds[j]) for j in positive}
    return head, {
        "grid": results,
        "chosen_C": best_c,
        "cv_folds": folds,
        "cv_f1_per_label": per_label,
        "n_train": len(y),
    }


def _f1(truth: npt.NDArray[np.bool_], pred: npt.NDArray[np.bool_]) -> float:
    tp = float(np.sum(truth & pred))
    denom = float(np.sum(truth) + np.sum(pred))
    return 2 * tp / denom if denom else 0.0


def _multi_hot(rows: Sequence[Sequence[str]], labels: Sequence[str]) -> npt.NDArray[np.bool_]:
    out = np.zeros((len(rows), len(labels)), bool)
    for i, row in enumerate(rows):
        for lab in row:
            out[i, labels.index(lab)] = True
    return out


SENTIMENT_SETS = {
    "it_public_service_tweets": "it",
    "x_fincorp": "en",
    "cesamard_aspect": "en",
    "uci_sentiment_sentences": "en",
}
COMPLAINT_SETS = ("x_fincorp", "cesamard_aspect")
SEVERITY_SETS = ("x_fincorp", "cesamard_aspect")
INTENT_SETS = ("bitext_customer_support", "banking77")
# How the sentiment sources share the weight: "size" concatenates them as they are (the 47k
# TweetEval tweets dominate), "balanced" gives every source the same total weight, "sqrt"
# something in between. Tuned on the validation splits of every source.
SOURCE_MIXES = ("size", "sqrt", "balanced")
# English review and care sets in the Italian head: cross-lingual transfer through the
# multilingual encoder, weighted against the Italian sets (tuned on Italian validation).
ENGLISH_SHARE_IT = (0.0, 0.3, 1.0)
SEVERITY_C = (0.3, 1.0, 3.0)
# The intent sets together weigh as much as this many seed posts would: 15k templated
# requests must not drown the 222 hand-labelled posts that look like real mentions.
INTENT_WEIGHT = (0.5, 1.0)


@dataclass
class Part:
    """The rows of one source for one head: embeddings, labels, how validation scores it."""

    name: str
    lang: str
    x: Array
    y: npt.NDArray[np.int64]
    metric: str = "macro_f1"


def _score(part: Part, pred: npt.NDArray[np.int64]) -> float:
    if part.metric == "macro_recall":
        return macro_recall(part.y, pred)
    if part.metric == "polarity_accuracy":
        # Positive/negative sets: a neutral answer to a clear review counts as wrong.
        return float(np.mean(pred == part.y))
    return macro_f1(part.y, pred)


def _mix_weights(
    parts: Sequence[Part], mix: str, shares: dict[str, float]
) -> npt.NDArray[np.float64]:
    """Row weights: each part's total weight follows `mix`, times its share."""
    sizes = np.array([len(p.y) for p in parts], float)
    if mix == "size":
        totals = sizes.copy()
    elif mix == "sqrt":
        totals = np.sqrt(sizes) * np.sqrt(sizes).mean()
    else:
        totals = np.full(len(parts), sizes.mean())
    totals *= np.array([shares.get(p.name, 1.0) for p in parts])
    # Normalised so the mean row weight is 1 (C keeps its usual meaning).
    rows = np.concatenate(
        [np.full(len(p.y), t / n) for p, t, n in zip(parts, totals, sizes, strict=True)]
    )
    out: npt.NDArray[np.float64] = rows * len(rows) / rows.sum()
    return out


def _validate(head: Head, parts: Sequence[Part]) -> dict[str, float]:
    return {p.name: _score(p, head.scores(p.x).argmax(1)) for p in parts}


def _by_language(scores: dict[str, float], parts: Sequence[Part]) -> dict[str, float]:
    langs = sorted({p.lang for p in parts})
    return {
        lang: float(np.mean([scores[p.name] for p in parts if p.lang == lang])) for lang in langs
    }


def _calibrate_softmax(head: Head, parts: Sequence[Part]) -> dict[str, float]:
    """Temperature scaling on held-out rows; returns ECE before and after."""
    z = np.concatenate([head.logits(p.x) for p in parts])
    y = np.concatenate([p.y for p in parts])
    before = softmax_ece(head.probabilities(z), y)
    t = fit_temperature(z, y)
    head.scale, head.shift = [1.0 / t] * len(head.labels), [0.0] * len(head.labels)
    return {
        "temperature": t,
        "val_ece_before": before,
        "val_ece": softmax_ece(head.probabilities(z), y),
    }


def train_softmax_mix(
    name: str,
    labels: Sequence[str],
    train: Sequence[Part],
    val: Sequence[Part],
    grid: Sequence[tuple[float, str, dict[str, float]]],
    seed: int,
) -> tuple[Head, dict[str, Any]]:
    """Pick (C, mix, shares) by the mean over languages of the mean validation score of
    each source; the validation rows are kept out of training for calibration."""
    x = np.concatenate([p.x for p in train])
    y = np.concatenate([p.y for p in train])
    rows, best = [], None
    for c, mix, shares in grid:
        head = fit_softmax(
            x, y, labels, c, sample_weight=_mix_weights(train, mix, shares), seed=seed
        )
        scores = _validate(head, val)
        per_lang = _by_language(scores, val)
        objective = float(np.mean(list(per_lang.values())))
        rows.append(
            {
                "C": c,
                "mix": mix,
                "shares": shares,
                "objective": objective,
                "per_language": per_lang,
                "per_set": scores,
            }
        )
        log.info("%s C=%s mix=%s shares=%s: %.4f %s", name, c, mix, shares, objective, per_lang)
        if best is None or objective > best[0] + 1e-9:
            best = (objective, head, rows[-1])
    assert best is not None
    _, head, chosen = best
    head.name = name
    calibration = _calibrate_softmax(head, val)
    return head, {
        "grid": rows,
        "chosen": chosen,
        "calibration": calibration,
        "n_train": len(y),
        "sources": {p.name: len(p.y) for p in train},
    }


def train_complaint(
    train: Sequence[Part], val: Sequence[Part], seed: int
) -> tuple[Head, dict[str, Any]]:
    """Complaint vs not: C by mean validation F1 over the held-out sets, Platt-calibrated
    on them, then the threshold that maximises that mean F1 on calibrated scores."""
    x = np.concatenate([p.x for p in train])
    y = np.concatenate([p.y for p in train]).astype(bool)[:, None]
    weights = _mix_weights(train, "balanced", {})
    rows, best = [], None
    for c in COMPLAINT_C:
        head = fit_masked_columns(x, y.astype(np.int8), ["complaint"], c, seed, weights)
        f = float(np.mean([_best_f1(head.logits(p.x)[:, 0], p.y.astype(bool)) for p in val]))
        rows.append({"C": c, "val_mean_best_f1": f})
        log.info("complaint C=%s: %.4f", c, f)
        if best is None or f > best[0] + 1e-9:
            best = (f, c, head)
    assert best is not None
    _, c, head = best
    head.name = "complaint"
    z = np.concatenate([head.logits(p.x)[:, 0] for p in val])
    truth = np.concatenate([p.y for p in val]).astype(bool)
    before = binary_ece(head.probabilities(z[:, None])[:, 0], truth)
    a, b = fit_platt(z, truth)
    head.scale, head.shift = [a], [b]
    probs = {p.name: head.scores(p.x)[:, 0] for p in val}
    thresholds = np.linspace(0.05, 0.95, 91)
    mean_f1 = [
        float(np.mean([_f1(p.y.astype(bool), probs[p.name] >= t) for p in val])) for t in thresholds
    ]
    head.thresholds = [float(thresholds[int(np.argmax(mean_f1))])]
    return head, {
        "grid": rows,
        "chosen_C": c,
        "threshold": head.thresholds[0],
        "val_f1": {p.name: _f1(p.y.astype(bool), probs[p.name] >= head.thresholds[0]) for p in val},
        "calibration": {
            "platt": [a, b],
            "val_ece_before": before,
            "val_ece": binary_ece(head.probabilities(z[:, None])[:, 0], truth),
        },
        "n_train": len(y),
        "sources": {p.name: len(p.y) for p in train},
    }


def _best_f1(scores: npt.NDArray[np.float32], truth: npt.NDArray[np.bool_]) -> float:
    """F1 at the best threshold over a score's own quantiles (for choosing C)."""
    cuts = np.quantile(scores, np.linspace(0.05, 0.95, 37))
    return max(_f1(truth, scores >= t) for t in cuts)


def train_severity(
    train: Sequence[Part], val: Sequence[Part], seed: int
) -> tuple[Head, dict[str, Any]]:
    """Complaint severity (none ... blame): C on mean validation macro-F1, then calibrated."""
    grid: list[tuple[float, str, dict[str, float]]] = [(c, "balanced", {}) for c in SEVERITY_C]
    return train_softmax_mix("severity", SEVERITY_LABELS, train, val, grid, seed)


def train_issues(
    x_seed: Array,
    y_seed: npt.NDArray[np.int8],
    groups: Sequence[str],
    intents: Sequence[tuple[str, Array, npt.NDArray[np.int8]]],
    intents_val: Sequence[tuple[str, Array, npt.NDArray[np.int8]]],
    seed: int,
    folds: int = 5,
) -> tuple[Head, dict[str, Any]]:
    """Issue types from the seed posts (and corrections) plus the mapped intent sets.

    C and the intent sets' weight are chosen, and per-type thresholds set, on out-of-fold
    scores of the seed posts (grouped by translation pair), the rows most like real mentions;
    the intent rows are always training rows. Intent validation F1 is reported.
    """
    x_int = np.concatenate([x for _, x, _ in intents]) if intents else x_seed[:0]
    y_int = np.concatenate([y for _, _, y in intents]) if intents else y_seed[:0]
    strat = np.where(y_seed >= 0, y_seed, 0).argmax(1)
    splits = grouped_folds(strat, groups, folds, seed)
    rows, best = [], None
    for c in SEED_C:
        for share in INTENT_WEIGHT if len(y_int) else (0.0,):
            w_int = share * len(y_seed) / max(1, len(y_int))
            oof = np.zeros(y_seed.shape, np.float32)
            for tr, te in splits:
                x = np.concatenate([x_seed[tr], x_int])
                y = np.concatenate([y_seed[tr], y_int])
                w = np.concatenate([np.ones(len(tr)), np.full(len(y_int), w_int)])
                oof[te] = fit_masked_columns(x, y, ISSUE_TYPES, c, seed, w).scores(x_seed[te])
            thresholds = [
                _masked_threshold(oof[:, j], y_seed[:, j]) for j in range(len(ISSUE_TYPES))
            ]
            per_type = {
                ISSUE_TYPES[j]: _masked_f1(oof[:, j] >= thresholds[j], y_seed[:, j])
                for j in range(len(ISSUE_TYPES))
                if (y_seed[:, j] == 1).any()
            }
            f = float(np.mean(list(per_type.values())))
            rows.append({"C": c, "intent_share": share, "cv_macro_f1": f})
            log.info("issues C=%s intents=%s: %.4f", c, share, f)
            if best is None or f > best[0] + 1e-9:
                best = (f, c, share, w_int, thresholds, per_type)
    assert best is not None
    _, c, share, w_int, thresholds, per_type = best
    x = np.concatenate([x_seed, x_int])
    y = np.concatenate([y_seed, y_int])
    w = np.concatenate([np.ones(len(y_seed)), np.full(len(y_int), w_int)])
    head = fit_masked_columns(x, y, ISSUE_TYPES, c, seed, w)
    head.name = "issues"
    head.thresholds = thresholds
    val_f1 = {}
    for name, xv, yv in intents_val:
        on = head.decide(head.scores(xv))
        f1s = [
            _masked_f1(on[:, j], yv[:, j]) for j in range(len(ISSUE_TYPES)) if (yv[:, j] == 1).any()
        ]
        val_f1[name] = float(np.mean(f1s)) if f1s else 0.0
    return head, {
        "grid": rows,
        "chosen_C": c,
        "intent_share": share,
        "cv_folds": folds,
        "cv_f1_per_label": per_type,
        "intent_val_macro_f1": val_f1,
        "n_train": len(y_seed),
        "n_intent_rows": len(y_int),
    }


def _masked_f1(pred: npt.NDArray[np.bool_], y: npt.NDArray[np.int8]) -> float:
    known = y >= 0
    return _f1(y[known] == 1, pred[known])


def _masked_threshold(scores: npt.NDArray[np.float32], y: npt.NDArray[np.int8]) -> float:
    known = y >= 0
    return best_threshold(scores[known], y[known] == 1)


def train_urgency(
    x: Array,
    y: npt.NDArray[np.bool_],
    keywords: npt.NDArray[np.bool_],
    groups: Sequence[str],
    seed: int,
    folds: int = 5,
) -> tuple[Head, dict[str, Any]]:
    """Urgency head whose thresholds are tuned for how it is used: OR-ed with the keyword
    rules. A label's threshold may be "never" (above 1), so on the training posts the
    combination is never below the keywords alone."""
    results, best = [], None
    for c in SEED_C:
        oof = cross_val_scores(x, y, URGENCY_TYPES, c, folds, seed, groups)
        thresholds, per_type = [], {}
        for j, label in enumerate(URGENCY_TYPES):
            t, f = _combined_threshold(oof[:, j], keywords[:, j], y[:, j])
            thresholds.append(t)
            per_type[label] = f
        pred = (oof >= np.asarray(thresholds)) | keywords
        micro = _f1(y.ravel(), pred.ravel())
        results.append({"C": c, "cv_micro_f1_combined": micro})
        if best is None or micro > best[0] + 1e-9:
            best = (micro, c, thresholds, per_type)
    assert best is not None
    micro, c, thresholds, per_type = best
    head = fit_binary_columns(x, y, URGENCY_TYPES, c, seed)
    head.name = "urgency"
    head.thresholds = thresholds
    return head, {
        "grid": results,
        "chosen_C": c,
        "cv_folds": folds,
        "cv_f1_per_label_combined": per_type,
        "cv_micro_f1_keywords_only": _f1(y.ravel(), keywords.ravel()),
        "cv_micro_f1_combined": micro,
        "n_train": len(y),
    }


NEVER = 1.01


def _combined_threshold(
    scores: npt.NDArray[np.float32], keywords: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """The head threshold maximising F1 of (keywords OR score >= t), "never" included."""
    best_t, best_f = NEVER, _f1(truth, keywords)
    for t in np.linspace(0.05, 0.95, 37):
        f = _f1(truth, keywords | (scores >= t))
        if f > best_f + 1e-9:
            best_t, best_f = float(t), f
    return best_t, best_f


def _care_parts(
    encoder: Encoder,
    cache: Path | None,
    datasets_dir: Path,
    names: Sequence[str],
    split: str,
    label: str,
) -> list[Part]:
    """One part per care set: the rows of `split` that carry `label`."""
    parts = []
    for name in names:
        rows = [r for r in care_set(datasets_dir, name, split) if getattr(r, label) is not None]
        if label == "severity":
            y = np.array([SEVERITY_LABELS.index(str(r.severity)) for r in rows])
        else:
            y = np.array([int(getattr(r, label)) for r in rows])
        # The review sentences are positive or negative: a neutral answer counts as wrong.
        polar = label == "sentiment" and name == "uci_sentiment_sentences"
        metric = "polarity_accuracy" if polar else "macro_f1"
        x = _embed(encoder, [r.text for r in rows], cache)
        parts.append(Part(name, rows[0].lang if rows else "en", x, y, metric))
    return parts


def _correction_parts(
    encoder: Encoder, cache: Path | None, examples: Sequence[SeedExample], task: str
) -> list[Part]:
    """Agents' corrections of one task, one part per language (always training rows)."""
    parts = []
    for lang in sorted({ex.lang for ex in examples if carries(ex, task)}):
        rows = [ex for ex in examples if carries(ex, task) and ex.lang == lang]
        if task == "sentiment":
            y = np.array([SENTIMENT_LABELS.index(str(ex.sentiment)) for ex in rows])
        else:
            y = np.array([int(bool(ex.complaint)) for ex in rows])
        x = _embed(encoder, prepare([ex.text for ex in rows]), cache)
        parts.append(Part(f"corrections_{lang}", lang, x, y))
    return parts


def train_all(
    datasets_dir: Path,
    extra_examples: Sequence[SeedExample] | Path | None,
    out_dir: Path | None,
    seed: int = 0,
    options: TrainOptions | None = None,
) -> dict[str, Any]:
    """Train every head; write them and a card to `out_dir`.

    Validation splits are never trained on: they choose the settings, calibrate the
    probabilities and give the card's figures.
    """
    opts = options or TrainOptions()
    started = time.time()
    missing = [
        n
        for n in (*CARE_SETS, "tweeteval_sentiment", "xlmt_sentiment_it", "complaints")
        if not (datasets_dir / n).is_dir()
    ]
    if missing:
        raise TrainingError(f"{datasets_dir} lacks the dataset folders {', '.join(missing)}")
    adapters_card: dict[str, Any] | None = None
    model = opts.model
    if opts.adapters_out is not None:
        model = with_adapters(opts.encoder, opts.model, opts.adapters_out)
        adapters_card = train_adapters(datasets_dir, opts.adapters_out, opts)
    encoder = build_encoder(opts.encoder, model, opts.threads)
    adapters_card = adapters_card or adapters_in_use(encoder)
    out = out_dir or default_head_dir(encoder.version)
    cache = opts.cache_dir or default_cache_dir()
    extras = (
        read_seed(extra_examples, require_issues=False)
        if isinstance(extra_examples, Path)
        else list(extra_examples or [])
    )
    seed_train = [ex for ex in read_seed(opts.seed_file) if ex.split == "train"]
    log.info("embedding training texts with %s", encoder.version)

    # Sentiment: tweets (TweetEval, UMSAB Italian), Italian tweets to public services,
    # financial-service tweets, product reviews and review sentences, and corrections.
    splits = sentiment_splits(datasets_dir)
    te = splits["tweeteval_train"]
    limit = opts.tweeteval_limit or len(te.texts)
    sent_train = [
        Part(
            "tweeteval_sentiment",
            "en",
            _embed(encoder, te.texts[:limit], cache),
            np.array(te.labels[:limit]),
        ),
        Part(
            "xlmt_sentiment_it",
            "it",
            _embed(encoder, splits["it_train"].texts, cache),
            np.array(splits["it_train"].labels),
        ),
        *_care_parts(encoder, cache, datasets_dir, list(SENTIMENT_SETS), "train", "sentiment"),
        *_correction_parts(encoder, cache, extras, "sentiment"),
    ]
    sent_val = [
        Part(
            "tweeteval_sentiment",
            "en",
            _embed(encoder, splits["tweeteval_val"].texts, cache),
            np.array(splits["tweeteval_val"].labels),
            "macro_recall",
        ),
        Part(
            "xlmt_sentiment_it",
            "it",
            _embed(encoder, splits["it_val"].texts, cache),
            np.array(splits["it_val"].labels),
        ),
        *_care_parts(encoder, cache, datasets_dir, list(SENTIMENT_SETS), "val", "sentiment"),
    ]
    sentiment, sentiment_card = train_softmax_mix(
        "sentiment",
        SENTIMENT_LABELS,
        sent_train,
        sent_val,
        [(c, mix, {}) for c in SENTIMENT_C for mix in SOURCE_MIXES],
        seed,
    )
    it_val = [p for p in sent_val if p.lang == "it"]
    sentiment_it, sentiment_it_card = train_softmax_mix(
        "sentiment_it",
        SENTIMENT_LABELS,
        sent_train,
        it_val,
        [
            (c, "balanced", {p.name: share for p in sent_train if p.lang != "it"})
            for c in ITALIAN_C
            for share in ENGLISH_SHARE_IT
        ],
        seed,
    )
    sentiment_it.meta["language"] = "it"

    # Complaint: the paper's tweets (all; the benchmark cross-validates them), financial-
    # service tweets and product reviews, plus corrections; their validation splits tune.
    comp = complaints(datasets_dir)
    comp_train = [
        Part("complaints", "en", _embed(encoder, comp.texts, cache), np.array(comp.labels)),
        *_care_parts(encoder, cache, datasets_dir, COMPLAINT_SETS, "train", "complaint"),
        *_correction_parts(encoder, cache, extras, "complaint"),
    ]
    comp_val = _care_parts(encoder, cache, datasets_dir, COMPLAINT_SETS, "val", "complaint")
    complaint, complaint_card = train_complaint(comp_train, comp_val, seed)

    severity, severity_card = train_severity(
        _care_parts(encoder, cache, datasets_dir, SEVERITY_SETS, "train", "severity"),
        _care_parts(encoder, cache, datasets_dir, SEVERITY_SETS, "val", "severity"),
        seed,
    )

    # Issue types and urgency: the seed set's train split plus corrections; each head
    # learns only from the examples that label its task. Issue types also learn from the
    # intent sets, mapped onto our types.
    labelled = seed_train + [ex for ex in extras if carries(ex, "issues") or carries(ex, "urgency")]
    x_s = np.concatenate(
        [
            _embed(encoder, prepare([ex.text for ex in seed_train]), cache),
            _embed(encoder, prepare([ex.text for ex in labelled[len(seed_train) :]]), cache),
        ]
    )
    # A post and its translation share a group, so they never straddle a CV split.
    groups = np.array([ex.pair or f"row-{i}" for i, ex in enumerate(labelled)])
    with_issues = np.array([carries(ex, "issues") for ex in labelled])
    y_i = _multi_hot([ex.issues or [] for ex in labelled], ISSUE_TYPES).astype(np.int8)
    issues, issues_card = train_issues(
        x_s[with_issues],
        y_i[with_issues],
        list(groups[with_issues]),
        _intent_rows(encoder, cache, datasets_dir, "train"),
        _intent_rows(encoder, cache, datasets_dir, "val"),
        seed,
    )
    with_urgency = np.array([carries(ex, "urgency") for ex in labelled])
    urgent = [ex for ex, on in zip(labelled, with_urgency, strict=True) if on]
    y_u = _multi_hot([ex.urgency or [] for ex in urgent], URGENCY_TYPES)
    keywords = _multi_hot(
        [sorted(keyword_urgency(clean(ex.text).text)) for ex in urgent], URGENCY_TYPES
    )
    urgency, urgency_card = train_urgency(
        x_s[with_urgency], y_u, keywords, list(groups[with_urgency]), seed
    )

    # The care heads blend into sentiment and complaint (classify/care_heads.py).
    from classify.care_heads import fit_care_heads

    general = HeadSet(sentiment, sentiment_it, complaint, issues, urgency, {}, severity)
    care_heads, care_card = fit_care_heads(encoder, general, datasets_dir, cache, seed)
    heads = (sentiment, sentiment_it, complaint, issues, urgency, severity, *care_heads)
    version = save_heads(heads, out)
    card: dict[str, Any] = {
        "encoder": encoder.version,
        "model": model,
        "heads_version": version,
        "trained_on": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "seconds": round(time.time() - started, 1),
        "data": {
            "sentiment": f"train splits of tweeteval_sentiment (first {limit} of a fixed "
            "shuffle), xlmt_sentiment_it, "
            + ", ".join(SENTIMENT_SETS)
            + "; tuned and calibrated on their validation splits, never refit on them; "
            "sentiment_it serves posts detected (or given) as Italian",
            "complaint": "complaints/train.csv (all rows) + train splits of "
            + ", ".join(COMPLAINT_SETS)
            + "; C, calibration and threshold on their validation splits",
            "severity": "train splits of " + ", ".join(SEVERITY_SETS),
            "issues": f"{opts.seed_file.name} split=train ({len(seed_train)} posts, EN+IT) "
            "+ intents of " + ", ".join(INTENT_SETS) + " mapped onto issue types; "
            "C and thresholds by 5-fold CV on the seed posts grouped by translation pair",
            "urgency": "same seed posts; thresholds tuned for head OR keyword rules",
            "splits": split_counts(datasets_dir),
            "split_rule": "classify/care_sets.py: hash of the text, buckets 0-6 train, "
            "7 val, 8-9 test; official test files kept",
            "extra_examples": len(extras),
            "not_used": "any test split; app_reviews_maalej2016 (academic use only)",
        },
        "adapters": adapters_card,
        "heads": {
            "sentiment": sentiment_card,
            "sentiment_it": sentiment_it_card,
            "complaint": complaint_card,
            "severity": severity_card,
            "issues": issues_card,
            "urgency": urgency_card,
            **{head.name: care_card[head.name] for head in care_heads},
        },
    }
    for head in care_heads:
        card["data"][head.name] = care_card["data"]
    (out / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("wrote heads to %s in %.0fs", out, card["seconds"])
    return card


def _intent_rows(
    encoder: Encoder, cache: Path | None, datasets_dir: Path, split: str
) -> list[tuple[str, Array, npt.NDArray[np.int8]]]:
    """Each intent set's rows as (name, embeddings, labels 1/0/-1 per issue type)."""
    out = []
    for name in INTENT_SETS:
        rows = care_set(datasets_dir, name, split)
        y = np.full((len(rows), len(ISSUE_TYPES)), -1, np.int8)
        for i, row in enumerate(rows):
            for label in row.issues_known:
                y[i, ISSUE_TYPES.index(label)] = int(label in row.issues)
        out.append((name, _embed(encoder, [r.text for r in rows], cache), y))
    return out


def train_adapters(datasets_dir: Path, out: Path, opts: TrainOptions) -> dict[str, Any]:
    """Fine-tune e5 adapters on the sentiment training splits (validation is left for the
    heads' tuning); returns what the card records."""
    ft = opts.fine_tune or FineTuneOptions(threads=opts.threads or 2)
    splits = sentiment_splits(datasets_dir)
    te, it = splits["tweeteval_train"], splits["it_train"]
    limit = opts.tweeteval_limit or len(te.texts)
    data = sentiment_texts((te.texts[:limit], te.labels[:limit]), (it.texts, it.labels))
    plain = build_encoder("e5torch", "original", opts.threads)
    cache = opts.cache_dir or default_cache_dir()
    log.info("embedding %d training texts with %s", len(data.texts), plain.version)
    original = np.concatenate(
        [_embed(plain, te.texts[:limit], cache), _embed(plain, it.texts, cache)]
    )
    del plain
    out.parent.mkdir(parents=True, exist_ok=True)
    note = (
        f"tweeteval_sentiment train_reconstructed (first {limit} of a fixed shuffle) + "
        f"xlmt_sentiment_it train x{ft.italian_repeats}"
    )
    card = fine_tune(data, original, out, ft, data_note=note)
    card["file"] = out.name
    return card


def adapters_in_use(encoder: Encoder) -> dict[str, Any] | None:
    """What the card records about adapters the encoder (or a part of it) carries."""
    from classify.encoders.concat_backend import ConcatEncoder
    from classify.encoders.e5_torch_backend import E5TorchEncoder

    parts = encoder.parts if isinstance(encoder, ConcatEncoder) else [encoder]
    for part in parts:
        if isinstance(part, E5TorchEncoder) and part.adapters is not None:
            header = {k: v for k, v in part.adapters.header.items() if k != "layers"}
            return {"file": part.adapters.path.name, "version": part.version, **header}
    return None


def with_adapters(encoder: str, model: str | None, adapters: Path) -> str:
    """The encoder's model string with the e5torch part using `adapters`."""

    def adapted(e5_model: str) -> str:
        return f"{(e5_model or 'original').partition('@')[0]}@{adapters}"

    if encoder == "e5torch":
        return adapted(model or "")
    if encoder == "concat":
        from classify.encoders.concat_backend import ConcatEncoder, join_parts, parse_parts

        parts = parse_parts(model or ConcatEncoder.DEFAULT_PARTS)
        for i, (name, part_model) in enumerate(parts):
            if name == "e5torch":
                parts[i] = (name, adapted(part_model))
                return join_parts(parts)
    raise TrainingError(
        f"fine-tuning adapts the e5torch encoder; encoder {encoder!r} ({model or 'default'}) "
        "does not use it"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classify.train", description=__doc__)
    parser.add_argument("--datasets", type=Path, required=True)
    parser.add_argument("--extra", type=Path, help="JSON-lines corrections to train on too")
    parser.add_argument("--out", type=Path, help="head directory (default: shipped heads)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--model", help="model id or path for the encoder")
    parser.add_argument("--tweeteval-limit", type=int, help="use only this many TweetEval tweets")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: user cache)")
    parser.add_argument("--threads", type=int)
    parser.add_argument(
        "--fine-tune",
        type=Path,
        metavar="ADAPTERS",
        help="first fine-tune e5 adapters and write them here (about 35 minutes on 2 cores)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    options = TrainOptions(
        encoder=args.encoder,
        model=args.model,
        tweeteval_limit=args.tweeteval_limit,
        cache_dir=args.cache_dir,
        threads=args.threads,
        adapters_out=args.fine_tune,
    )
    card = train_all(args.datasets, args.extra, args.out, args.seed, options)
    print(json.dumps({k: card[k] for k in ("encoder", "heads_version", "seconds")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
