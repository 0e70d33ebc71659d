"""Care heads: sentiment and complaint as customers write to a brand, blended with the
general heads.

    python -m classify.care_heads --datasets ../shared/datasets [--heads DIR]

The general heads learn from tweets (TweetEval, UMSAB Italian) and the public care sets. On
short customer-care mentions, a brand's stream and product reviews they are weakest in
Italian (the hand-made sets' dev split: Italian sentiment right 7 times in 10, complaint F1
0.77). The care heads are logistic regressions on the same embeddings, trained on

- our own hand-made posts: the `dev` splits of `classify/data`'s care mentions, brand
  streams, review sentences and reviews (1-2 stars negative, 4-5 positive) and the seed
  posts' `train` split
  (complaint when a defect, delivery, billing or service issue; praise positive), each
  weighted `HAND_MADE_WEIGHT`;
- a fixed sample of the public training splits (tweets in both languages, Italian tweets to
  public services, financial-service tweets, product reviews, the complaints corpus), which
  keeps them from forgetting how people write elsewhere.

The classifier mixes their probabilities into the general heads' with the weight in each
head's `meta["blend"]`; the complaint decision uses the care head's threshold. C, the blend
weights and the threshold are chosen on out-of-fold predictions for the hand-made rows and
on the public validation splits, each part weighing the same; the card records every part
before and after, so what the mix costs on general tweets is written next to what it gains
on text addressed to a brand. No test split is read.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import KFold, StratifiedKFold  # type: ignore[import-untyped]

from classify.care_sets import CARE_SETS, care_set
from classify.datasets import SENTIMENT_LABELS, complaints, prepare, sentiment_splits
from classify.embedding_cache import cached_encode, default_cache_dir
from classify.encoders import Encoder, build_encoder
from classify.fitting import (
    binary_ece,
    fit_platt,
    fit_softmax,
    fit_temperature,
    macro_f1,
    macro_recall,
    softmax_ece,
)
from classify.head_set import (
    ANY_LANGUAGE,
    CARD,
    HeadSet,
    decide_together,
    default_head_dir,
    platt,
    save_heads,
    temper,
)
from classify.heads import Array, Head
from classify.pipeline import DEFAULT_ENCODER

log = logging.getLogger("classify.care_heads")

HAND_MADE_DIR = Path(__file__).resolve().parent / "data"
HAND_MADE_WEIGHT = 2.0
CARE_SENTIMENT, CARE_COMPLAINT = "care_sentiment", "care_complaint"
TASKS = ("sentiment", "complaint")
COMPLAINT_LABELS = ("other", "complaint")
C_GRID = (1.0, 3.0)
SENTIMENT_BLENDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
COMPLAINT_BLENDS = (0.3, 0.5, 0.7, 1.0)
# Complaint scores above which a post read as positive is taken as sarcasm (None: never).
SARCASM_OVERRIDES = (None, 0.9, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55)
# Public training rows sampled per set (fixed seed): enough to anchor the heads to each way
# of writing, few enough that the hand-made posts still count.
PUBLIC_SAMPLE = {
    "tweeteval_sentiment": 1200,
    "xlmt_sentiment_it": 1200,
    "it_public_service_tweets": 1200,
    "x_fincorp": 800,
    "cesamard_aspect": 800,
    "complaints": 800,
}
CV_FOLDS = 5
# Hand-made mention files (classify/data/README.md): sentiment and complaint per post.
MENTION_SETS = (
    "care_mentions",
    "care_mentions_more",
    "care_mentions_hard",
    "brand_stream",
    "brand_stream_more",
)
_COMPLAINT_ISSUES = {"defect", "delivery", "billing", "service"}


@dataclass
class Rows:
    """Texts of one source with their labels (None: not labelled for that task)."""

    name: str
    lang: str
    texts: list[str]
    sentiment: list[int | None]
    complaint: list[int | None]


def hand_made_rows() -> list[Rows]:
    """The hand-made posts a care head may learn from: dev splits and seed train posts."""
    out = []
    for name in MENTION_SETS:
        for lang in ("it", "en"):
            rows = [r for r in _jsonl(name) if r["split"] == "dev" and r["lang"] == lang]
            out.append(
                Rows(
                    f"{name}_{lang}",
                    lang,
                    [str(r["text"]) for r in rows],
                    [SENTIMENT_LABELS.index(str(r["sentiment"])) for r in rows],
                    [int(bool(r["complaint"])) for r in rows],
                )
            )
    for lang in ("it", "en"):
        rows = [r for r in _jsonl("review_sentences") if r["split"] == "dev" and r["lang"] == lang]
        out.append(
            Rows(
                f"review_sentences_{lang}",
                lang,
                [str(r["text"]) for r in rows],
                [SENTIMENT_LABELS.index(str(r["polarity"])) for r in rows],
                [None] * len(rows),
            )
        )
    for name, lang in (("italian_reviews", "it"), ("english_reviews", "en")):
        rows = [r for r in _jsonl(name) if r["split"] == "dev" and r["stars"] != 3]
        out.append(
            Rows(
                name,
                lang,
                [str(r["text"]) for r in rows],
                [0 if int(r["stars"]) <= 2 else 2 for r in rows],
                [None] * len(rows),
            )
        )
    seed = [r for r in _jsonl("issue_seed") if r["split"] == "train"]
    for lang in ("it", "en"):
        rows = [r for r in seed if r["lang"] == lang]
        issues = [set(r["issues"]) for r in rows]
        out.append(
            Rows(
                f"seed_{lang}",
                lang,
                [str(r["text"]) for r in rows],
                [0 if i & _COMPLAINT_ISSUES else (2 if i == {"praise"} else None) for i in issues],
                [int(bool(i & _COMPLAINT_ISSUES)) for i in issues],
            )
        )
    return out


def public_rows(datasets_dir: Path, split: str, seed: int = 0) -> list[Rows]:
    """A fixed sample of the public `train` splits, or all of their `val` splits."""
    rng = random.Random(seed)

    def cut(name: str, pairs: list[tuple[str, int | None, int | None]]) -> list[Any]:
        if split == "train":
            rng.shuffle(pairs)
            pairs = pairs[: PUBLIC_SAMPLE[name]]
        return pairs

    out = []
    sent = sentiment_splits(datasets_dir)
    for name, key, lang in (
        ("tweeteval_sentiment", "tweeteval", "en"),
        ("xlmt_sentiment_it", "it", "it"),
    ):
        part = sent[f"{key}_{split}"]
        pairs = cut(name, [(t, int(y), None) for t, y in zip(part.texts, part.labels, strict=True)])
        out.append(_rows(name, lang, pairs))
    for name in (n for n in PUBLIC_SAMPLE if n in CARE_SETS):
        care = care_set(datasets_dir, name, split)
        pairs = cut(
            name,
            [
                (
                    r.text,
                    None if r.sentiment is None else int(r.sentiment),
                    None if r.complaint is None else int(r.complaint),
                )
                for r in care
            ],
        )
        out.append(_rows(name, care[0].lang if care else "en", pairs))
    if split == "train":
        comp = complaints(datasets_dir)
        pairs = cut(
            "complaints", [(t, None, int(y)) for t, y in zip(comp.texts, comp.labels, strict=True)]
        )
        out.append(_rows("complaints", "en", pairs))
    return out


def fit_care_heads(
    encoder: Encoder,
    general: HeadSet,
    datasets_dir: Path,
    cache: Path | None,
    seed: int = 0,
) -> tuple[list[Head], dict[str, Any]]:
    """Fit both care heads, each blended with `general`'s heads; returns them and what the
    card records (the chosen settings and, per part, the figures before and after)."""
    # The general heads alone: care heads already in the folder are what is being replaced.
    general = dataclasses.replace(general, care_sentiment=None, care_complaint=None)
    hand = [r for r in hand_made_rows() if r.texts]
    public = [r for r in public_rows(datasets_dir, "train", seed) if r.texts]
    val = [r for r in public_rows(datasets_dir, "val", seed) if r.texts]
    embedded = {
        id(r): cached_encode(encoder, prepare(r.texts), cache) for r in (*hand, *public, *val)
    }
    rows = {task: _TaskRows.of(task, hand, public, val, embedded) for task in TASKS}
    sentiment, sentiment_card = _fit_sentiment(general, rows["sentiment"], seed)
    read_as = _sentiment_as_read(rows["complaint"], rows["sentiment"], general, sentiment, seed)
    complaint, complaint_card = _fit_complaint(general, rows["complaint"], read_as, seed)
    return [sentiment, complaint], {
        "data": "hand-made posts (classify/data: "
        + ", ".join((*MENTION_SETS, "review_sentences", "italian_reviews", "english_reviews"))
        + " split=dev, issue_seed split=train) weighted "
        f"{HAND_MADE_WEIGHT:g} + a fixed sample of the public train splits "
        f"({', '.join(f'{k} {v}' for k, v in PUBLIC_SAMPLE.items())}); C, blend and "
        f"threshold from {CV_FOLDS}-fold out-of-fold scores of the hand-made rows and the "
        "public validation splits, each part weighing the same; no test split read",
        CARE_SENTIMENT: sentiment_card,
        CARE_COMPLAINT: complaint_card,
    }


def _stack(
    rows: Sequence[Rows], embedded: dict[int, Array], task: str
) -> tuple[Array, npt.NDArray[np.int64], list[str], list[str], list[str]]:
    """Embeddings and labels of the rows labelled for `task`, with each row's part,
    language and key (the same post has the same key in every task)."""
    xs: list[Array] = []
    ys: list[int] = []
    parts: list[str] = []
    langs: list[str] = []
    keys: list[str] = []
    for r in rows:
        labels = r.sentiment if task == "sentiment" else r.complaint
        keep = [i for i, y in enumerate(labels) if y is not None]
        if not keep:
            continue
        xs.append(embedded[id(r)][keep])
        ys.extend(int(labels[i] or 0) for i in keep)
        parts.extend([r.name] * len(keep))
        langs.extend([r.lang] * len(keep))
        keys.extend(f"{r.name}:{i}" for i in keep)
    return np.concatenate(xs), np.array(ys, np.int64), parts, langs, keys


def _oof(
    x_hand: Array,
    y_hand: npt.NDArray[np.int64],
    x_pub: Array,
    y_pub: npt.NDArray[np.int64],
    labels: Sequence[str],
    c: float,
    seed: int,
) -> tuple[Array, Head]:
    """Out-of-fold probabilities for the hand-made rows (the public rows always train) and
    the head fitted on everything."""

    oof = np.zeros((len(y_hand), len(labels)), np.float32)
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    for train, held in folds.split(x_hand, y_hand):
        head = _fit(x_hand[train], y_hand[train], x_pub, y_pub, labels, c, seed)
        oof[held] = head.scores(x_hand[held])
    return oof, _fit(x_hand, y_hand, x_pub, y_pub, labels, c, seed)


def _fit(
    x_hand: Array,
    y_hand: npt.NDArray[np.int64],
    x_pub: Array,
    y_pub: npt.NDArray[np.int64],
    labels: Sequence[str],
    c: float,
    seed: int,
) -> Head:
    """A care head on hand-made rows (weighted) and public rows."""
    x = np.concatenate([x_hand, x_pub])
    y = np.concatenate([y_hand, y_pub])
    weight = np.concatenate([np.full(len(y_hand), HAND_MADE_WEIGHT), np.ones(len(y_pub))])
    return fit_softmax(x, y, labels, c, sample_weight=weight, seed=seed)


def _sentiment_score(part: str, y: npt.NDArray[np.int64], probs: Array) -> float:
    pred = probs.argmax(1)
    if part.startswith(("care_mentions", "brand_stream", "review_sentences")):
        return float(np.mean(pred == y))
    if part.endswith("reviews") or part.startswith("seed"):
        # Polarity as stars read it: positive beats negative or not.
        return float(np.mean((probs[:, 2] > probs[:, 0]) == (y == 2)))
    if part == "tweeteval_sentiment":
        return macro_recall(y, pred)
    return macro_f1(y, pred)


def _by_part(parts: Sequence[str]) -> dict[str, npt.NDArray[np.intp]]:
    names = np.array(parts)
    return {name: np.flatnonzero(names == name) for name in dict.fromkeys(parts)}


@dataclass
class _TaskRows:
    """One task's rows: hand-made (scored out of fold), public training, public validation,
    and each scored part's row positions ("val:" before a validation set's name)."""

    x_hand: Array
    y_hand: npt.NDArray[np.int64]
    lang_hand: list[str]
    key_hand: list[str]
    x_public: Array
    y_public: npt.NDArray[np.int64]
    x_val: Array
    y_val: npt.NDArray[np.int64]
    lang_val: list[str]
    parts: dict[str, npt.NDArray[np.intp]]

    @classmethod
    def of(
        cls,
        task: str,
        hand: Sequence[Rows],
        public: Sequence[Rows],
        val: Sequence[Rows],
        embedded: dict[int, Array],
    ) -> _TaskRows:
        x_h, y_h, p_h, l_h, k_h = _stack(hand, embedded, task)
        x_p, y_p, _, _, _ = _stack(public, embedded, task)
        x_v, y_v, p_v, l_v, _ = _stack(val, embedded, task)
        parts = {**_by_part(p_h), **{f"val:{k}": v for k, v in _by_part(p_v).items()}}
        return cls(x_h, y_h, l_h, k_h, x_p, y_p, x_v, y_v, l_v, parts)

    def card(
        self,
        chosen: dict[str, float | None],
        grid: list[dict[str, float | None]],
        before: dict[str, float],
        after: dict[str, float],
        mean: float,
    ) -> dict[str, Any]:
        """What the heads' card records of the chosen head."""
        return {
            "chosen": {**chosen, "cv_and_val_mean": round(mean, 4)},
            "grid": grid,
            "figures_before": _rounded(before),
            "per_set": _rounded(after),
            "n_train": len(self.y_hand) + len(self.y_public),
            "n_hand_made": len(self.y_hand),
            "n_public": len(self.y_public),
        }


