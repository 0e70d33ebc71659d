from __future__ import annotations

from pathlib import Path

import numpy as np

from classify.heads import Head


def test_roundtrip_and_probabilities(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    layers = [
        (rng.normal(size=(8, 5)).astype(np.float32), np.zeros(5, np.float32)),
        (rng.normal(size=(5, 3)).astype(np.float32), np.zeros(3, np.float32)),
    ]
    head = Head("s", "softmax", ["a", "b", "c"], layers, meta={"C": 1.0})
    head.save(tmp_path / "s.npz")
    loaded = Head.load(tmp_path / "s.npz")
    x = rng.normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_allclose(loaded.scores(x), head.scores(x), rtol=1e-6)
    np.testing.assert_allclose(loaded.scores(x).sum(axis=1), 1.0, rtol=1e-5)
    assert loaded.meta == {"C": 1.0}


def test_sigmoid_thresholds() -> None:
    head = Head(
        "u",
        "sigmoid",
        ["x", "y"],
        [(np.eye(2, dtype=np.float32), np.zeros(2, np.float32))],
        [0.6, 0.4],
    )
    probs = head.scores(np.array([[0.0, 0.0]], np.float32))
    assert head.decide(probs).tolist() == [[False, True]]
