"""PostgreSQL tests never vanish silently: with FLX_REQUIRE_POSTGRES=1 (set by .ci/run) a
server that does not answer fails them; without it they are skipped with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST = "tests/core/test_store.py::test_upsert_counts_inserted_updated_unchanged"


def _pytest(require: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLX_TEST_POSTGRES_URL": "postgresql://nobody@127.0.0.1:1/none",
           "FLX_REQUIRE_POSTGRES": require}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "-rs", TEST], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_missing_server_fails_the_run_when_postgres_is_required() -> None:
    done = _pytest("1")
    assert done.returncode == 1, done.stdout
    assert "does not answer" in done.stdout and "FLX_REQUIRE_POSTGRES" in done.stdout
    assert done.stdout.startswith(".E"), done.stdout  # SQLite passed, PostgreSQL failed


def test_a_missing_server_skips_with_the_reason_otherwise() -> None:
    done = _pytest("")
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith(".s"), done.stdout
    assert "SKIPPED" in done.stdout and "does not answer" in done.stdout
