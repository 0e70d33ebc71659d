"""Fine-tune low-rank adapters of the e5 encoder for sentiment, keeping its embedding.

The adapters learn from TweetEval (English) and UMSAB (Italian) sentiment through one
linear readout per language on the mean-pooled, L2-normalised embedding (the vector the
heads and the defect clustering use). A second term keeps each adapted embedding close
to the original one, so similarity-based features (defect clusters, nearest examples)
keep their meaning while sentiment becomes easier to read off.

Deterministic for a given seed and thread count: fixed shuffles, fixed initialisation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from classify.encoders.adapters import save_adapters
from classify.encoders.e5_torch_backend import LINEARS, E5Torch, packaged_e5_path

log = logging.getLogger("classify.fine_tune")


@dataclass(frozen=True)
class FineTuneOptions:
    """Everything that changes the adapters (recorded in their header and the card)."""

    rank: int = 8
    alpha: float = 16.0
    lr: float = 5e-4
    head_lr: float = 5e-3
    batch_size: int = 32
    epochs: int = 1
    keep_weight: float = 10.0  # weight of (1 - cosine to the original embedding)
    italian_repeats: int = 3  # Italian has 1.8k tweets against TweetEval's 47k
    max_tokens: int = 128
    seed: int = 0
    threads: int = 2


@dataclass
class LabelledTexts:
    """Texts, integer sentiment labels and the readout (language) each belongs to."""

    texts: list[str]
    labels: list[int]
    readout: list[int]


def _lora_layers(bert: Any, rank: int, alpha: float, generator: Any) -> dict[str, Any]:
    """Wrap every target linear layer with a trainable low-rank update."""
    import torch

    class LoRALinear(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.A = torch.nn.Parameter(
                torch.randn(rank, base.in_features, generator=generator)
                / math.sqrt(base.in_features)
            )
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.scale = alpha / rank

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.base(x) + (x @ self.A.T @ self.B.T) * self.scale
            return out

    wrapped: dict[str, Any] = {}
    for i, layer in enumerate(bert.encoder.layer):
        for target in LINEARS.values():
            path = target.split(".")
            parent = layer
            for part in path[:-1]:
                parent = getattr(parent, part)
            lora = LoRALinear(getattr(parent, path[-1]))
            setattr(parent, path[-1], lora)
            wrapped[f"encoder.layer.{i}.{target}"] = lora
    return wrapped


def fine_tune(
    data: LabelledTexts,
    original: npt.NDArray[np.float32],
    out: Path,
    options: FineTuneOptions,
    n_readouts: int = 2,
    model_path: Path | None = None,
    progress_every: int = 50,
    data_note: str = "",
) -> dict[str, Any]:
    """Train adapters on `data`; `original` holds each text's unadapted embedding.

    Writes the adapters to `out` (their header says how they were made) and returns
    what the card records.
    """
    import torch

    torch.manual_seed(options.seed)
    torch.set_num_threads(options.threads)
    started = time.time()
    e5 = E5Torch(model_path or packaged_e5_path())
    bert = e5.bert
    for p in bert.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(options.seed)
    lora = _lora_layers(bert, options.rank, options.alpha, gen)
    readout = torch.nn.Linear(e5.config.hidden, 3 * n_readouts)
    with torch.no_grad():
        readout.weight.normal_(0.0, 0.01, generator=gen)
        readout.bias.zero_()
    adapter_params = [p for m in lora.values() for p in (m.A, m.B)]
    optimiser = torch.optim.AdamW(
        [
            {"params": adapter_params, "lr": options.lr, "weight_decay": 0.0},
            {"params": readout.parameters(), "lr": options.head_lr, "weight_decay": 0.0},
        ]
    )

    # Italian repeated, then one fixed shuffle per epoch.
    rows = [i for i in range(len(data.texts)) if data.readout[i] == 0]
    rows += [i for i in range(len(data.texts)) if data.readout[i] != 0] * options.italian_repeats
    rng = np.random.default_rng(options.seed)
    labels = torch.tensor(data.labels)
    readouts = torch.tensor(data.readout)
    target = torch.from_numpy(np.asarray(original, np.float32))
    # Balanced class weights per readout, as the logistic heads use.
    weights = torch.ones(n_readouts, 3)
    for r in range(n_readouts):
        counts = np.bincount(np.asarray(data.labels)[np.asarray(data.readout) == r], minlength=3)
        weights[r] = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
    token_ids = [ids[: options.max_tokens - 2] for ids in e5.tokenizer.content_ids(data.texts)]
    steps_per_epoch = math.ceil(len(rows) / options.batch_size)
    total = steps_per_epoch * options.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, (total - s) / total)
    )
    bert.train()
    history: list[dict[str, float]] = []
    step = 0
    for _ in range(options.epochs):
        order = rng.permutation(np.asarray(rows))
        for start in range(0, len(order), options.batch_size):
            idx = order[start : start + options.batch_size]
            seqs = [[e5.tokenizer.bos, *token_ids[i], e5.tokenizer.eos] for i in idx]
            pooled = e5.mean_pooled(seqs)
            emb = torch.nn.functional.normalize(pooled, dim=1)
            logits = readout(emb * 10.0).view(len(idx), n_readouts, 3)
            lang = readouts[idx]
            y = labels[idx]
            chosen = logits[torch.arange(len(idx)), lang]
            ce = torch.nn.functional.cross_entropy(chosen, y, reduction="none")
            ce = (ce * weights[lang, y]).sum() / weights[lang, y].sum()
            keep = (1.0 - (emb * target[idx]).sum(dim=1)).mean()
            loss = ce + options.keep_weight * keep
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            step += 1
            if step % progress_every == 0 or step == total:
                ce_now, cosine = float(ce.detach()), 1.0 - float(keep.detach())
                history.append({"step": step, "ce": ce_now, "cosine": cosine})
                log.info(
                    "fine-tune step %d/%d: ce %.3f, cosine to original %.4f (%.0fs)",
                    step,
                    total,
                    ce_now,
                    cosine,
                    time.time() - started,
                )
    pairs = {name: (m.A.detach().numpy(), m.B.detach().numpy()) for name, m in lora.items()}
    card: dict[str, Any] = {
        "options": asdict(options),
        "data": data_note,
        "n_texts": len(data.texts),
        "steps": step,
        "history": history[-5:],
    }
    save_adapters(out, pairs, options.alpha / options.rank, card)
    return {**card, "seconds": round(time.time() - started, 1)}


def sentiment_texts(
    english: tuple[Sequence[str], Sequence[int]], italian: tuple[Sequence[str], Sequence[int]]
) -> LabelledTexts:
    """English texts use readout 0, Italian texts readout 1."""
    return LabelledTexts(
        list(english[0]) + list(italian[0]),
        list(english[1]) + list(italian[1]),
        [0] * len(english[0]) + [1] * len(italian[0]),
    )