def _fit_sentiment(general: HeadSet, t: _TaskRows, seed: int) -> tuple[Head, dict[str, Any]]:
    x_h, y_h, x_v, y_v, parts = t.x_hand, t.y_hand, t.x_val, t.y_val, t.parts
    base_h = general.sentiment_scores(x_h, t.lang_hand)
    base_v = general.sentiment_scores(x_v, t.lang_val)

    def figures(blend: float, care_h: Array, care_v: Array) -> dict[str, float]:
        mixed_h = (1 - blend) * base_h + blend * care_h
        mixed_v = (1 - blend) * base_v + blend * care_v
        out = {}
        for name, rows in parts.items():
            if name.startswith("val:"):
                out[name] = _sentiment_score(name[4:], y_v[rows], mixed_v[rows])
            else:
                out[name] = _sentiment_score(name, y_h[rows], mixed_h[rows])
        return out

    grid: list[dict[str, float | None]] = []
    best = None
    for c in C_GRID:
        oof, head = _oof(x_h, y_h, t.x_public, t.y_public, SENTIMENT_LABELS, c, seed)
        care_v = head.scores(x_v)
        for blend in SENTIMENT_BLENDS:
            got = figures(blend, oof, care_v)
            mean = float(np.mean(list(got.values())))
            grid.append({"C": c, "blend": blend, "mean": round(mean, 4)})
            if best is None or mean > best[0]:
                best = (mean, c, blend, head, got, oof, care_v)
    assert best is not None
    _, c, blend, head, got, oof, care_v = best
    head.name = CARE_SENTIMENT
    mixed = np.concatenate(
        [(1 - blend) * base_h + blend * oof, (1 - blend) * base_v + blend * care_v]
    )
    y = np.concatenate([y_h, y_v])
    langs = [*t.lang_hand, *t.lang_val]
    temperatures = {
        lang: fit_temperature(np.log(np.clip(mixed[rows], 1e-7, 1.0)), y[rows])
        for lang, rows in _languages(langs).items()
    }
    tempered = temper(mixed, langs, temperatures)
    calibration = {
        lang: {
            "ece_before": round(softmax_ece(mixed[rows], y[rows]), 4),
            "ece_after": round(softmax_ece(tempered[rows], y[rows]), 4),
            "temperature": round(temperatures[lang], 4),
        }
        for lang, rows in _languages(langs).items()
    }
    head.meta.update(blend=blend, task="sentiment", C=c, temperature=temperatures)
    before = figures(0.0, base_h, base_v)
    card = t.card({"C": c, "blend": blend}, grid, before, got, best[0])
    return head, {**card, "calibration": calibration}


