"""A concurrency budget shared by every flx process that uses one PostgreSQL store.

NetSuite limits concurrent requests per account, not per process. With several workers on
several machines (design.md §9) they share the account's limit through two small tables:

- `flx_budgets`: one row per account, its limit stated once (not per worker) and the current
  limit after 429s (`current`), lowered by any worker's 429 and raised again after
  `recover_after` successes counted by all workers together: the back-off is shared.
- `flx_budget_leases`: one row per worker, the slots it reserved until `expires_at`.

A worker reserves its slots in one short transaction (a lease) and renews it about every
second from a background thread; its requests then take and give back slots locally, with no
database round trip per request and no session state (PgBouncer transaction mode works).
The sum of the leases never exceeds the current limit; a worker that wants more while another
holds more than its fair share gets the difference as the other shrinks at its next renewal.
A lease lasts the request timeout plus START_WINDOW, and a worker starts a request only within
START_WINDOW of its last renewal: a dead or cut-off worker's slots are free only after every
request it started can no longer be in flight. SQLite stores are single-machine: there the
in-process limiter is the whole budget, and `database_budget()` returns None."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from flx.errors import StoreUnavailableError
from flx.store.engine import pg_connect_args
from flx.store.owners import default_owner

if TYPE_CHECKING:
    from flx.store.store import Store

__all__ = ["DatabaseBudget", "database_budget", "START_WINDOW"]

log = logging.getLogger("flx.budget")

START_WINDOW = 15.0  # seconds after a renewal during which new requests may start
RENEW_EVERY = 1.0  # while requests run
RENEW_STARVED = 0.25  # while requests wait for slots another worker is giving back
GIVE_UP_AFTER = 60.0  # acquire() waits this long for an unreachable store, then raises
RECOVER_AFTER = 20  # shared successes that win back one slot after a 429

_meta = sa.MetaData()
budgets = sa.Table(
    "flx_budgets", _meta,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("account_limit", sa.Integer(), nullable=False),
    sa.Column("current", sa.Integer(), nullable=False),
    sa.Column("streak", sa.Integer(), nullable=False, server_default="0"),
)
leases = sa.Table(
    "flx_budget_leases", _meta,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(200), primary_key=True),
    sa.Column("slots", sa.Integer(), nullable=False),
    sa.Column("wanted", sa.Integer(), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)


def fair_share(limit: int, holders: list[str], me: str) -> int:
    """My part of `limit` split evenly over `holders` (the remainder to the first names)."""
    ordered = sorted(set(holders) | {me})
    base, extra = divmod(limit, len(ordered))
    return base + (1 if ordered.index(me) < extra else 0)


class DatabaseBudget:
    """acquire()/release() one slot of the account `name`, across processes and machines."""

    def __init__(self, url: Any, name: str, local_limit: int, *, stated_limit: int | None = None,
                 explicit: bool = False, request_timeout: float = 60.0,
                 holder: str | None = None) -> None:
        if local_limit < 1:
            raise ValueError("limit must be at least 1")
        self.name = name
        self.limit = local_limit  # this process's own cap (its `concurrency`)
        self.stated = stated_limit or local_limit
        self.explicit = explicit  # stated by account_concurrency: it wins over the store's
        self.lease_seconds = request_timeout + START_WINDOW
        self.holder = holder or default_owner()
        target, args = pg_connect_args(make_url(url))
        self._engine = sa.create_engine(target, pool_size=1, max_overflow=0,
                                        pool_pre_ping=True, pool_timeout=30, connect_args=args)
        self._cond = threading.Condition()
        self._granted = 0  # slots the lease in the store holds for us, usable now
        self._in_flight = 0
        self._waiting = 0
        self._short = False  # the last renewal granted fewer slots than it asked for
        self._renewed_at = -1e9  # monotonic time of the last successful renewal
        self._failing_since: float | None = None
        self._demand_until = 0.0  # try_acquire() wants slots until then
        self._rate_limited = 0
        self._successes = 0
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._ready = False
        self.account_limit: int | None = None  # as read from the store at the last renewal
        self.current: int | None = None

    # -- what callers use -----------------------------------------------------------------

    def acquire(self) -> None:
        with self._cond:
            self._start()
            self._waiting += 1
            try:
                while not self._may_start():
                    # Renew now when that can help: no slot or no fresh lease, or our last
                    # renewal got all it asked (fewer then, as fewer were in use). Short of
                    # slots others hold, wait for the regular renewal instead.
                    if (self._granted == 0 or not self._fresh()
                            or (self._granted < self.limit and not self._short)):
                        self._wake.set()
                    if (self._failing_since is not None
                            and time.monotonic() - self._failing_since > GIVE_UP_AFTER):
                        raise StoreUnavailableError(
                            f"the shared concurrency budget {self.name} could not be renewed "
                            f"for {GIVE_UP_AFTER:g} seconds: the store is unreachable",
                            hint="check that the store's PostgreSQL server is running; the "
                                 "records were left as they were and go at the next run")
                    self._cond.wait(0.2)
                self._in_flight += 1
            finally:
                self._waiting -= 1

    def try_acquire(self) -> bool:
        with self._cond:
            self._start()
            self._demand_until = time.monotonic() + 1.0
            if not self._may_start():
                self._wake.set()
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify()

    def record_rate_limited(self) -> None:
        """A 429 here lowers the limit of every worker of the account (at once for us)."""
        with self._cond:
            self._rate_limited += 1
            self._successes = 0
            self._granted = max(0, self._granted - 1)
        self._wake.set()

    def record_success(self) -> None:
        with self._cond:
            self._successes += 1

    def renew_now(self) -> int:
        """Renew the lease at once (tests, and the first acquire); returns the slots held."""
        self._renew()
        with self._cond:
            return self._granted

    @property
    def granted(self) -> int:
        with self._cond:
            return self._granted

    def close(self) -> None:
        """Stop renewing and give the lease back (a killed process's lease expires)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.delete(leases).where(leases.c.name == self.name,
                                                     leases.c.holder == self.holder))
        except sa.exc.SQLAlchemyError:
            pass  # unreachable: the lease expires by itself
        self._engine.dispose()

    # -- internals ------------------------------------------------------------------------

    def _fresh(self) -> bool:
        return time.monotonic() - self._renewed_at < START_WINDOW

    def _may_start(self) -> bool:
        return self._fresh() and self._in_flight < min(self._granted, self.limit)

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._loop, name=f"flx-budget-{self.name}",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                starved = self._waiting > 0 and self._granted == 0
                busy = self._in_flight > 0 or self._waiting > 0 or self._granted > 0
            self._renew()
            self._wake.wait(RENEW_STARVED if starved else RENEW_EVERY if busy else 5.0)
            self._wake.clear()

    def _wanted(self) -> int:
        """All our slots while requests wait for one; else only those in use, so that an
        idle worker never keeps slots another one is waiting for."""
        if self._waiting > 0 or time.monotonic() < self._demand_until:
            return self.limit
        return self._in_flight

    def _renew(self) -> None:
        with self._cond:
            want, in_use = self._wanted(), self._in_flight
            limited, successes = self._rate_limited, self._successes
            self._rate_limited = self._successes = 0
            # Requests may start during the transaction up to the cap in effect now: the
            # lease written keeps that many, so a shrink takes effect one renewal later.
            in_use = max(in_use, min(self._granted, self.limit))
        started = time.monotonic()
        try:
            with self._engine.begin() as conn:
                granted, limit, current = self._reserve(conn, want, in_use, limited, successes)
        except Exception as exc:  # noqa: BLE001 - the store is away: requests wait, we retry
            with self._cond:
                self._rate_limited += limited
                self._successes += successes
                if self._failing_since is None:
                    self._failing_since = started
                    log.warning("the shared budget %s could not be renewed (%s); new requests "
                                "wait for the store", self.name,
                                str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200])
                self._cond.notify_all()
            return
        with self._cond:
            self._granted = granted
            self._short = granted < want
            self._renewed_at = started
            self._failing_since = None
            self.account_limit, self.current = limit, current
            self._cond.notify_all()

    def _reserve(self, conn: sa.Connection, want: int, in_use: int, limited: int,
                 successes: int) -> tuple[int, int, int]:
        """One transaction: state the limit, apply 429s and successes, drop expired leases,
        and write ours. Returns (slots we may use, account limit, current limit)."""
        if not self._ready:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                         {"k": zlib.crc32(b"flx_budgets") & 0x7FFFFFFF})
            _meta.create_all(conn, checkfirst=True)
            self._ready = True
        conn.execute(postgresql.insert(budgets).values(
            name=self.name, account_limit=self.stated, current=self.stated, streak=0,
        ).on_conflict_do_nothing(index_elements=[budgets.c.name]))
        row = conn.execute(sa.select(budgets.c.account_limit, budgets.c.current,
                                     budgets.c.streak, sa.func.now())
                           .where(budgets.c.name == self.name).with_for_update()).one()
        account_limit, current, streak, now = row
        conn.execute(sa.delete(leases).where(leases.c.name == self.name,
                                             leases.c.expires_at <= now))
        others = conn.execute(sa.select(leases.c.holder, leases.c.slots, leases.c.wanted)
                              .where(leases.c.name == self.name,
                                     leases.c.holder != self.holder)).all()
        if self.stated != account_limit and (self.explicit or not others):
            # Stated in flx.toml (account_concurrency), or this worker is alone: it decides.
            account_limit, current, streak = self.stated, self.stated, 0
        if limited:
            current, streak = max(1, current - limited), 0
        elif successes and current < account_limit:
            streak += successes
            current, streak = min(account_limit, current + streak // RECOVER_AFTER), \
                streak % RECOVER_AFTER
        conn.execute(sa.update(budgets).where(budgets.c.name == self.name).values(
            account_limit=account_limit, current=min(current, account_limit), streak=streak))
        current = min(current, account_limit)
        taken = sum(o.slots for o in others)
        target = want
        if any(o.wanted > o.slots for o in others):  # someone waits: keep to our share
            target = min(want, fair_share(current, [o.holder for o in others], self.holder))
        granted = max(0, min(target, current - taken))
        keep = max(granted, in_use)  # never less than what is in flight now
        if keep == 0 and want == 0:
            conn.execute(sa.delete(leases).where(leases.c.name == self.name,
                                                 leases.c.holder == self.holder))
        else:
            stmt = postgresql.insert(leases).values(
                name=self.name, holder=self.holder, slots=keep, wanted=want,
                expires_at=now + timedelta(seconds=self.lease_seconds))
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[leases.c.name, leases.c.holder],
                set_={"slots": stmt.excluded.slots, "wanted": stmt.excluded.wanted,
                      "expires_at": stmt.excluded.expires_at}))
        return granted, account_limit, current


