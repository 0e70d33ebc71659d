"""Peak memory of a process as the kernel counts it, for the benchmarks that report it."""

from __future__ import annotations

from pathlib import Path


def peak_mb(pid: int | str = "self") -> float:
    """The process's peak resident memory (VmHWM of /proc/<pid>/status), in MB.

    Not getrusage's ru_maxrss: it survives exec, so a child started by a larger process
    reports the parent's peak when that is the larger.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
