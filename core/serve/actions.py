"""What people do in the dashboard: retry, resolve, retry a class, run now. Each goes through
the same functions as the CLI (flx.ops.status) and is written to the dashboard's action log:
who (the name given in the form, and from which address), when, what, the note, the outcome.

The log is a table of its own (`serve_actions`), created on first start; it sits beside the
store's numbered migrations so that it never takes a number core needs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from flx.errors import FlxError
from flx.run.lock import lock_name
from flx.store.tables import UTCDateTime, utcnow

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.store.store import Store

log = logging.getLogger("flx.serve")

_metadata = sa.MetaData()
serve_actions = sa.Table(
    "serve_actions", _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("who", sa.String(200), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("outcome", sa.Text(), nullable=False),
    sa.Index("ix_serve_actions_target", "target"),
)


def ensure_table(store: Store) -> None:
    with store.engine.begin() as conn:
        _metadata.create_all(conn, checkfirst=True)


def record_action(store: Store, *, who: str, action: str, target: str, note: str | None,
                  outcome: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.insert(serve_actions).values(
            at=utcnow(), who=who[:200], action=action, target=target[:255], note=note,
            outcome=outcome))
    log.info("%s by %s on %s: %s", action, who, target, outcome)


def recent_actions(store: Store, *, target: str | None = None,
                   limit: int = 50) -> list[dict[str, Any]]:
    query = sa.select(serve_actions).order_by(serve_actions.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(serve_actions.c.target == target)
    try:
        with store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
    except sa.exc.SQLAlchemyError:  # a read-only dashboard on a store it could not extend
        return []


@dataclass
class Runner:
    """Starts `flx run` for one connection + operation in a thread of the dashboard, under
    the same run lock as `flx schedule` and `flx run` (flx.run.lock): two runs of one pair
    never overlap, whichever process started them."""

    config: Config
    plugins: Plugins
    store: Store
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        self.threads: dict[tuple[str, str], threading.Thread] = {}

    def busy(self, connection: str, operation: str) -> str | None:
        """Who runs this pair now (a process name), or None."""
        mine = self.threads.get((connection, operation))
        if mine is not None and mine.is_alive():
            return "this dashboard"
        return self.store.lock_holder(lock_name(connection, operation))

    def start(self, connection: str, operation: str) -> threading.Thread:
        thread = threading.Thread(target=self._run, args=(connection, operation),
                                  name=f"flx-serve-run-{connection}-{operation}", daemon=True)
        self.threads[(connection, operation)] = thread
        thread.start()
        return thread

    def _run(self, connection: str, operation: str) -> None:
        from flx.run.runner import run_operation

        try:
            report = run_operation(self.config, self.plugins, operation, connection,
                                   transport=self.transport, store=self.store)
            log.info("run now %s on %s: %s", operation, connection, report.summary())
        except FlxError as exc:  # locked meanwhile, config trouble: the runs page says it
            log.warning("run now %s on %s not run: %s", operation, connection, exc.message)
        except Exception:  # a bug must not take the dashboard down
            log.exception("run now %s on %s failed", operation, connection)
