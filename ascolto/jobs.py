"""Functions the scheduler calls by reference ("ascolto.jobs:listen"), never pickled objects."""

from __future__ import annotations

import threading

from ascolto.database import engine_for
from ascolto.runner import run_source
from ascolto.settings import get_settings

# Set when the process is asked to stop: runs give up at their next wait instead of
# starting new requests, and nothing half-written is committed.
STOP = threading.Event()


def listen(name: str) -> None:
    """Run one source once, as the scheduler does at each interval."""
    if STOP.is_set():
        return
    settings = get_settings()
    run_source(settings, engine_for(settings), name, trigger="schedule", stop=STOP)
