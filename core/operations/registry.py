"""The operations flx runs, as values a plugin registers (`register_operations(register)`),
and the eligibility check every run makes with them.

An `Operation` names the record kind it sends, that kind's JSON Schema and its list key in an
import document, the words reports use, the operation whose record must be done first
(`requires`: a shipment's order must be sent by send-orders) and its own rules. Core reads
this registry wherever it used to list the three operations it was born with.

A rule is `rule(ctx, record) -> Ineligible | None`; the first Ineligible wins. With `requires`
the check is: the record's prerequisite (named by its `<kind>_id` field) is imported and in
scope, then the operation's rules, then the connector's own rules, then the prerequisite is
done on this connection (sent or linked). Data problems come before waiting for another run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from flx.errors import PluginError

if TYPE_CHECKING:
    from flx.store.store import Store

__all__ = ["Ineligible", "Operation", "OperationWords", "Operations", "Prefetched", "Reads",
           "RegisterOperation", "Rule", "RuleContext", "in_scope"]

SENT = frozenset({"sent", "linked"})
# The store's columns hold operation names of up to 50 characters and kinds of up to 32.
NAME = re.compile(r"(?=.{1,50}\Z)[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")  # send-vendor-bills
KIND = re.compile(r"[a-z][a-z_]{0,31}\Z")  # vendor_bill


@dataclass(frozen=True)
class Ineligible:
    """Why a record is not sent now. `message` has no prefix; str() adds "waiting:"/"skipped:".

    - `waiting=True`: the record belongs to this connection but a prerequisite is missing;
      the runner stores it as `waiting` with the reason and takes it again on a later run.
    - `waiting=False`: not this connection's at all (its channel or source is not selected);
      left untouched, another connection may own it."""

    message: str
    waiting: bool = True
    # Not a missing prerequisite but a record that can never go as it is: the runner fails
    # it (class "data", with this fix) instead of letting it wait for ever.
    fix: str | None = None

    def __str__(self) -> str:
        return f"{'waiting' if self.waiting else 'skipped'}: {self.message}"


class Reads(Protocol):
    """The store reads a rule may make (a Store, or Prefetched)."""

    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None: ...

    def get_sync(self, connection: str, operation: str, record_id: str) -> Any: ...


@dataclass(frozen=True)
class RuleContext:
    """What a rule may read: the store, the connection's name, the connector's display name,
    the operation's settings and those of the operation it requires."""

    store: Reads
    connection: str
    connector_name: str
    settings: Mapping[str, Any] | None = None
    required_settings: Mapping[str, Any] | None = None


Rule = Callable[[RuleContext, Mapping[str, Any]], Ineligible | None]


@dataclass(frozen=True)
class OperationWords:
    """How reports name the operation's records: "vendor bill", "vendor bills"."""

    noun: str
    plural: str
    done: str = "sent"

    def count(self, n: int) -> str:
        return f"{n} {self.noun if n == 1 else self.plural}"


@dataclass(frozen=True)
class Operation:
    """One operation: what it sends and when a record may go."""

    name: str  # "send-vendor-bills"
    kind: str  # "vendor_bill"
    record_schema: Mapping[str, Any]  # JSON Schema (draft 2020-12) of one record
    list_key: str  # "vendor_bills" in an import document
    words: OperationWords
    requires: str | None = None  # "send-orders": the record's order must be done there first
    rules: tuple[Rule, ...] = ()
    position: int = 100  # order in a schedule tick and in listings
    plugin_name: str = ""
    description: str = ""


RegisterOperation = Callable[[Operation], None]


def _listed(settings: Mapping[str, Any] | None, key: str) -> Sequence[str]:
    return list((settings or {}).get(key) or [])


def in_scope(record: Mapping[str, Any], connection: str,
             settings: Mapping[str, Any] | None) -> Ineligible | None:
    """The channel/source filter of a connection's operation settings (empty list: all)."""
    for key, name in (("channels", "channel"), ("sources", "source")):
        allowed = _listed(settings, key)
        value = record.get(name)
        if allowed and value not in allowed:
            return Ineligible(f"{name} {value!r} is not selected for connection {connection}",
                              waiting=False)
    return None


