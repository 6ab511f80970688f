"""The store, its claims and the shared budget work behind PgBouncer in transaction mode: no
session state is kept between statements (no session advisory locks, no prepared statements
with ?prepare_threshold=none). Skipped when the pgbouncer program is not installed; the
PostgreSQL server itself is required as for every store test (conftest.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flx.store.budget import DatabaseBudget
from flx.store.store import Store
from tests.core.test_budget import _hammer
from tests.fake_plugin.harness import make_env, make_order

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer"
                                          if os.path.exists("/usr/sbin/pgbouncer") else None)
if PGBOUNCER is None and os.environ.get("FLX_REQUIRE_POSTGRES"):
    # CI installs pgbouncer (.ci/run): there, its absence is a failure, not a quiet skip.
    raise RuntimeError("pgbouncer is not installed but FLX_REQUIRE_POSTGRES is set: "
                       "apt-get install pgbouncer")
pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bouncer_url(postgres_url: str) -> Iterator[str]:
    """A store URL through a PgBouncer in transaction mode, to a database of its own."""
    server = make_url(postgres_url).set(drivername="postgresql+psycopg")
    name = f"flx_pgb_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    folder = Path(tempfile.mkdtemp(prefix="flx-pgb-"))
    folder.chmod(0o777)  # pgbouncer drops root for nobody, who must read and write here
    port = _free_port()
    (folder / "users.txt").write_text(f'"{server.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{name} = host={server.host} port={server.port or 5432} "
        f"dbname={name} user={server.username}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
        f"listen_port = {port}\nauth_type = trust\nauth_file = {folder}/users.txt\n"
        f"pool_mode = transaction\nunix_socket_dir =\nlogfile = {folder}/pgbouncer.log\n"
        f"pidfile = {folder}/pgbouncer.pid\nmax_client_conn = 100\ndefault_pool_size = 4\n"
        "ignore_startup_parameters = extra_float_digits,application_name\n")
    for item in folder.iterdir():
        item.chmod(0o666)
    argv = [str(PGBOUNCER), str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        argv[1:1] = ["-u", "nobody"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (folder / "pgbouncer.log").read_text()
                assert time.monotonic() < deadline, "pgbouncer did not start"
                time.sleep(0.1)
        url = server.set(host="127.0.0.1", port=port, database=name).update_query_dict(
            {"prepare_threshold": "none"})
        yield url.render_as_string(hide_password=False)
    finally:
        proc.terminate()
        proc.wait(10)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_budget_holds_its_limit_behind_pgbouncer(bouncer_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = make_url(bouncer_url)
    budgets = [DatabaseBudget(url, name, local, stated_limit=2, explicit=True)
               for local in (1, 3, 5)]
    try:
        assert _hammer(budgets, threads_each=4, rounds=10) == 2
    finally:
        for budget in budgets:
            budget.close()


def test_two_workers_share_the_records_behind_pgbouncer(tmp_path: Path,
                                                        bouncer_url: str) -> None:
    env = make_env(tmp_path)
    env.store.close()
    stores = [Store(bouncer_url), Store(bouncer_url)]
    stores[0].upsert_records("order", [make_order(f"ORD-{i:03d}") for i in range(30)])
    reports: list[Any] = []

    def worker(store: Store) -> None:
        reports.append(env.run(store=store, exclusive=False))

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert [r.exit_code for r in reports] == [0, 0]
        assert sum(r.counts["sent"] for r in reports) == 30
        assert len(env.ledger.writes()) == 30  # one POST per order
        done = {s.status for s in stores[1].iter_sync("prod", "send-orders")}
        assert done == {"sent"}
    finally:
        for store in stores:
            store.close()
