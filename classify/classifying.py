"""The classification step: label every mention that has no labels from the current model.

Claims pending mentions from storage in chunks of `[classify] batch_size`, runs one
classifier pass per chunk (one encoder pass feeds every head), and writes each chunk's
labels and embeddings in the transaction that claimed it, so any number of workers
classify different chunks at once. A crash loses only the chunk in flight, whose claim
ends with the connection; the next run starts from what is still pending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from classify.settings import Settings
from storage.classifications import (
    LabelsRecord,
    PendingMention,
    claim_pending_mentions,
    copy_labels,
    current_labels,
    save_labels,
)
from storage.db import session_scope
from storage.types import utcnow

if TYPE_CHECKING:
    from classify.labels import Labels
    from classify.pipeline import Classifier, ClassifierSettings
    from classify.products import ProductSpec

log = logging.getLogger(__name__)

REASON_ERROR = "classifier_error"

_classifiers: dict[ClassifierSettings, Classifier] = {}
_lock = threading.Lock()


def classifier_settings(settings: Settings) -> ClassifierSettings:
    """The library's settings for ascolto's `[classify]` table."""
    from classify.pipeline import ClassifierSettings

    c = settings.classify
    return ClassifierSettings(
        encoder=c.encoder,
        model=c.model,
        batch_size=c.batch_size,
        head_dir=c.head_dir,
        threads=c.threads,
    )


def get_classifier(settings: Settings) -> Classifier:
    """The classifier for these settings, built once per process (loading takes seconds)."""
    from classify.pipeline import Classifier

    key = classifier_settings(settings)
    with _lock:
        classifier = _classifiers.get(key)
        if classifier is None:
            started = time.perf_counter()
            classifier = Classifier.from_settings(key)
            log.info(
                "loaded classifier %s in %.1fs",
                classifier.model_version,
                time.perf_counter() - started,
            )
            _classifiers[key] = classifier
        return classifier


def warm_classifier(settings: Settings) -> Classifier:
    """Load the classifier and run it once: the first pass of an encoder pays for setting
    itself up (seconds), which should not land on the first mentions a worker takes."""
    from classify.labels import Text

    classifier = get_classifier(settings)
    started = time.perf_counter()
    classifier.classify([Text("Il mio ordine non è ancora arrivato")], [])
    log.info("classifier warmed up in %.1fs", time.perf_counter() - started)
    return classifier


def product_specs(settings: Settings) -> list[ProductSpec]:
    """The configured `[[products]]` as the classifier's product table."""
    from classify.products import ProductSpec

    return [ProductSpec(p.name, list(p.aliases), list(p.skus)) for p in settings.products]


def mention_text(title: str | None, text: str) -> str:
    """What the classifier reads: the title, then the body (a title repeated in it once)."""
    title = (title or "").strip()
    if not title or text.lstrip().startswith(title):
        return text
    return f"{title}\n{text}"


@dataclass
class ClassifyReport:
    """What one run did, for logs, the command line and exit codes."""

    model_version: str = ""
    pending: int = 0
    classified: int = 0
    copied: int = 0
    unclassifiable: int = 0
    chunks: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    stopped: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def done(self) -> int:
        return self.classified + self.copied + self.unclassifiable

    @property
    def texts_per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def to_record(mention: PendingMention, labels: Labels) -> LabelsRecord:
    """The library's labels for a mention, as storage keeps them."""
    return LabelsRecord(
        mention_id=mention.id,
        content_hash=mention.content_hash,
        model_version=labels.model_version,
        language=labels.language,
        language_score=labels.language_score if labels.language else None,
        sentiment=labels.sentiment,
        sentiment_scores=_rounded(labels.sentiment_scores),
        complaint=labels.complaint,
        complaint_score=_round(labels.complaint_score),
        issues=list(labels.issues),
        issue_scores=_rounded(labels.issue_scores),
        urgency=list(labels.urgency),
        urgency_scores=_rounded(labels.urgency_scores),
        severity=labels.severity,
        severity_scores=_rounded(labels.severity_scores),
        confidence=_round(labels.confidence) if labels.classified else None,
        products=list(labels.products),
        unclassifiable_reason=labels.unclassifiable_reason,
        truncated=labels.truncated,
        embedding=labels.embedding,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in scores.items()}


def classify_texts(
    classifier: Classifier, texts: Sequence[str], products: Sequence[ProductSpec]
) -> list[Labels]:
    """One `Labels` per text; if the whole batch fails, texts are retried one by one and
    a text that still fails is labelled unclassifiable with the error, never raised."""
    from classify.labels import Labels, Text

    items = [Text(t) for t in texts]
    try:
        return classifier.classify(items, products)
    except Exception:
        log.exception("classifying a batch of %d failed; retrying one at a time", len(items))
    out = []
    for item in items:
        try:
            out.extend(classifier.classify([item], products))
        except Exception as exc:
            out.append(
                Labels(
                    model_version=classifier.model_version,
                    unclassifiable_reason=f"{REASON_ERROR}: {type(exc).__name__}",
                )
            )
    return out