def _f1(truth: npt.NDArray[np.bool_], on: npt.NDArray[np.bool_]) -> float:
    """F1 of the positive class (0 when there is nothing to find and nothing found); the
    grid scores it thousands of times, so numpy rather than sklearn."""
    found = int(truth.sum()) + int(on.sum())
    return 2 * int((truth & on).sum()) / found if found else 0.0


def _languages(langs: Sequence[str]) -> dict[str, npt.NDArray[np.intp]]:
    """Row positions per language, and all rows under "*" (the other languages')."""
    names = np.array(langs)
    out = {lang: np.flatnonzero(names == lang) for lang in sorted(set(langs))}
    return {**out, ANY_LANGUAGE: np.arange(len(langs))}


def _sentiment_as_read(
    target: _TaskRows, source: _TaskRows, general: HeadSet, care: Head, seed: int
) -> tuple[Array, Array]:
    """Sentiment of `target`'s rows as the classifier will read them, general and care
    heads mixed: out of fold for the hand-made rows (no care head reads a post it learnt
    from), the fitted care head for the validation rows."""
    blend, c = float(care.meta["blend"]), float(care.meta["C"])
    care_h = np.zeros((len(target.y_hand), len(SENTIMENT_LABELS)), np.float32)
    for _, held in KFold(CV_FOLDS, shuffle=True, random_state=seed).split(target.x_hand):
        held_keys = {target.key_hand[i] for i in held}
        learn = np.array([key not in held_keys for key in source.key_hand], bool)
        head = _fit(
            source.x_hand[learn],
            source.y_hand[learn],
            source.x_public,
            source.y_public,
            SENTIMENT_LABELS,
            c,
            seed,
        )
        care_h[held] = head.scores(target.x_hand[held])
    base_h = general.sentiment_scores(target.x_hand, target.lang_hand)
    base_v = general.sentiment_scores(target.x_val, target.lang_val)
    return (1 - blend) * base_h + blend * care_h, (1 - blend) * base_v + blend * care.scores(
        target.x_val
    )


