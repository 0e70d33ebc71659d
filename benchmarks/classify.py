"""Benchmark the classifier on official test splits, against baselines, and its speed.

    python benchmarks/classify.py --datasets ../shared/datasets

Prints a table and writes benchmarks/results/classify.json. This is the only place that
reads test splits. Embeddings are cached (ASCOLTO_CLASSIFY_CACHE_DIR or --cache-dir), so a
rerun costs minutes, not the ~25 min of a cold e5 pass over 19k texts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (  # type: ignore[import-untyped]
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
)
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classify.care_heads import MENTION_SETS  # noqa: E402
from classify.care_sets import SEVERITY_LABELS  # noqa: E402
from classify.cleaning import clean  # noqa: E402
from classify.datasets import (  # noqa: E402
    ISSUE_TYPES,
    SENTIMENT_LABELS,
    URGENCY_TYPES,
    complaints,
    prepare,
    read_seed,
)
from classify.embedding_cache import cached_encode, encode_in_batches  # noqa: E402
from classify.fitting import binary_ece, softmax_ece  # noqa: E402
from classify.labels import Labels  # noqa: E402
from classify.pipeline import Classifier, ClassifierSettings, Text  # noqa: E402
from classify.test_splits import (  # noqa: E402
    app_reviews,
    care_test,
    hand_made_test,
    italian_test,
    tweeteval_test,
)
from classify.train import COMPLAINT_C, SEED_FILE, train_binary  # noqa: E402
from classify.urgency_rules import keyword_urgency  # noqa: E402

PUBLISHED = {
    "tweeteval_sentiment_macro_recall": (0.737, "TimeLMs-2021, TweetEval leaderboard"),
    "italian_sentiment_macro_f1": (0.715, "XLM-R monolingual, XLM-T paper (UMSAB it)"),
    "complaints_f1": (0.79, "Preotiuc-Pietro et al. 2019, cross-validated"),
}
# Maalej et al. types mapped onto ours, one class per review (first rule that applies):
# Bug -> defect; Rating with 4-5 stars -> praise; everything else (feature requests, user
# experience reports, low-star ratings) -> other. Feature requests are "other" because our
# scheme has no suggestion type; low-star ratings carry no issue our types name.
APP_CLASSES = ("defect", "praise", "other")


def vader_scores(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
        SentimentIntensityAnalyzer,
    )

    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts])


def vader_sentiment(texts: list[str]) -> np.ndarray:
    c = vader_scores(texts)
    # The thresholds VADER's authors recommend.
    return np.where(c >= 0.05, 2, np.where(c <= -0.05, 0, 1))


def sentiment_block(clf: Classifier, cache: Path | None, datasets: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    majority = 1  # neutral is the largest class of TweetEval's training data
    general = general_heads(clf)
    for key, split, metric in (
        ("tweeteval_sentiment_macro_recall", tweeteval_test(datasets), "recall"),
        ("italian_sentiment_macro_f1", italian_test(datasets), "f1"),
    ):
        y = np.array(split.labels)
        x = cached_encode(clf.encoder, split.texts, cache)
        # As in the pipeline: detected language picks the head (Italian head for "it").
        langs = [code for code, _ in clf.languages.detect(split.texts)]
        pred = clf.heads.sentiment_scores(x, langs).argmax(1)
        multilingual_only = clf.heads.sentiment.scores(x).argmax(1)

        def score(p: np.ndarray, y: np.ndarray = y, metric: str = metric) -> float:
            if metric == "recall":
                return float(recall_score(y, p, average="macro"))
            return float(f1_score(y, p, average="macro"))

        out[key] = {
            "n": len(y),
            "ours": score(pred),
            "ours_multilingual_head_only": score(multilingual_only),
            **(
                {"general_heads_only": score(general.heads.sentiment_scores(x, langs).argmax(1))}
                if general is not None
                else {}
            ),
            "published": PUBLISHED[key][0],
            "published_by": PUBLISHED[key][1],
            "vader": score(vader_sentiment(split.texts)),
            "majority": score(np.full_like(y, majority)),
        }
    return out


def complaint_block(clf: Classifier, cache: Path | None, datasets: Path) -> dict[str, Any]:
    """10-fold CV as the paper did; C and threshold chosen inside each training fold."""
    data = complaints(datasets)
    x = cached_encode(clf.encoder, data.texts, cache)
    y = np.array(data.labels, bool)
    pred = np.zeros_like(y)
    folds = StratifiedKFold(n_splits=10, shuffle=True, random_state=0)
    for tr, te in folds.split(x, y):
        head, _ = train_binary(x[tr], y[tr, None], ["complaint"], COMPLAINT_C, 0, "complaint")
        pred[te] = head.decide(head.scores(x[te]))[:, 0]
    vader = vader_scores(data.texts) <= -0.05
    res: dict[str, Any] = {"n": len(y), "protocol": "10-fold stratified CV, nested tuning"}
    for name, p in (("ours", pred), ("vader", vader), ("majority", np.zeros_like(y))):
        res[name] = {
            "f1_complaint": float(f1_score(y, p, zero_division=0)),
            "macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
            "accuracy": float(accuracy_score(y, p)),
        }
    res["published_f1"] = PUBLISHED["complaints_f1"][0]
    res["published_by"] = PUBLISHED["complaints_f1"][1]
    return res


def app_review_block(clf: Classifier, cache: Path | None, datasets: Path) -> dict[str, Any]:
    reviews = app_reviews(datasets)
    gold = []
    for r in reviews:
        types = r["types"]
        assert isinstance(types, set)
        rating = r.get("rating")
        stars = (
            int(rating) if isinstance(rating, int | float | str) and str(rating).isdigit() else 0
        )
        if "Bug" in types:
            gold.append(0)
        elif "Rating" in types and stars >= 4:
            gold.append(1)
        else:
            gold.append(2)
    y = np.array(gold)
    texts = [clean(str(r["text"])).text for r in reviews]
    x = cached_encode(clf.encoder, texts, cache)
    probs = clf.heads.issues.scores(x)
    on = clf.heads.issues.decide(probs)
    d, p = ISSUE_TYPES.index("defect"), ISSUE_TYPES.index("praise")
    # Our head is multi-label; a review is "defect" if that label fires (it wins over
    # praise, as in the gold mapping), "praise" if praise fires, else "other".
    pred = np.where(on[:, d], 0, np.where(on[:, p], 1, 2))
    vader = np.where(vader_scores(texts) >= 0.05, 1, 2)
    majority = np.full_like(y, np.bincount(y).argmax())
    res: dict[str, Any] = {
        "n": len(y),
        "mapping": "Bug->defect; Rating with >=4 stars->praise; the rest->other",
        "class_counts": {c: int((y == i).sum()) for i, c in enumerate(APP_CLASSES)},
    }
    for name, pr in (("ours", pred), ("vader", vader), ("majority", majority)):
        res[name] = {
            "macro_f1": float(f1_score(y, pr, average="macro", labels=[0, 1, 2], zero_division=0)),
            "per_class_f1": dict(
                zip(
                    APP_CLASSES,
                    f1_score(y, pr, average=None, labels=[0, 1, 2], zero_division=0).tolist(),
                    strict=True,
                )
            ),
        }
    return res


def seed_block(clf: Classifier, cache: Path | None) -> dict[str, Any]:
    test = [ex for ex in read_seed(SEED_FILE) if ex.split == "test"]
    x = cached_encode(clf.encoder, prepare([ex.text for ex in test]), cache)
    res: dict[str, Any] = {"n": len(test)}
    yi = np.array([[t in (ex.issues or []) for t in ISSUE_TYPES] for ex in test])
    pi = clf.heads.issues.decide(clf.heads.issues.scores(x))
    res["issues_macro_f1"] = float(f1_score(yi, pi, average="macro", zero_division=0))
    res["issues_per_type_f1"] = dict(
        zip(ISSUE_TYPES, f1_score(yi, pi, average=None, zero_division=0).tolist(), strict=True)
    )
    for lang in ("en", "it"):
        m = np.array([ex.lang == lang for ex in test])
        res[f"issues_macro_f1_{lang}"] = float(
            f1_score(yi[m], pi[m], average="macro", zero_division=0)
        )
    yu = np.array([[t in (ex.urgency or []) for t in URGENCY_TYPES] for ex in test])
    head = clf.heads.urgency.decide(clf.heads.urgency.scores(x))
    kw = np.array(
        [[t in keyword_urgency(clean(ex.text).text) for t in URGENCY_TYPES] for ex in test]
    )
    for name, pu in (
        ("urgency_head_only", head),
        ("urgency_keywords_only", kw),
        ("urgency_combined", head | kw),
    ):
        res[name] = {
            "micro_f1": float(f1_score(yu, pu, average="micro", zero_division=0)),
            "per_type_f1": dict(
                zip(
                    URGENCY_TYPES,
                    f1_score(yu, pu, average=None, zero_division=0).tolist(),
                    strict=True,
                )
            ),
        }
    return res


def _sentiment_probs(lab: Labels) -> list[float]:
    """The sentiment probabilities; a text the pipeline could not classify (empty after
    cleaning, only a link) reads as neutral, as the service stores it."""
    if not lab.sentiment_scores:
        return [0.0, 1.0, 0.0]
    return [lab.sentiment_scores[k] for k in SENTIMENT_LABELS]


def _sentiment_of(labels: list[Labels]) -> np.ndarray:
    return np.array([SENTIMENT_LABELS.index(lab.sentiment or "neutral") for lab in labels])


def _sentiment_figures(
    labels: list[Labels],
    gold: list[int],
    texts: list[str],
    vader: bool,
    general: list[Labels] | None = None,
) -> dict[str, Any]:
    """Macro-F1 and accuracy over negative/neutral/positive, against the baselines (and the
    general heads without the care heads), and the calibration (ECE) of the probabilities
    the pipeline gave."""
    y = np.array(gold)
    pred = _sentiment_of(labels)
    probs = np.array([_sentiment_probs(lab) for lab in labels])
    majority = np.full_like(y, 1)  # neutral: the commonest class in the training data
    out: dict[str, Any] = {
        "n": len(y),
        "macro_f1": {
            "ours": float(f1_score(y, pred, average="macro", labels=[0, 1, 2], zero_division=0)),
            "majority": float(
                f1_score(y, majority, average="macro", labels=[0, 1, 2], zero_division=0)
            ),
        },
        "accuracy": {
            "ours": float(accuracy_score(y, pred)),
            "majority": float(accuracy_score(y, majority)),
        },
        "ece": softmax_ece(probs.astype(np.float32), y),
    }
    if vader:
        v = vader_sentiment(texts)
        out["macro_f1"]["vader"] = float(
            f1_score(y, v, average="macro", labels=[0, 1, 2], zero_division=0)
        )
        out["accuracy"]["vader"] = float(accuracy_score(y, v))
    if general is not None:
        g = _sentiment_of(general)
        out["macro_f1"]["general_heads_only"] = float(
            f1_score(y, g, average="macro", labels=[0, 1, 2], zero_division=0)
        )
        out["accuracy"]["general_heads_only"] = float(accuracy_score(y, g))
    return out


def _complaint_figures(
    labels: list[Labels],
    gold: list[bool],
    texts: list[str],
    vader: bool,
    general: list[Labels] | None = None,
) -> dict[str, Any]:
    """Precision, recall and F1 of the complaint class, against the baselines (and the
    general heads without the care heads), and ECE."""
    y = np.array(gold, bool)
    pred = np.array([bool(lab.complaint) for lab in labels])
    probs = np.array([float(lab.complaint_score or 0.0) for lab in labels], np.float32)

    def prf(p: np.ndarray) -> dict[str, float]:
        return {
            "precision": float(precision_score(y, p, zero_division=0)),
            "recall": float(recall_score(y, p, zero_division=0)),
            "f1": float(f1_score(y, p, zero_division=0)),
        }

    out: dict[str, Any] = {"n": len(y), "positives": int(y.sum())}
    out["f1"] = {"ours": prf(pred)["f1"], "majority": prf(np.zeros_like(y))["f1"]}
    out["ours"] = prf(pred)
    if vader:
        # A negative VADER score as the complaint signal: the lexicon baseline.
        v = vader_scores(texts) <= -0.05
        out["f1"]["vader"] = prf(v)["f1"]
        out["vader"] = prf(v)
    if general is not None:
        g = np.array([bool(lab.complaint) for lab in general])
        out["f1"]["general_heads_only"] = prf(g)["f1"]
        out["general_heads_only"] = prf(g)
    out["ece"] = binary_ece(probs, y)
    return out


def general_heads(clf: Classifier) -> Classifier | None:
    """The same classifier without its care heads (None when it has none): the comparison
    that shows what the care heads add, in the same run."""
    if clf.heads.care_sentiment is None and clf.heads.care_complaint is None:
        return None
    heads = dataclasses.replace(clf.heads, care_sentiment=None, care_complaint=None)
    return Classifier(clf.encoder, heads, clf.languages, clf.batch_size, False)


def _pick(labels: list[Labels] | None, rows: list[int]) -> list[Labels] | None:
    return None if labels is None else [labels[i] for i in rows]


def care_sets_block(
    clf: Classifier, datasets: Path, general: Classifier | None = None
) -> dict[str, Any]:
    """The held-out test splits of the customer-care sets, through the whole pipeline."""
    out: dict[str, Any] = {}
    for name in ("it_public_service_tweets", "x_fincorp", "cesamard_aspect"):
        rows = care_test(datasets, name)
        texts = [r.text for r in rows]
        inputs = [Text(t, r.lang) for t, r in zip(texts, rows, strict=True)]
        labels = clf.classify(inputs)
        plain = general.classify(inputs) if general is not None else None
        english = rows[0].lang == "en"
        block: dict[str, Any] = {"lang": rows[0].lang}
        with_sentiment = [i for i, r in enumerate(rows) if r.sentiment is not None]
        if with_sentiment:
            block["sentiment"] = _sentiment_figures(
                [labels[i] for i in with_sentiment],
                [int(rows[i].sentiment or 0) for i in with_sentiment],
                [texts[i] for i in with_sentiment],
                vader=english,
                general=_pick(plain, with_sentiment),
            )
        if any(r.complaint is not None for r in rows):
            block["complaint"] = _complaint_figures(
                labels, [bool(r.complaint) for r in rows], texts, vader=english, general=plain
            )
        if any(r.severity is not None for r in rows) and any(lab.severity for lab in labels):
            y = np.array([SEVERITY_LABELS.index(str(r.severity)) for r in rows])
            pred = np.array([SEVERITY_LABELS.index(lab.severity or "none") for lab in labels])
            block["severity_macro_f1"] = {
                "ours": float(f1_score(y, pred, average="macro", zero_division=0)),
                "majority": float(
                    f1_score(y, np.full_like(y, np.bincount(y).argmax()), average="macro")
                ),
            }
        out[name] = block
    out["it_public_service_tweets"]["target_macro_f1"] = 0.70
    for name in ("x_fincorp", "cesamard_aspect"):
        out[name]["target_complaint_f1"] = 0.85
    return out


def hand_made_block(clf: Classifier, general: Classifier | None = None) -> dict[str, Any]:
    """The hand-made evaluation sets' test splits (classify/data/README.md), per language:
    short customer-care mentions, a brand's mixed stream and product reviews. The care
    heads learned from the dev splits of the same files (same writers, other posts): real
    mentions will score lower than these."""
    out: dict[str, Any] = {}
    for name in MENTION_SETS:
        rows = hand_made_test(name)
        block: dict[str, Any] = {}
        for lang in ("it", "en"):
            mine = [r for r in rows if r["lang"] == lang]
            texts = [str(r["text"]) for r in mine]
            labels = clf.classify(texts)
            plain = general.classify(texts) if general is not None else None
            block[lang] = {
                "sentiment": _sentiment_figures(
                    labels,
                    [SENTIMENT_LABELS.index(str(r["sentiment"])) for r in mine],
                    texts,
                    vader=lang == "en",
                    general=plain,
                ),
                "complaint": _complaint_figures(
                    labels,
                    [bool(r["complaint"]) for r in mine],
                    texts,
                    vader=lang == "en",
                    general=plain,
                ),
                "language_accuracy": float(np.mean([lab.language == lang for lab in labels])),
                "errors_by_kind": _errors_by_kind(mine, labels),
            }
        out[name] = block
    for name in MENTION_SETS:
        if name.startswith("brand_stream"):
            out[name]["target"] = {"complaint_precision": 0.9, "complaint_recall": 0.85}
        else:
            out[name]["target"] = {"sentiment_accuracy": 0.85, "complaint_f1": 0.85}
    out["review_sentences"] = review_sentences_block(clf, general)
    for name, lang in (("italian_reviews", "it"), ("english_reviews", "en")):
        rows = [r for r in hand_made_test(name) if r["stars"] != 3]
        texts = [str(r["text"]) for r in rows]
        y = np.array([int(str(r["stars"])) >= 4 for r in rows])
        block = {
            "lang": lang,
            "n": len(rows),
            "polarity_accuracy": {
                "ours": _polarity_accuracy(clf.classify(texts), y),
                "majority": float(max(y.mean(), 1 - y.mean())),
            },
        }
        if general is not None:
            block["polarity_accuracy"]["general_heads_only"] = _polarity_accuracy(
                general.classify(texts), y
            )
        if lang == "en":
            block["polarity_accuracy"]["vader"] = float(np.mean((vader_scores(texts) >= 0) == y))
        out[name] = block
    out["italian_reviews"]["target_polarity_accuracy"] = 0.90
    return out


def _errors_by_kind(rows: list[dict[str, Any]], labels: list[Labels]) -> dict[str, Any]:
    """Per kind of post (complaint, news, bot, joke...): how many, and how often the complaint
    flag and the sentiment were wrong, with the first wrong texts: the error analysis the model
    card's "what it still gets wrong" is written from."""
    out: dict[str, Any] = {}
    for row, lab in zip(rows, labels, strict=True):
        kind = out.setdefault(
            str(row.get("kind", "unknown")),
            {"n": 0, "complaint_wrong": 0, "sentiment_wrong": 0, "examples": []},
        )
        kind["n"] += 1
        complaint_wrong = bool(lab.complaint) != bool(row["complaint"])
        sentiment_wrong = (lab.sentiment or "neutral") != row["sentiment"]
        kind["complaint_wrong"] += complaint_wrong
        kind["sentiment_wrong"] += sentiment_wrong
        if (complaint_wrong or sentiment_wrong) and len(kind["examples"]) < 3:
            kind["examples"].append(
                {
                    "text": row["text"],
                    "gold": {"complaint": row["complaint"], "sentiment": row["sentiment"]},
                    "ours": {"complaint": lab.complaint, "sentiment": lab.sentiment},
                }
            )
    return dict(sorted(out.items()))


