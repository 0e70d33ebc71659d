"""`ascolto train`: the library's training on the public datasets plus stored corrections."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from classify.settings import Settings
from storage.classifications import TRAINED_TASKS, list_labelled_examples
from storage.models import LabelledExample

if TYPE_CHECKING:
    from classify.datasets import SeedExample


def seed_examples(examples: list[LabelledExample]) -> list[SeedExample]:
    """Stored labelled examples in the library's correction format (always training data).

    Each row labels one task; the other tasks stay `None` (not labelled), so an issue
    correction never teaches the urgency head that the post is not urgent. Language and
    product corrections are left out: no head learns them (lingua detects the language,
    the configured names and aliases find the product).
    """
    from classify.datasets import SeedExample

    out = []
    for ex in examples:
        if ex.task not in TRAINED_TASKS:
            continue
        label = ex.label
        sentiment = label.get("sentiment") if ex.task == "sentiment" else None
        complaint = label.get("complaint") if ex.task == "complaint" else None
        out.append(
            SeedExample(
                text=ex.text,
                lang=ex.lang or "und",
                issues=list(label.get("issues", [])) if ex.task == "issue" else None,
                urgency=list(label.get("urgency", [])) if ex.task == "urgency" else None,
                split="train",
                sentiment=str(sentiment) if sentiment is not None else None,
                complaint=bool(complaint) if complaint is not None else None,
            )
        )
    return out


def default_out_dir(encoder_version: str) -> Path:
    """A new folder per training run, so shipped or earlier heads are never overwritten."""
    from classify.head_set import slug

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path("heads") / f"{slug(encoder_version)}-{stamp}"


def train_heads(
    settings: Settings,
    engine: Engine,
    *,
    datasets: Path,
    out_dir: Path | None = None,
    seed: int = 0,
    tweeteval_limit: int | None = None,
    fine_tune: bool = False,
) -> tuple[dict[str, Any], Path]:
    """Train every head for the configured encoder; returns the card and the folder.

    With `fine_tune`, first fine-tunes e5 adapters into the folder (the encoder must use
    `e5torch`); the card's `model` is then the `[classify] model` that uses them.
    """
    from classify.encoders import build_encoder
    from classify.train import TrainOptions, train_all

    c = settings.classify
    with Session(engine) as session:
        # Undone and replaced corrections are left out: only labels people stand by teach.
        extras = seed_examples(list_labelled_examples(session, tasks=TRAINED_TASKS))
    if out_dir is None:
        version = build_encoder(c.encoder, c.model, c.threads).version
        out_dir = default_out_dir(version)
    options = TrainOptions(
        encoder=c.encoder,
        model=c.model,
        tweeteval_limit=tweeteval_limit,
        threads=c.threads,
        cache_dir=c.cache_dir,
        adapters_out=(out_dir / "adapters.npz").resolve() if fine_tune else None,
    )
    card = train_all(datasets, extras, out_dir, seed, options)
    return card, out_dir.resolve()
