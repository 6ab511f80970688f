"""The emulated account: records, external-id indexes, id sequences, counters and the login
audit trail. One re-entrant lock guards all of it; the HTTP app, the in-process transport and
the Python inspection API may call in from any thread."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import importlib.resources
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from . import schema as S
from .behaviour import Behaviour
from .errors import NsError, not_found
from .faults import FaultInjector, FaultPlan
from .oauth import Credentials, NonceCache
from .validate import parse_json

_EID_OK = re.compile(r"^[A-Za-z0-9_-]+$")
_TRAN_PREFIX = {"salesOrder": "SO", "purchaseOrder": "PO", "itemFulfillment": "IF",
                "vendorBill": "VB", "cashSale": "CS"}
# Fields SuiteQL lookups filter on; indexed so a lookup does not scan the whole account.
LOOKUP_FIELDS = ("externalId", "otherRefNum", "tranId", "email", "entityId", "companyName",
                 "itemId")
_ID_FLOOR = {"transaction": 800, "entity": 300, "item": 700}


def load_default_seed() -> dict[str, Any]:
    raw = importlib.resources.files(__package__).joinpath("seed.json").read_bytes()
    seed: dict[str, Any] = parse_json(raw)
    return seed


def _decimalize(value: Any) -> Any:
    """A seed handed in from Python may hold floats; money is never a float in here."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimalize(v) for v in value]
    return value