def review_sentences_block(clf: Classifier, general: Classifier | None) -> dict[str, Any]:
    """Single review sentences (hotels, products, restaurants) per language: three-way
    sentiment, and polarity on the sentences that have one (negative vs positive), overall
    and per domain."""
    out: dict[str, Any] = {}
    rows = hand_made_test("review_sentences")
    for lang in ("it", "en"):
        mine = [r for r in rows if r["lang"] == lang]
        texts = [str(r["text"]) for r in mine]
        labels = clf.classify(texts)
        plain = general.classify(texts) if general is not None else None
        gold = [SENTIMENT_LABELS.index(str(r["polarity"])) for r in mine]
        block: dict[str, Any] = {
            "sentiment": _sentiment_figures(labels, gold, texts, vader=lang == "en", general=plain),
            "polarity_accuracy": {},
        }
        polar = [i for i, g in enumerate(gold) if g != 1]
        domains = sorted({str(r["domain"]) for r in mine})
        for part in ("all", *domains):
            keep = [i for i in polar if part == "all" or mine[i]["domain"] == part]
            y = np.array([gold[i] == 2 for i in keep])
            figures = {"n": len(keep), "ours": _polarity_accuracy([labels[i] for i in keep], y)}
            if plain is not None:
                figures["general_heads_only"] = _polarity_accuracy([plain[i] for i in keep], y)
            if lang == "en":
                figures["vader"] = float(
                    np.mean((vader_scores([texts[i] for i in keep]) >= 0) == y)
                )
            figures["majority"] = float(max(y.mean(), 1 - y.mean()))
            block["polarity_accuracy"][part] = figures
        out[lang] = block
    out["it"]["target_hotel_polarity_accuracy"] = 0.88
    return out


