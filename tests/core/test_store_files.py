"""The store holds customer data: its SQLite files are the owner's alone."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from typer.testing import CliRunner

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from flx.cli.main import build_app  # noqa: E402
from flx.store.store import Store  # noqa: E402
from tests.fake_plugin.harness import make_env, make_order  # noqa: E402


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_wal_files_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        env = make_env(tmp_path)
        data = tmp_path / "orders.json"
        data.write_text('{"orders": [' + __import__("json").dumps(make_order("O-1")) + "]}")
        result = CliRunner().invoke(build_app(env.plugins),
                                    ["--config", str(env.config.path), "import", str(data)],
                                    env={"FAKEBOOKS_KEY": env.ledger.api_key})
        assert result.exit_code == 0, result.output
        db = Path(str(env.store.url).removeprefix("sqlite:///"))
        if not db.is_absolute():
            db = tmp_path / db
        with Store(f"sqlite:///{db}") as store:
            store.start_run("x", "send-orders", False)  # a write: the WAL files exist now
            files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
            assert all(f.exists() for f in files), files
            assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
        env.store.close()
    finally:
        os.umask(old)


def test_an_existing_store_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with Store(f"sqlite:///{db}"):
        pass
    db.chmod(0o640)
    with Store(f"sqlite:///{db}") as store:
        store.start_run("x", "send-orders", False)
    assert mode(db) == 0o640