class Emulator:
    """One NetSuite account. See docs/emulator.md for what is emulated and how strictly."""

    def __init__(self, seed: dict[str, Any] | None = None, *, latency: float = 0.0,
                 concurrency: int | None = 5, faults: FaultPlan | None = None,
                 clock: Callable[[], float] = time.time,
                 behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self._seed = _decimalize(copy.deepcopy(seed)) if seed is not None \
            else load_default_seed()
        self.latency = latency
        self.concurrency = concurrency
        self.clock = clock
        self.lock = threading.RLock()  # the one lock: state, nonces and fault sequence
        self.faults = FaultInjector(faults, self.lock)
        self.nonces = NonceCache(self.lock)
        self._load()

    # --- set-up ----------------------------------------------------------------------------

    def _load(self) -> None:
        seed = self._seed
        account = seed["account"]
        creds = seed["credentials"]
        self.account_id: str = account["id"]
        self.one_world: bool = bool(account.get("oneWorld", True))
        self.credentials = Credentials(self.account_id, creds["consumerKey"],
                                       creds["consumerSecret"], creds["tokenId"],
                                       creds["tokenSecret"])
        self.countries = frozenset(seed.get("countries", ["US"]))
        custom = seed.get("customFields", {})
        self.custom_body = frozenset(custom.get("body", ()))
        self.custom_column = frozenset(custom.get("column", ()))
        self._records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in S.ALL_TYPES}
        self._eid: dict[str, dict[str, str]] = {t: {} for t in S.ALL_TYPES}
        self._lookup: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._type_of: dict[tuple[str, str], str] = {}
        # transaction id -> ids of the transactions created from it (fulfillments, POs, bills)
        self._children: dict[str, list[str]] = {}
        self._counters: Counter[str] = Counter()
        self._tran_numbers: Counter[str] = Counter()
        for raw_type, records in seed.get("records", {}).items():
            record_type = S.canonical_type(raw_type)
            if record_type is None:
                raise ValueError(f"seed: unknown record type {raw_type!r}")
            for record in records:
                self.insert(record_type, copy.deepcopy(record), record_id=str(record["id"]))
        for fam, floor in _ID_FLOOR.items():
            self._counters[fam] = max(self._counters[fam], floor)
        # A reset while requests are in flight must not send the gauge negative.
        self.in_flight: int = getattr(self, "in_flight", 0)
        self.peak_in_flight = self.in_flight
        self.requests = 0
        self.throttled = 0
        self.routes: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.login_audit: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Back to the seed: records, counters, nonces, audit trail and fault sequence."""
        with self.lock:
            self._load()
            self.nonces.clear()
            self.faults.reset()

    @contextlib.contextmanager
    def scratch(self) -> Iterator[None]:
        """Work that must leave no trace (a transform answering a prefilled record,
        `type=create-form`): the account's state is put back afterwards. Callers hold the
        lock."""
        names = ("_records", "_eid", "_lookup", "_type_of", "_children", "_counters",
                 "_tran_numbers")
        saved = {name: copy.deepcopy(getattr(self, name)) for name in names}
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    # --- storage primitives (callers hold the lock) ------------------------------------------

    def now_iso(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def today(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()

    def insert(self, record_type: str, record: dict[str, Any],
               record_id: str | None = None) -> str:
        fam = S.family(record_type)
        if record_id is None:
            self._counters[fam] += 1
            record_id = str(self._counters[fam])
        elif record_id.lstrip("-").isdigit():
            self._counters[fam] = max(self._counters[fam], int(record_id))
        record["id"] = record_id
        self._index(record_type, record, add=True)
        self._records[record_type][record_id] = record
        self._type_of[(fam, record_id)] = record_type
        parent = record.get("createdFrom")
        if fam == "transaction" and parent:
            self._children.setdefault(parent["id"], []).append(record_id)
        return record_id

    def next_tran_id(self, record_type: str) -> str:
        self._tran_numbers[record_type] += 1
        return f"{_TRAN_PREFIX.get(record_type, 'T')}{1000 + self._tran_numbers[record_type]}"

    def replace(self, record_type: str, record: dict[str, Any],
                updated: dict[str, Any]) -> None:
        """Swap a record's content for a validated copy, keeping every index right."""
        self._index(record_type, record, add=False)
        record.clear()
        record.update(updated)
        self._index(record_type, record, add=True)

    def _index(self, record_type: str, record: dict[str, Any], *, add: bool) -> None:
        eid = record.get("externalId")
        if eid is not None:
            if add:
                self._eid[record_type][eid] = record["id"]
            elif self._eid[record_type].get(eid) == record["id"]:
                del self._eid[record_type][eid]
        for field in LOOKUP_FIELDS:  # case-folded, so LOWER()/UPPER() lookups can use them
            value = record.get(field)
            if isinstance(value, str):
                bucket = self._lookup.setdefault((record_type, field), {}).setdefault(
                    value.lower(), set())
                if add:
                    bucket.add(record["id"])
                else:
                    bucket.discard(record["id"])

    def lookup_ids(self, record_type: str, field: str, folded: str) -> set[str]:
        """Ids of `record_type` records whose `field`, lowercased, equals `folded`."""
        return set(self._lookup.get((record_type, field), {}).get(folded, ()))

    def remove(self, record_type: str, record_id: str) -> None:
        record = self._records[record_type].pop(record_id)
        self._index(record_type, record, add=False)
        self._type_of.pop((S.family(record_type), record_id), None)
        parent = record.get("createdFrom")
        if parent and record_id in self._children.get(parent["id"], []):
            self._children[parent["id"]].remove(record_id)

    def children(self, parent_id: str, record_type: str | None = None) -> list[dict[str, Any]]:
        """Transactions created from `parent_id`, oldest first, optionally of one type."""
        found = []
        for child_id in self._children.get(parent_id, []):
            child_type = self._type_of.get(("transaction", child_id))
            if child_type and (record_type is None or child_type == record_type):
                found.append(self._records[child_type][child_id])
        return found

    def eid_owner(self, record_type: str, eid: str) -> str | None:
        return self._eid[record_type].get(eid)

    def get(self, record_type: str, key: str) -> dict[str, Any]:
        """`key` is an internal id or `eid:<externalId>`; 404 NONEXISTENT_ID when absent."""
        record_id: str | None = key
        if key.startswith("eid:"):
            eid = check_url_eid(key[4:])
            record_id = self._eid[record_type].get(eid)
        record = self._records[record_type].get(record_id or "")
        if record is None:
            raise not_found()
        return record

    def maybe(self, record_type: str, record_id: str | None) -> dict[str, Any] | None:
        return self._records[record_type].get(record_id or "")

    def all(self, record_type: str) -> list[dict[str, Any]]:
        return list(self._records[record_type].values())

    def type_of(self, fam: str, record_id: str) -> str | None:
        return self._type_of.get((fam, record_id))

    def resolve(self, types: tuple[str, ...], wanted: dict[str, Any]) -> str | None:
        """The validator's reference check: the id (or external id) exists in one of `types`."""
        for record_type in types:
            found = str(wanted["id"]) if "id" in wanted else \
                self._eid[record_type].get(wanted["externalId"])
            record = self._records[record_type].get(found) if found is not None else None
            # An inactive record cannot be chosen on a transaction (§10.9): a bad reference.
            if record is not None and not record.get("isInactive"):
                return found
        return None

    def lookup(self, targets: tuple[str, ...], record_id: str) -> tuple[str, dict[str, Any]]:
        for record_type in S.expand_targets(targets):
            record = self._records[record_type].get(record_id)
            if record is not None:
                return record_type, record
        raise KeyError(record_id)

    # --- governance and request accounting -------------------------------------------------

    def enter_flight(self) -> bool:
        """Count a request; False (and a 429 to send) when the account is over its limit."""
        with self.lock:
            self.requests += 1
            if self.concurrency is not None and self.in_flight >= self.concurrency:
                self.throttled += 1
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def leave_flight(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def count(self, route: str, status: int) -> None:
        with self.lock:
            self.routes[route] += 1
            self.statuses[status] += 1

    def audit_login(self, method: str, path: str, reason: str, detail: str) -> None:
        with self.lock:
            self.login_audit.append({"date": self.now_iso(), "status": "Failure",
                                     "method": method, "path": path, "detail": reason,
                                     "explanation": detail})

    # --- inspection (Python API; the HTTP /_emulator endpoints call these) -----------------

    def stats(self) -> dict[str, Any]:
        with self.lock:
            records = {t: len(r) for t, r in self._records.items() if r}
            duplicates = 0
            for by_id in self._records.values():  # scan the records, not the index
                seen = Counter(r["externalId"] for r in by_id.values()
                               if r.get("externalId") is not None)
                duplicates += sum(1 for n in seen.values() if n > 1)
            return {
                "requests": self.requests, "routes": dict(self.routes),
                "statuses": {str(k): v for k, v in self.statuses.items()},
                "throttled": self.throttled, "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight, "concurrency": self.concurrency,
                "faults": dict(self.faults.injected),
                "login_failures": len(self.login_audit), "records": records,
                "duplicate_external_ids": duplicates,
            }

    def records(self, record_type: str) -> list[dict[str, Any]]:
        from .views import render_record

        canonical = _known(record_type)
        with self.lock:
            return [render_record(self, canonical, r, base=None, expand=True)
                    for r in self._records[canonical].values()]

    def record(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        from .views import render_record

        canonical = _known(record_type)
        with self.lock:
            try:
                found = self.get(canonical, str(record_id))
            except NsError:
                return None
            return render_record(self, canonical, found, base=None, expand=True)

    def credential_env(self) -> dict[str, str]:
        """The account's TBA credentials under the environment variable names flx.toml uses
        (NS_CLIENT_ID, NS_CLIENT_SECRET, NS_TOKEN_ID, NS_TOKEN_SECRET), for the demo."""
        c = self.credentials
        return {"NS_CLIENT_ID": c.consumer_key, "NS_CLIENT_SECRET": c.consumer_secret,
                "NS_TOKEN_ID": c.token_id, "NS_TOKEN_SECRET": c.token_secret}

    def login_audit_trail(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.login_audit]


def _known(record_type: str) -> str:
    canonical = S.canonical_type(record_type)
    if canonical is None:
        raise KeyError(f"the emulator has no record type {record_type!r}")
    return canonical


def check_url_eid(eid: str) -> str:
    if not _EID_OK.match(eid):
        raise NsError(400, "INVALID_PARAMETER",
                      f"The external ID '{eid}' cannot be used in a URL: only letters, digits, "
                      "'_' and '-' are allowed after eid:.")
    return eid