_BUDGETS: dict[tuple[str, str], DatabaseBudget] = {}
_LOCK = threading.Lock()


@atexit.register
def _give_back_at_exit() -> None:
    """A process that ends normally gives its slots back at once (a killed one's lease
    expires): the next `flx run` must not wait for them."""
    with _LOCK:
        budgets = list(_BUDGETS.values())
        _BUDGETS.clear()
    for budget in budgets:
        budget.close()


def database_budget(store: Store, name: str, limit: int, *, stated_limit: int | None = None,
                    request_timeout: float = 60.0) -> DatabaseBudget | None:
    """The process-wide shared budget `name` on this store, or None on SQLite. `limit` is
    this process's own cap; `stated_limit` the account's limit from flx.toml
    (account_concurrency), which then overrides the one in the store."""
    if getattr(store, "dialect", None) != "postgresql":
        return None
    key = (store.url, name)
    with _LOCK:
        budget = _BUDGETS.get(key)
        if budget is None:
            budget = DatabaseBudget(store._url, name, limit,
                                    stated_limit=stated_limit or limit,
                                    explicit=stated_limit is not None,
                                    request_timeout=request_timeout)
            _BUDGETS[key] = budget
        else:
            with budget._cond:
                budget.limit = limit
                budget.stated = stated_limit or limit
                budget.explicit = stated_limit is not None
                budget.lease_seconds = max(budget.lease_seconds, request_timeout + START_WINDOW)
                budget._cond.notify_all()
        return budget
