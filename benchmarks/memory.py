"""Peak memory of a process, as the benchmarks report it."""

from __future__ import annotations

from pathlib import Path


def peak_mb(pid: int | str = "self") -> float:
    """The process's peak resident memory in MB, from the kernel's high-water mark of its
    own memory (VmHWM). Not getrusage: ru_maxrss survives exec, so a child started by a
    larger process would report its parent's size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