def _fit_complaint(
    general: HeadSet, t: _TaskRows, read_as: tuple[Array, Array], seed: int
) -> tuple[Head, dict[str, Any]]:
    """The care complaint head with its blend, threshold and sarcasm override (the
    complaint score above which a post read as positive is a complaint all the same)."""
    x_h, y_h, x_v, y_v, parts = t.x_hand, t.y_hand, t.x_val, t.y_val, t.parts
    base_h, general_t = general.complaint_scores(x_h)
    base_v, _ = general.complaint_scores(x_v)

    def figures(
        sent: tuple[Array, Array],
        score: tuple[Array, Array],
        threshold: float,
        override: float | None,
    ) -> dict[str, float]:
        on_h, on_v = (
            decide_together(s, c, threshold, override, SENTIMENT_LABELS).complaint
            for s, c in zip(sent, score, strict=True)
        )
        out = {}
        for name, rows in parts.items():
            truth = (y_v if name.startswith("val:") else y_h)[rows].astype(bool)
            on = (on_v if name.startswith("val:") else on_h)[rows]
            out[name] = _f1(truth, on)
        return out

    grid: list[dict[str, float | None]] = []
    best = None
    for c in C_GRID:
        oof, head = _oof(x_h, y_h, t.x_public, t.y_public, COMPLAINT_LABELS, c, seed)
        care_v = head.scores(x_v)[:, 1]
        for blend in COMPLAINT_BLENDS:
            mixed_h = (1 - blend) * base_h + blend * oof[:, 1]
            mixed = (mixed_h, (1 - blend) * base_v + blend * care_v)
            for override in SARCASM_OVERRIDES:
                threshold, got = max(
                    (
                        (float(t), figures(read_as, mixed, float(t), override))
                        for t in np.round(np.arange(0.2, 0.8, 0.025), 3)
                        if override is None or t < override
                    ),
                    key=lambda pair: float(np.mean(list(pair[1].values()))),
                )
                mean = float(np.mean(list(got.values())))
                grid.append(
                    {
                        "C": c,
                        "blend": blend,
                        "sarcasm_override": override,
                        "threshold": threshold,
                        "mean": round(mean, 4),
                    }
                )
                if best is None or mean > best[0]:
                    best = (mean, c, blend, override, threshold, head, got, mixed)
    assert best is not None
    _, c, blend, override, threshold, head, got, mixed = best
    head.name = CARE_COMPLAINT
    score = np.concatenate(mixed)
    y = np.concatenate([y_h, y_v]).astype(bool)
    langs = [*t.lang_hand, *t.lang_val]
    p = np.clip(score, 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p)).astype(np.float32)
    scaling = {
        lang: list(fit_platt(logit[rows], y[rows])) for lang, rows in _languages(langs).items()
    }
    calibrated = platt(score, langs, scaling)
    calibration = {
        lang: {
            "ece_before": round(binary_ece(score[rows], y[rows]), 4),
            "ece_after": round(binary_ece(calibrated[rows], y[rows]), 4),
            "platt": [round(v, 4) for v in scaling[lang]],
        }
        for lang, rows in _languages(langs).items()
    }
    head.meta.update(blend=blend, task="complaint", C=c, sarcasm_override=override, platt=scaling)
    head.thresholds = [threshold]
    general_read = (
        general.sentiment_scores(x_h, t.lang_hand),
        general.sentiment_scores(x_v, t.lang_val),
    )
    before = figures(general_read, (base_h, base_v), general_t, None)
    chosen = {"C": c, "blend": blend, "threshold": threshold, "sarcasm_override": override}
    return head, {**t.card(chosen, grid, before, got, best[0]), "calibration": calibration}


