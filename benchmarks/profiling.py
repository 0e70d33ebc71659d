"""Where a benchmark's time went: collapsed stacks sampled by py-spy, summed by stage.

    py-spy record --subprocesses -f raw -o stacks.txt -- python benchmarks/ingest.py
    python benchmarks/profiling.py stacks.txt benchmarks/results/ingest_profile_after

writes `<prefix>.json` (the share of samples of each stage, per benchmark child process)
and `<prefix>.txt` (the same as a table, then the functions with the most samples). Each
sample counts for the stage of its innermost frame that matches a rule in `STAGES`, so a
database call made while storing mentions counts as storing mentions.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

# (what a frame contains, stage); the innermost matching frame of a sample decides.
STAGES: list[tuple[str, str]] = [
    ("listeners/http.py", "download"),
    # The ORM writing rows (flush) is storing, wherever it was called from.
    ("Session.flush (", "storing mentions"),
    ("storage/fingerprint.py", "fingerprints"),
    ("_link_near_duplicates", "near-duplicate search"),
    ("_insert_linking_near_duplicates", "near-duplicate search"),
    ("storage/mentions.py", "storing mentions"),
    ("listeners/", "parsing"),
    ("storage/", "run bookkeeping"),
    ("ascolto/runtime/", "run bookkeeping"),
]
_CHILD = re.compile(r"--child (\w+)")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def stage(frames: list[str]) -> str:
    """The stage of one sample: the rule of its innermost matching frame, else `other`."""
    for frame in reversed(frames):
        for needle, name in STAGES:
            if needle in frame:
                return name
    return "other"


def summarize(collapsed: Path) -> dict[str, Any]:
    """Samples per stage and per function (self and total) for each child process."""
    stages: dict[str, Counter[str]] = defaultdict(Counter)
    own: dict[str, Counter[str]] = defaultdict(Counter)
    total: dict[str, Counter[str]] = defaultdict(Counter)
    for line in collapsed.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        child = next((m.group(1) for f in frames[:2] if (m := _CHILD.search(f))), None)
        if child is None:
            continue  # the parent: the replay server and the bare download
        frames = [_short(f) for f in frames if not f.startswith("process ")]
        if not frames:
            continue
        samples = int(count)
        stages[child][stage(frames)] += samples
        own[child][frames[-1]] += samples
        for frame in set(frames):
            total[child][frame] += samples
    report: dict[str, Any] = {}
    for child, counts in stages.items():
        samples = sum(counts.values())
        report[child] = {
            "samples": samples,
            "stages": {name: n / samples for name, n in counts.most_common()},
            "top_self": [[f, n / samples] for f, n in own[child].most_common(25)],
            "top_total": [[f, n / samples] for f, n in total[child].most_common(40)],
        }
    return report


def _short(frame: str) -> str:
    """`function (path:line)` as `function (path)`, the path from the repository or package."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "/lib/python3", "/benchmarks/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    else:
        for root in ("ascolto/", "listeners/", "storage/", "classify/"):
            if f"/{root}" in file:
                file = root + file.split(f"/{root}", 1)[1]
                break
    return f"{match['function']} ({file})"


def write(report: dict[str, Any], prefix: Path, note: str) -> None:
    """`<prefix>.json` and a readable `<prefix>.txt`."""
    prefix.with_suffix(".json").write_text(
        json.dumps({"note": note, "children": report}, indent=2) + "\n", encoding="utf-8"
    )
    lines = [note, ""]
    for child, figures in report.items():
        lines.append(f"== {child}: {figures['samples']} samples")
        lines += [f"{share:7.1%}  {name}" for name, share in figures["stages"].items()]
        lines += ["", "-- most samples in the function itself"]
        lines += [f"{share:7.1%}  {frame}" for frame, share in figures["top_self"]]
        lines += ["", "-- most samples in the function or what it called"]
        lines += [f"{share:7.1%}  {frame}" for frame, share in figures["top_total"]]
        lines.append("")
    prefix.with_suffix(".txt").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    collapsed, prefix = Path(sys.argv[1]), Path(sys.argv[2])
    note = " ".join(sys.argv[3:]) or f"py-spy samples from {collapsed.name}"
    write(summarize(collapsed), prefix, note)


if __name__ == "__main__":
    main()
