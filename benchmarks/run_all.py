"""Run every benchmark, one after another, each printing its table and writing its JSON.

    python benchmarks/run_all.py [--quick] [--only ingest,distributed]

(`ascolto bench` runs this.) `--quick` uses small sizes: a check that everything runs,
not figures to quote. Ends with a summary of what each one took and where it wrote.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

# name: (full arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "ingest": ([], ["--items", "2000", "--per-feed", "200"]),
    "classify": ([], ["--speed-n", "128"]),
    "langid": ([], []),
    "defects": ([], ["--quick"]),
    "drafts": ([], ["--english", "40", "--bugs", "20", "--italian", "20"]),
    "distributed": (
        [],
        [
            *("--feeds", "4", "--per-feed", "100", "--workers", "1,2"),
            *("--classify-mentions", "64", "--latency-mentions", "4", "--poll-interval", "15"),
        ],
    ),
    "web": ([], ["--mentions", "20000", "--repeat", "5", "--database", "ascolto_bench_quick"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check they run")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    summary = []
    for name in names:
        full, quick = BENCHMARKS[name]
        command = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py")]
        command += quick if args.quick else full
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        summary.append((name, code, time.perf_counter() - started))
    print(f"\n{'benchmark':<14}{'result':<10}{'minutes':>8}  written to")
    for name, code, seconds in summary:
        status = "ok" if code == 0 else f"exit {code}"
        where = RESULTS / f"{name}.json"
        print(f"{name:<14}{status:<10}{seconds / 60:>8.1f}  {where.relative_to(ROOT)}")
    return 1 if any(code for _name, code, _s in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
