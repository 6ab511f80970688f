"""The subset of QuickBooks' query language flx uses (quickbooks-api.md §2.3):

    SELECT * | COUNT(*) FROM Entity [WHERE cond [AND cond]...] [ORDERBY prop [ASC|DESC]]
    [STARTPOSITION n] [MAXRESULTS n]
    cond := prop (= | < | > | <= | >= | LIKE) value | prop IN (value, ...)

Strings are single-quoted with `\\'` for a quote. No OR, no projections, entity names are
case-sensitive, only filterable properties may appear in WHERE."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import QboFault

FILTERABLE: dict[str, frozenset[str]] = {
    "Customer": frozenset({"Id", "DisplayName", "PrimaryEmailAddr", "Active", "GivenName",
                           "FamilyName", "CompanyName", "MetaData.LastUpdatedTime"}),
    "Vendor": frozenset({"Id", "DisplayName", "Active", "CompanyName",
                         "MetaData.LastUpdatedTime"}),
    "Item": frozenset({"Id", "Name", "Sku", "Active", "Type", "MetaData.LastUpdatedTime"}),
}
for _txn in ("SalesReceipt", "Invoice", "PurchaseOrder", "Bill"):
    FILTERABLE[_txn] = frozenset({"Id", "DocNumber", "TxnDate", "CustomerRef", "VendorRef",
                                  "MetaData.LastUpdatedTime"})

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<op><=|>=|=|<|>|\(|\)|,|\*)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")
_OPERATORS = ("=", "<", ">", "<=", ">=")


@dataclass
class Condition:
    prop: str
    op: str
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order_by: tuple[str, bool] | None = None  # (prop, descending)
    start: int = 1
    max_results: int = 100


def parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise parse_error(f"Encountered \"{text[pos:pos + 10]}\" at column {pos + 1}")
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "str":
            out.append(("value", re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "num":
            out.append(("value", Decimal(raw)))
        elif kind == "word" and raw.lower() in ("true", "false"):
            out.append(("value", raw.lower() == "true"))
        else:
            out.append((kind, raw))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise parse_error("Encountered \"<EOF>\"")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() == word:
            self.pos += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise parse_error(f"expected {word} at token {self.pos + 1}")

    def integer(self) -> int:
        kind, value = self.take()
        if kind != "value" or not isinstance(value, Decimal) or value != int(value):
            raise parse_error(f"expected a number, found {value!r}")
        return int(value)


def parse(text: str) -> Query:
    p = _Parser(text)
    p.expect("SELECT")
    kind, value = p.take()
    count = False
    if kind == "word" and value.upper() == "COUNT":
        if [p.take()[1] for _ in range(3)] != ["(", "*", ")"]:
            raise parse_error("expected COUNT(*)")
        count = True
    elif (kind, value) != ("op", "*"):
        raise parse_error("only SELECT * and SELECT COUNT(*) are supported")
    p.expect("FROM")
    kind, entity = p.take()
    if kind != "word":
        raise parse_error("expected an entity name after FROM")
    query = Query(entity, count)
    if p.keyword("WHERE"):
        query.where.append(_condition(p))
        while p.keyword("AND"):
            query.where.append(_condition(p))
    if p.keyword("ORDERBY"):
        prop = p.take()[1]
        descending = p.keyword("DESC")
        if not descending:
            p.keyword("ASC")
        query.order_by = (prop, descending)
    if p.keyword("STARTPOSITION"):
        query.start = p.integer()
    if p.keyword("MAXRESULTS"):
        query.max_results = p.integer()
    if p.peek() is not None:
        raise parse_error(f"unexpected {p.peek()[1]!r}")  # type: ignore[index]
    return query


def _condition(p: _Parser) -> Condition:
    kind, prop = p.take()
    if kind != "word":
        raise parse_error(f"expected a property name, found {prop!r}")
    if p.keyword("IN"):
        if p.take() != ("op", "("):
            raise parse_error("expected ( after IN")
        values = []
        while True:
            kind, value = p.take()
            if kind != "value":
                raise parse_error(f"expected a value in IN (...), found {value!r}")
            values.append(value)
            sep = p.take()
            if sep == ("op", ")"):
                return Condition(prop, "IN", values)
            if sep != ("op", ","):
                raise parse_error("expected , or ) in IN (...)")
    if p.keyword("LIKE"):
        op = "LIKE"
    else:
        kind, op = p.take()
        if kind != "op" or op not in _OPERATORS:
            raise parse_error(f"expected an operator after {prop}, found {op!r}")
    kind, value = p.take()
    if kind != "value":
        raise parse_error(f"expected a value after {prop} {op}, found {value!r}")
    return Condition(prop, op, [value])


def _field(obj: dict[str, Any], prop: str) -> Any:
    value: Any = obj
    for part in prop.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):  # PrimaryEmailAddr {"Address"}, CustomerRef {"value"}
        value = value.get("Address", value.get("value"))
    return value


def _matches(obj: dict[str, Any], cond: Condition, fold_case: frozenset[str]) -> bool:
    actual = _field(obj, cond.prop)
    if actual is None:
        return False
    wanted = cond.values
    if isinstance(actual, str) and cond.prop in fold_case:
        actual = actual.lower()
        wanted = [v.lower() if isinstance(v, str) else v for v in wanted]
    if isinstance(actual, (int, float, Decimal)) and not isinstance(actual, bool):
        actual = Decimal(str(actual))
    if cond.op == "IN":
        return actual in wanted
    value = wanted[0]
    if cond.op == "LIKE":
        pattern = "".join(".*" if c == "%" else re.escape(c) for c in str(value))
        return re.fullmatch(pattern, str(actual), re.DOTALL) is not None
    try:
        return bool({"=": actual == value, "<": actual < value, ">": actual > value,
                     "<=": actual <= value, ">=": actual >= value}[cond.op])
    except TypeError:
        return False


def execute(query: Query, objects: Iterable[dict[str, Any]], *,
            extra_filterable: frozenset[str] = frozenset(),
            fold_case: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The `QueryResponse` body for `query` over `objects` (all of type query.entity)."""
    allowed = FILTERABLE.get(query.entity, frozenset()) | extra_filterable
    for cond in query.where:
        if cond.prop not in allowed:
            raise QboFault("4001", "Invalid query",
                           f"QueryValidationError: property '{cond.prop}' is not queryable")
    if query.max_results > 1000 or query.max_results < 1 or query.start < 1:
        raise QboFault("4001", "Invalid query",
                       "QueryValidationError: STARTPOSITION must be >= 1 and MAXRESULTS "
                       "between 1 and 1000")
    rows = [o for o in objects if all(_matches(o, c, fold_case) for c in query.where)]
    if query.count:
        return {"totalCount": len(rows)}
    if query.order_by:
        prop, descending = query.order_by
        rows.sort(key=lambda o: str(_field(o, prop) or ""), reverse=descending)
    else:
        rows.sort(key=lambda o: int(o["Id"]))
    page = rows[query.start - 1: query.start - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
