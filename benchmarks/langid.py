"""Benchmark language identification on short posts full of brand and tech words.

    python benchmarks/langid.py --datasets ../shared/datasets

Compares, in the same run, plain lingua over the same candidates (the detector before
issue 20) with `LanguageIdentifier` (masking, loanwords, function words) on:

- `classify/data/langid_mixed.jsonl`, hand-written Italian posts dense with English words
  and English posts full of Italian names; its `dev` split chose the detector's constants,
  its `test` split is the figure to quote. Product names are passed as `ignore_terms`, as
  the classifier does with the configured products; "ours, no product names" shows what
  the detector does without them.
- real tweets, whose language is known from their dataset: the first 500 of the XLM-T
  Italian and English sentiment test splits and the Italian public-service tweets test
  split (`tweetOrig`). Read for language identification only.

Every text goes through `clean()` first, as in the classifier. Prints a table and writes
benchmarks/results/langid.json; takes seconds, no encoder is loaded.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classify.cleaning import clean  # noqa: E402
from classify.language import DEFAULT_LANGUAGES, LanguageIdentifier, _detector  # noqa: E402

MIXED = ROOT / "classify" / "data" / "langid_mixed.jsonl"
TWEETS_PER_SET = 500
SPEED_REPEATS = 3

Detect = Callable[[Sequence[str], Sequence[Sequence[str]]], list[str]]


def plain_lingua(languages: Sequence[str]) -> Detect:
    """The detector as it was: lingua's best candidate for the text as it is."""
    detector = _detector(tuple(languages))

    def detect(texts: Sequence[str], _products: Sequence[Sequence[str]]) -> list[str]:
        ranked = detector.compute_language_confidence_values_in_parallel(list(texts))
        return [
            v[0].language.iso_code_639_1.name.lower() if v and v[0].value > 0 else "und"
            for v in ranked
        ]

    return detect


def ours(ident: LanguageIdentifier, *, products: bool = True) -> Detect:
    def detect(texts: Sequence[str], names: Sequence[Sequence[str]]) -> list[str]:
        if not products or not any(names):
            return [code for code, _ in ident.detect(texts)]
        # One call per distinct product table, as the classifier makes one per batch.
        out: list[str] = [""] * len(texts)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, n in enumerate(names):
            groups.setdefault(tuple(n), []).append(i)
        for terms, rows in groups.items():
            got = ident.detect([texts[i] for i in rows], ignore_terms=terms)
            for i, (code, _) in zip(rows, got, strict=True):
                out[i] = code
        return out

    return detect


def read_mixed() -> list[dict[str, Any]]:
    with MIXED.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def real_tweets(datasets: Path) -> dict[str, tuple[str, list[str]]]:
    """name: (language, texts)."""
    out = {}
    for lang in ("it", "en"):
        path = datasets / f"xlmt_sentiment_{lang}" / "test_text.txt"
        lines = path.read_text(encoding="utf-8").splitlines()[:TWEETS_PER_SET]
        out[f"xlmt_{lang}_first{TWEETS_PER_SET}"] = (lang, lines)
    with (datasets / "it_public_service_tweets" / "test.csv").open(encoding="utf-8") as f:
        out["it_public_service_test"] = ("it", [row["tweetOrig"] for row in csv.DictReader(f)])
    return out


def score(
    detect: Detect, texts: list[str], gold: list[str], products: list[list[str]]
) -> dict[str, Any]:
    pred = detect([clean(t).text for t in texts], products)
    res: dict[str, Any] = {}
    for lang in sorted(set(gold)):
        rows = [i for i, g in enumerate(gold) if g == lang]
        res[f"accuracy_{lang}"] = round(sum(pred[i] == lang for i in rows) / len(rows), 4)
        res[f"n_{lang}"] = len(rows)
    res["errors"] = [
        {"text": texts[i], "lang": gold[i], "detected": pred[i]}
        for i in range(len(texts))
        if pred[i] != gold[i]
    ]
    return res


def ms_per_text(detect: Detect, texts: list[str]) -> float:
    cleaned = [clean(t).text for t in texts]
    none: list[list[str]] = [[] for _ in cleaned]
    best = float("inf")
    for _ in range(SPEED_REPEATS):
        start = time.perf_counter()
        detect(cleaned, none)
        best = min(best, time.perf_counter() - start)
    return round(1000 * best / len(texts), 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "langid.json")
    args = parser.parse_args()
    ident = LanguageIdentifier(DEFAULT_LANGUAGES)
    detectors: dict[str, Detect] = {
        "plain_lingua": plain_lingua(ident.languages),
        "ours": ours(ident),
        "ours_no_product_names": ours(ident, products=False),
    }
    mixed = read_mixed()
    tweets = real_tweets(args.datasets)
    every_tweet = [t for _, texts in tweets.values() for t in texts]
    ident.detect(every_tweet)  # lingua loads its models on first use: not part of the timing

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "candidates": list(ident.languages),
        "sets": {},
    }
    sets: dict[str, tuple[list[str], list[str], list[list[str]]]] = {}
    for split in ("dev", "test"):
        rows = [r for r in mixed if r["split"] == split]
        sets[f"mixed_{split}"] = (
            [r["text"] for r in rows],
            [r["lang"] for r in rows],
            [list(r["products"]) for r in rows],
        )
    for name, (lang, texts) in tweets.items():
        sets[name] = (texts, [lang] * len(texts), [[] for _ in texts])
    for name, (texts, gold, products) in sets.items():
        results["sets"][name] = {
            det: score(fn, texts, gold, products) for det, fn in detectors.items()
        }
    speed_texts = every_tweet + [r["text"] for r in mixed]
    results["ms_per_text"] = {
        "n_texts": len(speed_texts),
        "plain_lingua": ms_per_text(detectors["plain_lingua"], speed_texts),
        "ours": ms_per_text(detectors["ours"], speed_texts),
    }

    print(f"{'set':<28}{'lang':<6}{'n':>5}{'plain lingua':>14}{'ours':>8}{'no names':>10}")
    for name, by in results["sets"].items():
        for lang in ("it", "en"):
            key = f"accuracy_{lang}"
            if key not in by["ours"]:
                continue
            print(
                f"{name:<28}{lang:<6}{by['ours'][f'n_{lang}']:>5}"
                f"{by['plain_lingua'][key]:>14.3f}{by['ours'][key]:>8.3f}"
                f"{by['ours_no_product_names'][key]:>10.3f}"
            )
    sp = results["ms_per_text"]
    print(f"ms/text over {sp['n_texts']} texts: plain {sp['plain_lingua']}, ours {sp['ours']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
