"""What every command shares: the consoles it prints to and the exit codes scripts rely on."""

from __future__ import annotations

import sys

from rich.console import Console

# Piped output is read by scripts and pagers, not an 80-column terminal: give tables room.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXIT_FAILED = 1