def _polarity_accuracy(labels: list[Labels], positive: np.ndarray) -> float:
    """Polarity as a star rating reads it: positive beats negative or not."""
    pred = np.array([p[2] > p[0] for p in map(_sentiment_probs, labels)])
    return float(np.mean(pred == positive))


def language_block(clf: Classifier, datasets: Path) -> dict[str, Any]:
    en = tweeteval_test(datasets).texts[:1000]
    it = italian_test(datasets).texts
    texts = en + it
    start = time.perf_counter()
    got = clf.languages.detect(texts)
    elapsed = time.perf_counter() - start
    codes = [c for c, _ in got]
    return {
        "accuracy_en_tweets": sum(c == "en" for c in codes[: len(en)]) / len(en),
        "accuracy_it_tweets": sum(c == "it" for c in codes[len(en) :]) / len(it),
        "ms_per_text": 1000 * elapsed / len(texts),
        "candidates": list(clf.languages.languages),
    }


def speed_block(clf: Classifier, datasets: Path, n: int) -> dict[str, Any]:
    """Bare encoder forward pass vs the whole pipeline, on the same texts, alternating."""
    en = tweeteval_test(datasets).texts
    it = italian_test(datasets).texts
    raw = [t for pair in zip(en[: n // 2], it[: n // 2], strict=False) for t in pair][:n]
    cleaned = [clean(t).text for t in raw]
    texts = [Text(t) for t in raw]
    bare, full = [], []
    for _ in range(2):
        start = time.perf_counter()
        encode_in_batches(clf.encoder, cleaned, clf.batch_size)
        bare.append(len(raw) / (time.perf_counter() - start))
        start = time.perf_counter()
        clf.classify(texts)
        full.append(len(raw) / (time.perf_counter() - start))
    return {
        "n_texts": len(raw),
        "batch_size": clf.batch_size,
        "encoder_texts_per_s": max(bare),
        "pipeline_texts_per_s": max(full),
        "ratio": max(full) / max(bare),
        "target_ratio": 0.9,
    }


def memory_block(args: argparse.Namespace, datasets: Path) -> dict[str, Any]:
    """Peak RSS of a fresh process that only loads the classifier and classifies 256 texts.

    Read from the kernel's high-water mark of the process's own memory (VmHWM, see
    `benchmarks.memory`), not getrusage, which a child inherits from this larger process.
    """
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from classify.pipeline import Classifier, ClassifierSettings, Text
from classify.test_splits import tweeteval_test
from pathlib import Path
texts = tweeteval_test(Path({str(datasets)!r})).texts[:256]
clf = Classifier.from_settings(ClassifierSettings(encoder={args.encoder!r}, model={args.model!r}))
clf.classify([Text(t) for t in texts])
from benchmarks.memory import peak_mb
print(peak_mb())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"peak_rss_mb": float(done.stdout.strip().splitlines()[-1]), "limit_mb": 1536}


def _row(name: str, ours: float, published: float | None, baselines: str) -> str:
    gap = f"{ours - published:+.3f}" if published is not None else "   -  "
    pub = f"{published:.3f}" if published is not None else "  -  "
    return f"{name:<44} {ours:6.3f}  {pub:>6}  {gap:>7}  {baselines}"


def _baselines(figures: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in figures.items() if k != "ours")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--head-dir", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--speed-n", type=int, default=512)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "classify.json"
    )
    args = parser.parse_args()
    settings = ClassifierSettings(head_dir=args.head_dir, model=args.model)
    if args.encoder:
        settings = ClassifierSettings(
            encoder=args.encoder, model=args.model, head_dir=args.head_dir
        )
    args.encoder = settings.encoder
    clf = Classifier.from_settings(settings)
    started = time.time()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_version": clf.model_version,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    results["sentiment"] = sentiment_block(clf, args.cache_dir, args.datasets)
    results["complaints"] = complaint_block(clf, args.cache_dir, args.datasets)
    results["app_reviews_issue_type"] = app_review_block(clf, args.cache_dir, args.datasets)
    results["issue_seed_test"] = seed_block(clf, args.cache_dir)
    general = general_heads(clf)
    results["care_sets"] = care_sets_block(clf, args.datasets, general)
    results["hand_made"] = hand_made_block(clf, general)
    results["language"] = language_block(clf, args.datasets)
    results["speed"] = speed_block(clf, args.datasets, args.speed_n)
    results["memory"] = memory_block(args, args.datasets)
    results["seconds"] = round(time.time() - started, 1)

    s, c, a, sd = (
        results["sentiment"],
        results["complaints"],
        results["app_reviews_issue_type"],
        results["issue_seed_test"],
    )
    print(f"{'metric (test split)':<44} {'ours':>6}  {'publ.':>6}  {'gap':>7}  baselines")
    for key in ("tweeteval_sentiment_macro_recall", "italian_sentiment_macro_f1"):
        r = s[key]
        print(
            _row(
                key,
                r["ours"],
                r["published"],
                f"vader {r['vader']:.3f}, majority {r['majority']:.3f}",
            )
        )
    print(
        _row(
            "complaints macro-F1 (10-fold CV)",
            c["ours"]["macro_f1"],
            c["published_f1"],
            f"vader {c['vader']['macro_f1']:.3f}, majority {c['majority']['macro_f1']:.3f}",
        )
    )
    print(
        _row(
            "complaints F1 of complaint class",
            c["ours"]["f1_complaint"],
            None,
            f"vader {c['vader']['f1_complaint']:.3f}",
        )
    )
    print(
        _row(
            "complaints accuracy",
            c["ours"]["accuracy"],
            None,
            f"vader {c['vader']['accuracy']:.3f}, majority {c['majority']['accuracy']:.3f}",
        )
    )
    print(
        _row(
            "app reviews issue type macro-F1 (3 cls)",
            a["ours"]["macro_f1"],
            None,
            f"vader {a['vader']['macro_f1']:.3f}, majority {a['majority']['macro_f1']:.3f}",
        )
    )
    print(
        _row(
            "issue seed test macro-F1 (7 types)",
            sd["issues_macro_f1"],
            None,
            f"en {sd['issues_macro_f1_en']:.3f}, it {sd['issues_macro_f1_it']:.3f}",
        )
    )
    print(
        _row(
            "urgency seed test micro-F1 (head+keywords)",
            sd["urgency_combined"]["micro_f1"],
            None,
            f"head {sd['urgency_head_only']['micro_f1']:.3f}, "
            f"keywords {sd['urgency_keywords_only']['micro_f1']:.3f}",
        )
    )
    for name, block in results["care_sets"].items():
        if "sentiment" in block:
            r = block["sentiment"]["macro_f1"]
            print(_row(f"{name} sentiment macro-F1", r["ours"], None, _baselines(r)))
        if "complaint" in block:
            r = block["complaint"]["f1"]
            print(_row(f"{name} complaint F1", r["ours"], None, _baselines(r)))
        if "severity_macro_f1" in block:
            r = block["severity_macro_f1"]
            print(_row(f"{name} severity macro-F1", r["ours"], None, _baselines(r)))
    for name in MENTION_SETS:
        for lang in ("it", "en"):
            b = results["hand_made"][name][lang]
            r = b["sentiment"]["accuracy"]
            print(_row(f"{name} {lang} sentiment accuracy", r["ours"], None, _baselines(r)))
            c = b["complaint"]["ours"]
            print(
                _row(
                    f"{name} {lang} complaint F1",
                    c["f1"],
                    None,
                    f"P {c['precision']:.3f} R {c['recall']:.3f}; "
                    + _baselines(b["complaint"]["f1"]),
                )
            )
    for name in ("italian_reviews", "english_reviews"):
        r = results["hand_made"][name]["polarity_accuracy"]
        print(_row(f"{name} polarity accuracy", r["ours"], None, _baselines(r)))
    for lang, b in results["hand_made"]["review_sentences"].items():
        for part, r in b["polarity_accuracy"].items():
            figures = {k: v for k, v in r.items() if k != "n"}
            print(
                _row(
                    f"review sentences {lang} {part} polarity", r["ours"], None, _baselines(figures)
                )
            )
    lang, sp, mem = results["language"], results["speed"], results["memory"]
    print(
        f"language: en {lang['accuracy_en_tweets']:.3f}, it {lang['accuracy_it_tweets']:.3f}, "
        f"{lang['ms_per_text']:.2f} ms/text"
    )
    print(
        f"speed: encoder {sp['encoder_texts_per_s']:.1f}/s, pipeline "
        f"{sp['pipeline_texts_per_s']:.1f}/s, ratio {sp['ratio']:.3f} (target >= 0.9)"
    )
    print(f"memory: peak RSS {mem['peak_rss_mb']:.0f} MB (limit 1536 MB)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