class Operations:
    """The registry: every registered operation, in `position` order."""

    def __init__(self, operations: Iterable[Operation] = ()) -> None:
        self._ops: dict[str, Operation] = {}
        for op in operations:
            self.add(op)

    # -- registration ---------------------------------------------------------------------------

    def add(self, op: Operation) -> None:
        """Register `op`, refusing what would make the registry ambiguous (PluginError)."""
        if not isinstance(op, Operation):
            raise PluginError(f"{op!r} is not an Operation", hint="register Operation(...)")
        who = f"plugin {op.plugin_name!r}" if op.plugin_name else "a plugin"
        problems = []
        if not NAME.match(op.name):
            problems.append(f"name {op.name!r} is not lower-case words joined by '-' "
                            "(at most 50 characters, for example send-refunds)")
        if not KIND.match(op.kind):
            problems.append(f"kind {op.kind!r} is not lower-case letters and '_' "
                            "(at most 32, for example refund)")
        if not KIND.match(op.list_key):
            problems.append(f"list_key {op.list_key!r} is not lower-case letters and '_'")
        for other in self._ops.values():
            if other.name == op.name:
                problems.append(f"the operation {op.name!r} is registered twice "
                                f"(also by {other.plugin_name or 'another plugin'})")
            elif other.kind == op.kind:
                problems.append(f"kind {op.kind!r} is already sent by {other.name!r}")
            elif other.list_key == op.list_key:
                problems.append(f"list_key {op.list_key!r} is already used by {other.name!r}")
        problems += _schema_problems(op.record_schema)
        if problems:
            raise PluginError(f"{who} registered an invalid operation {op.name!r}: "
                              + "; ".join(problems),
                              hint="correct the Operation the plugin registers")
        self._ops[op.name] = op

    def validate(self) -> None:
        """After every plugin registered: each `requires` names a registered operation."""
        for op in self._ops.values():
            if op.requires is not None and op.requires not in self._ops:
                raise PluginError(
                    f"operation {op.name!r} requires {op.requires!r}, which no plugin registers",
                    hint=f"install the plugin that provides {op.requires!r}, or correct "
                         "`requires`")
            if op.requires == op.name:
                raise PluginError(f"operation {op.name!r} requires itself",
                                  hint="`requires` names another operation")

    # -- reading --------------------------------------------------------------------------------

    def _sorted(self) -> list[Operation]:
        return sorted(self._ops.values(), key=lambda o: o.position)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._sorted())

    def __len__(self) -> int:
        return len(self._ops)

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __getitem__(self, name: str) -> Operation:
        try:
            return self._ops[name]
        except KeyError:
            raise PluginError(f"unknown operation {name!r}",
                              hint=f"use one of: {', '.join(self.names())}") from None

    def get(self, name: str) -> Operation | None:
        return self._ops.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self._sorted())

    def kinds(self) -> tuple[str, ...]:
        return tuple(o.kind for o in self._sorted())

    def for_kind(self, kind: str) -> tuple[Operation, ...]:
        return tuple(o for o in self._sorted() if o.kind == kind)

    def kind_of(self, name: str) -> str:
        return self[name].kind

    def list_keys(self) -> dict[str, str]:
        """list key -> kind ("orders" -> "order"), as an import document names its lists."""
        return {o.list_key: o.kind for o in self._sorted()}

    def words(self, kind: str) -> OperationWords:
        """The words of a kind's records; a kind no operation sends gets plain ones."""
        for op in self._sorted():
            if op.kind == kind:
                return op.words
        noun = kind.replace("_", " ")
        return OperationWords(noun, f"{noun}s")

    # -- eligibility ----------------------------------------------------------------------------

    def check(self, operation: str, record: Mapping[str, Any], ctx: RuleContext,
              extra: Sequence[Rule] = ()) -> Ineligible | None:
        """None when `record` may go now by `operation` (the connector's `extra` rules
        included), else the first reason it may not."""
        op = self[operation]
        required = self[op.requires] if op.requires else None
        prerequisite: Mapping[str, Any] | None = None
        if required is not None:
            prerequisite, reason = _prerequisite(op, required, record, ctx)
            if reason is not None or prerequisite is None:
                return reason
        for rule in (*op.rules, *extra):
            reason = rule(ctx, record)
            if reason is not None:
                return reason
        if required is not None and prerequisite is not None:
            return _prerequisite_done(required, prerequisite, ctx)
        return None


def _schema_problems(schema: Mapping[str, Any]) -> list[str]:
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return ["record_schema must be a JSON Schema of an object (\"type\": \"object\")"]
    from jsonschema import Draft202012Validator, SchemaError  # late: `flx --help` stays quick

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        return [f"record_schema is not a valid JSON Schema: {exc.message}"]
    return []


def link_field(required: Operation) -> str:
    """The field by which a record names its prerequisite: `order_id` for an order."""
    return f"{required.kind}_id"


def _prerequisite(op: Operation, required: Operation, record: Mapping[str, Any],
                  ctx: RuleContext) -> tuple[Mapping[str, Any] | None, Ineligible | None]:
    link = record.get(link_field(required))
    found = ctx.store.get_record(required.kind, str(link)) if link else None
    if found is None:
        return None, Ineligible(f"{op.words.noun} {record.get('id')}: {required.words.noun} "
                                f"{link} has not been imported yet")
    # A record of a prerequisite another connection owns is not this connection's either.
    scope = ctx.settings if (_listed(ctx.settings, "channels")
                             or _listed(ctx.settings, "sources")) else ctx.required_settings
    return found, in_scope(found, ctx.connection, scope)


def _prerequisite_done(required: Operation, prerequisite: Mapping[str, Any],
                       ctx: RuleContext) -> Ineligible | None:
    rid = str(prerequisite["id"])
    state = ctx.store.get_sync(ctx.connection, required.name, rid)
    if state is not None and state.status in SENT:
        return None
    status = state.status if state is not None else "not sent"
    return Ineligible(f"{required.words.noun} {rid} is not in {ctx.connector_name} yet "
                      f"({required.name}: {status})")


@dataclass
class Prefetched:
    """The reads of a page of candidates' prerequisite checks (each record's prerequisite and
    its sync state), made in two queries for the whole page. Stands in for the store in a
    RuleContext; other reads go to the store."""

    store: Store
    connection: str
    records: Sequence[Mapping[str, Any]]
    kind: str  # of the prerequisite ("order"), which a record names by `<kind>_id`
    operation: str  # that makes it done ("send-orders")
    _records: dict[str, dict[str, Any]] = field(init=False, repr=False)
    _states: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        key = f"{self.kind}_id"
        ids = {str(r[key]) for r in self.records if r.get(key)}
        self._records = self.store.get_records(self.kind, ids)
        self._states = self.store.get_syncs(self.connection, self.operation, ids)

    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        if kind != self.kind:
            return self.store.get_record(kind, record_id)
        return self._records.get(record_id)

    def get_sync(self, connection: str, operation: str, record_id: str) -> Any:
        if (connection, operation) != (self.connection, self.operation):
            return self.store.get_sync(connection, operation, record_id)
        return self._states.get(record_id)
