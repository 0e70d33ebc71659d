"""A missing service or dataset skips its tests on a laptop and fails them in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEEDS = (
    "from tests.requirements import missing\n\n"
    "def test_needs_a_service():\n"
    '    missing("the Acme service (start it: service acme start)")\n\n'
    "def test_skipped_for_another_reason():\n"
    "    import pytest\n"
    '    pytest.skip("only on Windows")\n'
)


def run_pytest(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_needs.py").write_text(NEEDS)
    environment = {
        k: v for k, v in os.environ.items() if k not in ("CI", "ASCOLTO_REQUIRE_SERVICES")
    }
    environment.update(env, PYTHONPATH=str(REPO))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rfEs",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            str(folder),
        ],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_requirement_skips_with_how_to_get_it(tmp_path: Path) -> None:
    result = run_pytest(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "missing requirement: the Acme service (start it: service acme start)" in (result.stdout)


@pytest.mark.parametrize("env", [{"CI": "true"}, {"ASCOLTO_REQUIRE_SERVICES": "1"}])
def test_missing_requirement_fails_in_ci(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_pytest(tmp_path, **env)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 skipped" in result.stdout
    assert "FAILED test_needs.py::test_needs_a_service" in result.stdout