def classify_pending(
    settings: Settings,
    engine: Engine,
    *,
    since: datetime | None = None,
    reclassify: bool = False,
    stop: threading.Event | None = None,
    progress: Callable[[ClassifyReport], None] | None = None,
    classifier: Classifier | None = None,
) -> ClassifyReport:
    """Label pending mentions chunk by chunk, each chunk committed on its own.

    `reclassify` labels again every mention not labelled during this run. `stop` is
    checked between chunks. Errors end the run with `report.error` set; what was
    committed stays.
    """
    report = ClassifyReport()
    started = time.perf_counter()
    try:
        clf = classifier or get_classifier(settings)
        report.model_version = clf.model_version
        _run(settings, engine, clf, report, since, utcnow() if reclassify else None, stop, progress)
    except Exception as exc:
        log.exception("classification stopped by an error")
        report.error = f"{type(exc).__name__}: {exc}"
    report.seconds = time.perf_counter() - started
    log.info(
        "classification %s: %d classified, %d copied from originals, %d unclassifiable "
        "in %d chunk(s), %.1fs, %.1f texts/s",
        "failed" if report.error else "stopped" if report.stopped else "done",
        report.classified,
        report.copied,
        report.unclassifiable,
        report.chunks,
        report.seconds,
        report.texts_per_second,
    )
    return report


def _run(
    settings: Settings,
    engine: Engine,
    clf: Classifier,
    report: ClassifyReport,
    since: datetime | None,
    reclassify_before: datetime | None,
    stop: threading.Event | None,
    progress: Callable[[ClassifyReport], None] | None,
) -> None:
    products = product_specs(settings)
    version = clf.model_version
    size = settings.classify.batch_size
    after_id = 0
    while True:
        if stop is not None and stop.is_set():
            report.stopped = True
            return
        chunk_started = time.perf_counter()
        # The chunk stays claimed while it is encoded and until its labels are committed:
        # other workers take other mentions meanwhile, and a worker that dies mid-chunk
        # loses its claim with its connection, leaving the chunk pending for the next.
        with session_scope(engine) as session:
            claim = claim_pending_mentions(
                session,
                model_version=version,
                after_id=after_id,
                limit=size,
                since=since,
                reclassify_before=reclassify_before,
            )
            if claim.last_id == after_id:
                return
            after_id = claim.last_id
            chunk = claim.mentions
            if not chunk:
                continue  # labelled by another worker just before this one claimed it
            ready = current_labels(
                session,
                mention_ids=[m.duplicate_of_id for m in chunk if m.duplicate_of_id],
                model_version=version,
            )
            report.pending += len(chunk)
            in_chunk = {m.id for m in chunk if not m.duplicate_of_id}
            # A near-duplicate takes its original's labels when the original has (or is
            # about to get, in this chunk) labels of this model: no second encoder pass.
            copies = [
                m
                for m in chunk
                if m.duplicate_of_id
                and (m.duplicate_of_id in ready or m.duplicate_of_id in in_chunk)
            ]
            copy_ids = {m.id for m in copies}
            todo = [m for m in chunk if m.id not in copy_ids]
            encode_started = time.perf_counter()
            labels = classify_texts(clf, [mention_text(m.title, m.text) for m in todo], products)
            records = [to_record(m, lab) for m, lab in zip(todo, labels, strict=True)]
            save_labels(session, records=records)
            copied = set(copy_labels(session, duplicates=copies, model_version=version))
            # Originals that turned out unclassifiable: their copies are classified alone.
            left = [m for m in copies if m.id not in copied]
            if left:
                extra = classify_texts(clf, [mention_text(m.title, m.text) for m in left], products)
                more = [to_record(m, lab) for m, lab in zip(left, extra, strict=True)]
                save_labels(session, records=more)
                records += more
        report.encode_seconds += time.perf_counter() - encode_started
        report.chunks += 1
        report.copied += len(copied)
        bad = [r for r in records if r.unclassifiable_reason]
        report.unclassifiable += len(bad)
        report.classified += len(records) - len(bad)
        report.reasons.update(str(r.unclassifiable_reason).split(":")[0] for r in bad)
        elapsed = time.perf_counter() - chunk_started
        log.info(
            "classified chunk of %d up to mention %d: %d classified, %d copied, "
            "%d unclassifiable, %.1f texts/s",
            len(chunk),
            after_id,
            len(records) - len(bad),
            len(copied),
            len(bad),
            len(chunk) / elapsed if elapsed else 0.0,
        )
        if progress is not None:
            progress(report)
