"""Miniature copies of the shared datasets' training files, for training tests."""

from __future__ import annotations

import csv
import os
from pathlib import Path

# The shared datasets sit next to the repository (../shared/datasets), never at a fixed path;
# ASCOLTO_DATASETS points elsewhere, as it does for `ascolto train`.
DATASETS = Path(
    os.environ.get("ASCOLTO_DATASETS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)

# Training files of the customer-care sets (no test file is ever copied).
CARE_FILES = {
    "it_public_service_tweets": ["train.csv"],
    "x_fincorp": ["x_fincorp.csv"],
    "cesamard_aspect": ["cesamard_aspect.csv"],
    "uci_sentiment_sentences": [
        "amazon_cells_labelled.txt",
        "yelp_labelled.txt",
        "imdb_labelled.txt",
    ],
    "bitext_customer_support": ["bitext_customer_support_sample.csv"],
    "banking77": ["train.csv"],
}
# The test files of the sets that ship one: only `ascolto eval` (the benchmark) reads them.
CARE_TEST_FILES = {
    "it_public_service_tweets": ["test.csv"],
    "banking77": ["test.csv"],
}


def head_lines(src: Path, dst: Path, n: int) -> None:
    """The first `n` lines of a text file."""
    dst.write_text("".join(src.open(encoding="utf-8").readlines()[:n]), encoding="utf-8")


def head_csv(src: Path, dst: Path, n: int) -> None:
    """The header and the first `n` records of a CSV file (records may span lines)."""
    with (
        src.open(encoding="utf-8", newline="") as fh,
        dst.open("w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out)
        for i, row in enumerate(csv.reader(fh)):
            if i > n:
                break
            writer.writerow(row)


def copy_care_sets(root: Path, n: int = 120, *, test_files: bool = False) -> None:
    """Every care set's training files (and their test files for an evaluation), cut to `n`
    records each, under `root`."""
    for folder, files in CARE_FILES.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        if test_files:
            files = files + CARE_TEST_FILES.get(folder, [])
        for name in files:
            copy = head_csv if name.endswith(".csv") else head_lines
            copy(DATASETS / folder / name, root / folder / name, n)
