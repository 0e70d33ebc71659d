"""Trained heads on frozen embeddings, evaluated in NumPy (no scikit-learn at run time)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
Kind = Literal["softmax", "sigmoid"]


def _softmax(z: Array) -> Array:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: Array = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def _sigmoid(z: Array) -> Array:
    return (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))).astype(np.float32)


@dataclass
class Head:
    """Linear (or one-hidden-layer) scorer: softmax over classes or one sigmoid per label.

    `layers` holds (weight, bias) pairs; hidden layers use ReLU. `thresholds` apply to
    sigmoid heads (one per label), tuned on validation data at training time.
    """

    name: str
    kind: Kind
    labels: list[str]
    layers: list[tuple[Array, Array]]
    thresholds: list[float] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # Calibration of the final logits, z * scale + shift per column, fitted on held-out
    # data after training (temperature scaling for softmax heads, Platt scaling for
    # sigmoid heads), so a score of 0.8 is right about 80% of the time.
    scale: list[float] = field(default_factory=list)
    shift: list[float] = field(default_factory=list)

    def logits(self, x: Array) -> Array:
        """Uncalibrated final-layer outputs, shape (n, len(labels))."""
        h = x
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def probabilities(self, z: Array) -> Array:
        """Calibrated probabilities from `logits`."""
        if self.scale:
            z = z * np.asarray(self.scale, np.float32) + np.asarray(self.shift, np.float32)
        return _softmax(z) if self.kind == "softmax" else _sigmoid(z)

    def scores(self, x: Array) -> Array:
        """Probabilities, shape (n, len(labels))."""
        return self.probabilities(self.logits(x))

    def decide(self, probs: Array) -> npt.NDArray[np.bool_]:
        """Sigmoid heads: which labels pass their threshold."""
        return probs >= np.asarray(self.thresholds or [0.5] * len(self.labels), np.float32)

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = w.astype(np.float32), b.astype(np.float32)
        header = {
            "name": self.name,
            "kind": self.kind,
            "labels": self.labels,
            "thresholds": self.thresholds,
            "n_layers": len(self.layers),
            "meta": self.meta,
            "scale": self.scale,
            "shift": self.shift,
        }
        arrays["header"] = np.array(json.dumps(header))
        with path.open("wb") as fh:
            np.savez_compressed(fh, **arrays)

    @classmethod
    def load(cls, path: Path) -> Head:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            layers = [
                (z[f"w{i}"].astype(np.float32), z[f"b{i}"].astype(np.float32))
                for i in range(header["n_layers"])
            ]
        return cls(
            name=header["name"],
            kind=header["kind"],
            labels=list(header["labels"]),
            layers=layers,
            thresholds=[float(t) for t in header["thresholds"]],
            meta=dict(header["meta"]),
            scale=[float(v) for v in header.get("scale", [])],
            shift=[float(v) for v in header.get("shift", [])],
        )
