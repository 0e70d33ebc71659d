"""Fit heads with scikit-learn (training only) and convert them to NumPy `Head`s."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import f1_score, recall_score  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold  # type: ignore[import-untyped]
from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]

from classify.heads import Array, Head

IntArray = npt.NDArray[np.int64]
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


def fit_softmax(
    x: Array,
    y: IntArray,
    labels: Sequence[str],
    c: float,
    balanced: bool = True,
    sample_weight: npt.NDArray[np.float64] | None = None,
    hidden: int = 0,
    seed: int = 0,
) -> Head:
    """Multinomial logistic regression, or a one-hidden-layer MLP when `hidden` > 0."""
    if hidden:
        # MLPClassifier has no class weights: the validation metric decides if it is worth it.
        mlp = MLPClassifier(
            hidden_layer_sizes=(hidden,),
            alpha=1.0 / c,
            early_stopping=True,
            max_iter=200,
            random_state=seed,
        ).fit(x, y)
        layers = [
            (w.astype(np.float32), b.astype(np.float32))
            for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)
        ]
        return Head("", "softmax", list(labels), layers, meta={"model": f"mlp{hidden}", "C": c})
    lr = LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced" if balanced else None, random_state=seed
    ).fit(x, y, sample_weight=sample_weight)
    coef, intercept = lr.coef_, lr.intercept_
    if len(lr.classes_) == 2:
        # scikit-learn keeps one row for two classes: the softmax needs both.
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    # A class absent from the data (a small sample, a correction run) never wins.
    w = np.zeros((x.shape[1], len(labels)), np.float32)
    b = np.full(len(labels), -30.0, np.float32)
    for row, cls in enumerate(lr.classes_):
        w[:, int(cls)], b[int(cls)] = coef[row], intercept[row]
    return Head("", "softmax", list(labels), [(w, b)], meta={"model": "logreg", "C": c})


def fit_binary_columns(
    x: Array, y: npt.NDArray[np.bool_], labels: Sequence[str], c: float, seed: int = 0
) -> Head:
    """One balanced logistic regression per label column (multi-label sigmoid head)."""
    weights, biases = [], []
    for j in range(y.shape[1]):
        col = y[:, j].astype(int)
        if col.min() == col.max():
            # A label with no positives yet: never fire rather than fail training.
            weights.append(np.zeros(x.shape[1], np.float32))
            biases.append(-10.0)
            continue
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed).fit(
            x, col
        )
        weights.append(lr.coef_[0].astype(np.float32))
        biases.append(float(lr.intercept_[0]))
    layers = [(np.stack(weights, axis=1), np.asarray(biases, np.float32))]
    return Head(
        "", "sigmoid", list(labels), layers, [0.5] * len(labels), {"model": "logreg", "C": c}
    )


def best_threshold(scores: npt.NDArray[np.float32], truth: npt.NDArray[np.bool_]) -> float:
    """The threshold maximising F1 of `scores >= t` (0.5 when there are no positives)."""
    if not truth.any():
        return 0.5
    best_t, best_f = 0.5, -1.0
    for t in np.linspace(0.05, 0.95, 37):
        f = f1_score(truth, scores >= t, zero_division=0)
        if f > best_f + 1e-9:
            best_t, best_f = float(t), f
    return best_t


def cross_val_scores(
    x: Array,
    y: npt.NDArray[np.bool_],
    labels: Sequence[str],
    c: float,
    folds: int,
    seed: int,
    groups: Sequence[str] | None = None,
) -> npt.NDArray[np.float32]:
    """Out-of-fold sigmoid scores of `fit_binary_columns` (for thresholds and metrics).

    `groups` keeps related rows (a post and its translation) in the same fold; without it,
    cross-validation scores leak and thresholds come out overconfident.
    """
    out = np.zeros(y.shape, np.float32)
    # Stratify on the rarest label present so small classes appear in every fold.
    strat = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(int)
    if groups is None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, strat)
    else:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(x, strat, list(groups))
    for tr, te in splits:
        head = fit_binary_columns(x[tr], y[tr], labels, c, seed)
        out[te] = head.scores(x[te])
    return out


def macro_recall(y: IntArray, pred: IntArray) -> float:
    return float(recall_score(y, pred, average="macro"))


def macro_f1(y: IntArray, pred: IntArray) -> float:
    return float(f1_score(y, pred, average="macro"))


def expected_calibration_error(
    probs: npt.NDArray[np.float32], correct: npt.NDArray[np.bool_], bins: int = 10
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width bins.

    `probs` is the confidence of each decision (the top class's probability, or a binary
    label's probability); `correct` whether that decision (class, or "label is on") held.
    """
    probs = np.asarray(probs, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(float(probs[m].mean()) - float(correct[m].mean()))
    return total / max(1, len(probs))


def softmax_ece(probs: npt.NDArray[np.float32], y: IntArray) -> float:
    """ECE of a softmax head's top-class confidence."""
    return expected_calibration_error(probs.max(1), probs.argmax(1) == y)


def binary_ece(probs: npt.NDArray[np.float32], y: npt.NDArray[np.bool_]) -> float:
    """ECE of one sigmoid label's probability that the label is on."""
    return expected_calibration_error(probs, np.asarray(y, bool))


def fit_temperature(logits: Array, y: IntArray) -> float:
    """The temperature minimising the negative log-likelihood of `y` (temperature scaling)."""
    z = np.asarray(logits, np.float64)

    def nll(t: float) -> float:
        s = z / t
        s = s - s.max(1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    # A one-dimensional convex search: golden section over log-temperature.
    lo, hi = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        if nll(float(np.exp(a))) < nll(float(np.exp(b))):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def fit_platt(logit: npt.NDArray[np.float32], y: npt.NDArray[np.bool_]) -> tuple[float, float]:
    """(scale, shift) of Platt scaling: sigmoid(scale * z + shift) fits `y` best.

    With Platt's own smoothed targets ((N+ + 1) / (N+ + 2) for positives, 1 / (N- + 2) for
    negatives), so held-out rows that happen to be separable do not give an infinite slope.
    """
    z = np.asarray(logit, np.float64).reshape(-1, 1)
    truth = np.asarray(y, bool)
    pos, neg = int(truth.sum()), int((~truth).sum())
    target = np.where(truth, (pos + 1) / (pos + 2), 1 / (neg + 2))
    # Soft targets as two weighted copies of each row, one per class.
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(
        np.concatenate([z, z]),
        np.concatenate([np.ones(len(z), int), np.zeros(len(z), int)]),
        sample_weight=np.concatenate([target, 1 - target]),
    )
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def fit_masked_columns(
    x: Array,
    y: npt.NDArray[np.int8],
    labels: Sequence[str],
    c: float,
    seed: int = 0,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> Head:
    """Like `fit_binary_columns`, but `y` is 1 (on), 0 (off) or -1 (not labelled): each
    label's regression learns only from the rows that label it."""
    weights, biases = [], []
    for j in range(y.shape[1]):
        known = y[:, j] >= 0
        col = y[known, j].astype(int)
        if not known.any() or col.min() == col.max():
            weights.append(np.zeros(x.shape[1], np.float32))
            biases.append(-10.0)
            continue
        sw = None if sample_weight is None else sample_weight[known]
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
        lr.fit(x[known], col, sample_weight=sw)
        weights.append(lr.coef_[0].astype(np.float32))
        biases.append(float(lr.intercept_[0]))
    layers = [(np.stack(weights, axis=1), np.asarray(biases, np.float32))]
    return Head(
        "", "sigmoid", list(labels), layers, [0.5] * len(labels), {"model": "logreg", "C": c}
    )


def grouped_folds(
    strat: IntArray, groups: Sequence[str], folds: int, seed: int
) -> list[tuple[IntArray, IntArray]]:
    """(train, test) index pairs, stratified on `strat`, related rows kept in one fold."""
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(strat)), strat, list(groups)))
