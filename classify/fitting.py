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
    layers = [(lr.coef_.T.astype(np.float32), lr.intercept_.astype(np.float32))]
    return Head("", "softmax", list(labels), layers, meta={"model": "logreg", "C": c})


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