def add_care_heads(
    datasets_dir: Path,
    folder: Path | None = None,
    *,
    encoder_name: str = DEFAULT_ENCODER,
    model: str | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Fit the care heads for the heads in `folder` (default: those shipped for the
    encoder), save them beside those and record them in the card (a new heads version)."""
    encoder = build_encoder(encoder_name, model)
    folder = folder or default_head_dir(encoder.version)
    general = HeadSet.load(folder, encoder.version)
    cache = cache_dir or default_cache_dir()
    heads, note = fit_care_heads(encoder, general, datasets_dir, cache, seed)
    card = general.card
    for name in (CARE_SENTIMENT, CARE_COMPLAINT):
        card["heads"][name] = note[name]
        card["data"][name] = note["data"]
    card["care_added"] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "from_heads_version": card.get("heads_version"),
    }
    every = [
        general.sentiment,
        general.sentiment_it,
        general.complaint,
        general.issues,
        general.urgency,
        *([general.severity] if general.severity is not None else []),
        *heads,
    ]
    card["heads_version"] = save_heads(every, folder)
    (folder / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return card


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in figures.items()}


def _jsonl(name: str) -> list[dict[str, Any]]:
    path = HAND_MADE_DIR / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _rows(name: str, lang: str, pairs: Sequence[tuple[str, int | None, int | None]]) -> Rows:
    return Rows(name, lang, [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classify.care_heads", description=__doc__)
    parser.add_argument("--datasets", type=Path, required=True)
    parser.add_argument("--heads", type=Path, help="head directory (default: shipped heads)")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--model", default=None)
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: user cache)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    card = add_care_heads(
        args.datasets,
        args.heads,
        encoder_name=args.encoder,
        model=args.model,
        seed=args.seed,
        cache_dir=args.cache_dir,
    )
    care = card["heads"]
    print(
        json.dumps(
            {
                "heads_version": card["heads_version"],
                **{
                    name: {k: care[name][k] for k in ("chosen", "figures_before", "per_set")}
                    for name in (CARE_SENTIMENT, CARE_COMPLAINT)
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
