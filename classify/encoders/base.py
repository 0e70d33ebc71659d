"""The encoder seam: one forward pass per batch, L2-normalised float32 embeddings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

Embeddings = npt.NDArray[np.float32]


class EncoderError(RuntimeError):
    """An encoder cannot be built or loaded."""


class Encoder(ABC):
    """A sentence encoder; subclasses set `name` and are registered by it."""

    name: ClassVar[str]
    dim: int

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        self.model: str = model or "default"
        self.threads = threads

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> Embeddings:
        """Embed `texts` into an (n, dim) array of unit-length rows."""

    @property
    def version(self) -> str:
        """Identifies the weights, so labels can say which model produced them."""
        return f"{self.name}:{self.model}"


def l2_normalise(matrix: npt.NDArray[np.floating]) -> Embeddings:
    """Rows scaled to unit length; all-zero rows stay zero instead of becoming NaN."""
    out = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    scaled: Embeddings = (out / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return scaled
