"""The classifier: one encoder pass per batch feeds every head."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classify.cleaning import CleanText, clean
from classify.encoders import Embeddings, Encoder, build_encoder
from classify.head_set import HeadSet, default_head_dir
from classify.heads import Array
from classify.labels import Labels, Text
from classify.language import DEFAULT_LANGUAGES, UNDETERMINED, LanguageIdentifier
from classify.products import ProductMatcher, ProductSpec, product_terms
from classify.urgency_rules import keyword_urgency

__all__ = ["Classifier", "ClassifierSettings", "Labels", "ProductSpec", "Text"]

log = logging.getLogger(__name__)

# Chosen by measurement (benchmarks/classify.py, classify/shipped/README.md):
# best English + Italian quality per second of the packaged encoders.
DEFAULT_ENCODER = "concat"
# A keyword hit counts as this confident, so a rule alone passes any tuned threshold.
KEYWORD_SCORE = 0.9
REASON_NOT_TEXT = "not_text"
REASON_ENCODER_ERROR = "encoder_error"


@dataclass(frozen=True)
class ClassifierSettings:
    """How to build a `Classifier`; `head_dir` defaults to the heads shipped for the encoder."""

    encoder: str = DEFAULT_ENCODER
    model: str | None = None
    batch_size: int = 64
    head_dir: Path | None = None
    threads: int | None = None
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    return_embeddings: bool = True


@dataclass
class _Prepared:
    index: int
    clean: CleanText
    lang: str | None
    lang_score: float = 0.0
    embedding: Array | None = None
    error: str | None = field(default=None)


class Classifier:
    """Labels mentions; bad input is labelled unclassifiable, never stops a batch."""

    def __init__(
        self,
        encoder: Encoder,
        heads: HeadSet,
        languages: LanguageIdentifier,
        batch_size: int = 64,
        return_embeddings: bool = True,
    ) -> None:
        self.encoder = encoder
        self.heads = heads
        self.languages = languages
        self.batch_size = max(1, batch_size)
        self.return_embeddings = return_embeddings
        self.model_version = f"{encoder.version}+heads:{heads.version}"

    @classmethod
    def from_settings(cls, settings: ClassifierSettings | None = None) -> Classifier:
        settings = settings or ClassifierSettings()
        encoder = build_encoder(settings.encoder, settings.model, settings.threads)
        head_dir = settings.head_dir or default_head_dir(encoder.version)
        heads = HeadSet.load(head_dir, encoder.version)
        return cls(
            encoder,
            heads,
            LanguageIdentifier(settings.languages),
            settings.batch_size,
            settings.return_embeddings,
        )

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """The encoder's embeddings of already-cleaned texts, in length-sorted batches."""
        from classify.embedding_cache import encode_in_batches

        return encode_in_batches(self.encoder, texts, self.batch_size)

    def classify(
        self, texts: Sequence[Text | str], products: Sequence[ProductSpec] = ()
    ) -> list[Labels]:
        """One `Labels` per input, in order."""
        items = [self._prepare(i, t) for i, t in enumerate(texts)]
        todo = [p for p in items if p.clean.reason is None]
        # Product names say nothing of a post's language ("Acme Buds", "Tab 3"): masked.
        self._detect_languages(todo, product_terms(products))
        self._encode(todo)
        matcher = ProductMatcher(list(products))
        ready = [p for p in todo if p.embedding is not None]
        out = [self._unclassifiable(p) for p in items]
        if ready:
            x = np.stack([p.embedding for p in ready if p.embedding is not None])
            for p, labels in zip(ready, self._label(x, ready, matcher), strict=True):
                out[p.index] = labels
        return out

    def _prepare(self, index: int, item: Text | str) -> _Prepared:
        raw: object
        lang: str | None
        if isinstance(item, str):
            raw, lang = item, None
        else:
            raw, lang = getattr(item, "text", None), getattr(item, "lang", None)
        if not isinstance(raw, str):
            return _Prepared(index, CleanText("", REASON_NOT_TEXT, False, False), None)
        return _Prepared(index, clean(raw), lang)

    def _detect_languages(self, items: list[_Prepared], ignore_terms: Sequence[str] = ()) -> None:
        unknown = [p for p in items if not p.lang and p.clean.has_words]
        texts = [p.clean.text for p in unknown]
        detected = (
            self.languages.detect(texts, ignore_terms=ignore_terms)
            if ignore_terms
            else self.languages.detect(texts)
        )
        for p, (code, score) in zip(unknown, detected, strict=True):
            p.lang, p.lang_score = code, score
        for p in items:
            if p.lang and p.lang_score == 0.0 and p.clean.has_words and p.lang != UNDETERMINED:
                p.lang_score = 1.0  # given by the caller
            p.lang = p.lang or UNDETERMINED

    def _encode(self, items: list[_Prepared]) -> None:
        if not items:
            return
        try:
            emb = self.embed([p.clean.text for p in items])
        except Exception:  # one bad text must not cost the whole batch
            log.exception("batch encoding failed; retrying one text at a time")
            for p in items:
                try:
                    p.embedding = self.encoder.encode([p.clean.text])[0]
                except Exception as exc:
                    p.error = f"{REASON_ENCODER_ERROR}: {type(exc).__name__}"
            return
        for p, row in zip(items, emb, strict=True):
            p.embedding = row

    def _unclassifiable(self, p: _Prepared) -> Labels:
        return Labels(
            model_version=self.model_version,
            unclassifiable_reason=p.clean.reason or p.error or REASON_ENCODER_ERROR,
            truncated=p.clean.truncated,
        )

    def _label(self, x: Array, items: list[_Prepared], matcher: ProductMatcher) -> list[Labels]:
        h = self.heads
        verdicts = h.verdicts(x, [p.lang for p in items])
        sent, comp, comp_on = verdicts.sentiment, verdicts.complaint_score, verdicts.complaint
        iss = h.issues.scores(x)
        iss_on = h.issues.decide(iss)
        urg = h.urgency.scores(x)
        urg_on = h.urgency.decide(urg)
        sev = h.severity.scores(x) if h.severity is not None else None
        out = []
        for row, p in enumerate(items):
            issues = [lab for lab, on in zip(h.issues.labels, iss_on[row], strict=True) if on]
            if not issues:
                # Every mention gets its most likely type rather than none.
                issues = [h.issues.labels[int(iss[row].argmax())]]
            urgency_scores = {lab: float(urg[row, j]) for j, lab in enumerate(h.urgency.labels)}
            urgent = {lab for lab, on in zip(h.urgency.labels, urg_on[row], strict=True) if on}
            for kind in keyword_urgency(p.clean.text):
                urgent.add(kind)
                urgency_scores[kind] = max(urgency_scores.get(kind, 0.0), KEYWORD_SCORE)
            severity, severity_scores = self._severity(sev, row, bool(comp_on[row]))
            out.append(
                Labels(
                    model_version=self.model_version,
                    language=p.lang,
                    language_score=round(p.lang_score, 4),
                    sentiment=h.sentiment.labels[int(sent[row].argmax())],
                    sentiment_scores={
                        lab: float(sent[row, j]) for j, lab in enumerate(h.sentiment.labels)
                    },
                    complaint=bool(comp_on[row]),
                    complaint_score=float(comp[row]),
                    issues=issues,
                    issue_scores={lab: float(iss[row, j]) for j, lab in enumerate(h.issues.labels)},
                    urgency=[lab for lab in h.urgency.labels if lab in urgent],
                    urgency_scores=urgency_scores,
                    severity=severity,
                    severity_scores=severity_scores,
                    products=matcher.match(p.clean.text),
                    embedding=x[row] if self.return_embeddings else None,
                    truncated=p.clean.truncated,
                )
            )
        return out

    def _severity(
        self, scores: Array | None, row: int, complaint: bool
    ) -> tuple[str | None, dict[str, float]]:
        """The severity of a complaint; a mention that is no complaint blames nobody."""
        head = self.heads.severity
        if head is None or scores is None:
            return None, {}
        by_label = {lab: float(scores[row, j]) for j, lab in enumerate(head.labels)}
        if not complaint:
            return head.labels[0], by_label
        # For a complaint, "none" would contradict the complaint label: the likeliest other.
        return max(head.labels[1:], key=lambda lab: by_label[lab]), by_label
