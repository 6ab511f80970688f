"""A small SuiteQL: `SELECT cols FROM table [alias] [WHERE expr] [ORDER BY col [ASC|DESC],...]`
with AND/OR/NOT, parentheses, =, <>, IN (...), IS [NOT] NULL, LOWER()/UPPER(), string literals
('' escapes) and numbers. Anything else is refused with a 400 that names the unsupported part,
never answered with a silently empty result."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .errors import NsError
from .tables import NUMERIC, TABLES, Row, Table

if TYPE_CHECKING:
    from .state import Emulator

_PREFIX = "Invalid search query. Detailed unprocessed description follows. Search error " \
          "occurred: "
_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<op><>|!=|<=|>=|\|\||[=<>(),.*+/;-])
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<bad>\S)
)""", re.VERBOSE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "is", "null", "as", "order",
             "by", "asc", "desc"}
_UNSUPPORTED = {"join", "inner", "left", "right", "outer", "cross", "full", "on", "group",
                "having", "union", "intersect", "minus", "except", "like", "between",
                "distinct", "limit", "fetch", "offset", "top", "case", "exists", "with",
                "rownum", "connect", "start"}
_FUNCTIONS = {"lower": str.lower, "upper": str.upper}


def fail(message: str) -> NsError:
    return NsError(400, "INVALID_PARAMETER", _PREFIX + message, path="q")


@dataclass
class Tok:
    kind: str  # str | num | op | word | end
    text: str
    pos: int


def tokenize(query: str) -> list[Tok]:
    tokens, pos = [], 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:  # only trailing whitespace is left
            break
        kind = match.lastgroup or "bad"
        text = match.group(kind)
        if kind == "bad":
            raise fail(f"unexpected character {text!r} at position {match.start(kind)}.")
        if kind == "str" and _CONTROL.search(text):
            # NetSuite refuses a query whose text literal carries a control character.
            raise fail(f"invalid character in a text literal at position {match.start(kind)}.")
        tokens.append(Tok(kind, text, match.start(kind)))
        pos = match.end()
    tokens.append(Tok("end", "", len(query)))
    return tokens


# Expressions are nested tuples: ("col", name) ("lit", value) ("fn", name, arg)
# ("cmp", op, left, right) ("in", negated, operand, [operands]) ("null", negated, operand)
# ("and", a, b) ("or", a, b) ("not", a)
Expr = tuple[Any, ...]


@dataclass
class Query:
    table: str
    columns: list[tuple[Expr, str]]  # (operand, output name)
    where: Expr | None
    order: list[tuple[Expr, bool]]  # (operand, descending)


class Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.i = 0
        self.table = ""
        self.alias = ""

    # --- token helpers -----------------------------------------------------------------------

    def peek(self) -> Tok:
        return self.tokens[self.i]

    def word(self, tok: Tok | None = None) -> str:
        tok = tok or self.peek()
        return tok.text.lower() if tok.kind == "word" else ""

    def take(self) -> Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect_word(self, word: str) -> None:
        if self.word() != word:
            self.unexpected(word.upper())
        self.take()

    def expect_op(self, op: str) -> None:
        if self.peek().text != op:
            self.unexpected(repr(op))
        self.take()

    def unexpected(self, wanted: str) -> None:
        tok = self.peek()
        if self.word(tok) in _UNSUPPORTED:
            raise fail(f"{tok.text.upper()} is not supported by the flx NetSuite emulator "
                       f"(position {tok.pos}).")
        found = tok.text or "end of query"
        raise fail(f"expected {wanted} but found {found!r} at position {tok.pos}.")

    # --- grammar -------------------------------------------------------------------------------

    def parse(self) -> Query:
        self.expect_word("select")
        start = self.i
        while self.peek().kind != "end" and self.word() != "from":  # skip to FROM first:
            self.take()  # columns are resolved against the table named after it
        if self.peek().kind == "end":
            self.unexpected("FROM")
        self.take()
        self.table = self.identifier("a table name").lower()
        if self.table not in TABLES:
            raise fail(f"Record '{self.table}' was not found (the emulator knows "
                       f"{', '.join(sorted(TABLES))}).")
        if self.peek().kind == "word" and self.word() not in _KEYWORDS | _UNSUPPORTED:
            self.alias = self.take().text.lower()
        after_from = self.i
        self.i = start
        columns = self.select_list()
        self.i = after_from
        where = None
        if self.word() == "where":
            self.take()
            where = self.expr()
        order: list[tuple[Expr, bool]] = []
        if self.word() == "order":
            self.take()
            self.expect_word("by")
            order = self.order_list(columns)
        if self.peek().text == ";":
            self.take()
        if self.peek().kind != "end":
            self.unexpected("end of query")
        return Query(self.table, columns, where, order)

    def identifier(self, what: str) -> str:
        tok = self.peek()
        if tok.kind != "word" or self.word(tok) in _KEYWORDS | _UNSUPPORTED:
            self.unexpected(what)
        return self.take().text

    def select_list(self) -> list[tuple[Expr, str]]:
        if self.peek().text == "*":
            self.take()
            self.expect_word("from")
            return [(("col", name), name) for name in TABLES[self.table].columns]
        columns: list[tuple[Expr, str]] = []
        while True:
            operand = self.operand()
            name = operand[1] if operand[0] == "col" else f"expr{len(columns) + 1}"
            if self.word() == "as":
                self.take()
                name = self.identifier("a column alias")
            elif self.peek().kind == "word" and self.word() not in _KEYWORDS | _UNSUPPORTED:
                name = self.take().text
            columns.append((operand, name.lower()))  # SuiteQL lowercases every key
            if self.peek().text != ",":
                break
            self.take()
        self.expect_word("from")
        return columns

    def order_list(self, columns: list[tuple[Expr, str]]) -> list[tuple[Expr, bool]]:
        aliases = {name: operand for operand, name in columns}
        order = []
        while True:
            tok = self.peek()
            if tok.kind == "word" and tok.text.lower() in aliases and \
                    tok.text.lower() not in TABLES[self.table].columns:
                self.take()
                operand = aliases[tok.text.lower()]
            else:
                operand = self.operand()
            descending = False
            if self.word() in ("asc", "desc"):
                descending = self.take().text.lower() == "desc"
            order.append((operand, descending))
            if self.peek().text != ",":
                return order
            self.take()

    def expr(self) -> Expr:
        left = self.conjunction()
        while self.word() == "or":
            self.take()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.word() == "and":
            self.take()
            left = ("and", left, self.negation())
        return left

    def negation(self) -> Expr:
        if self.word() == "not":
            self.take()
            return ("not", self.negation())
        if self.peek().text == "(":
            self.take()
            inner = self.expr()
            self.expect_op(")")
            return inner
        return self.predicate()

    def predicate(self) -> Expr:
        left = self.operand()
        tok = self.peek()
        if tok.text in ("=", "<>", "!="):
            self.take()
            return ("cmp", "=" if tok.text == "=" else "<>", left, self.operand())
        negated = False
        if self.word() == "is":
            self.take()
            if self.word() == "not":
                self.take()
                negated = True
            self.expect_word("null")
            return ("null", negated, left)
        if self.word() == "not":
            self.take()
            negated = True
        if self.word() == "in":
            self.take()
            self.expect_op("(")
            items = [self.operand()]
            while self.peek().text == ",":
                self.take()
                items.append(self.operand())
            self.expect_op(")")
            return ("in", negated, left, items)
        if tok.text in ("<", ">", "<=", ">=", "||", "+", "-", "/", "*"):
            raise fail(f"the operator {tok.text} is not supported by the flx NetSuite emulator "
                       f"(position {tok.pos}).")
        self.unexpected("=, <>, IN or IS")
        raise AssertionError  # unreachable: unexpected() raises

    def operand(self) -> Expr:
        tok = self.peek()
        if tok.kind == "str":
            self.take()
            return ("lit", tok.text[1:-1].replace("''", "'"))
        if tok.kind == "num" or (tok.text == "-" and self.tokens[self.i + 1].kind == "num"):
            sign = "-" if tok.text == "-" else ""
            if sign:
                self.take()
            return ("lit", Decimal(sign + self.take().text))
        ahead = self.tokens[self.i + 1:self.i + 4]
        if tok.kind == "word" and [t.text for t in ahead[::2]] == [".", "("]:
            raise fail(f"the function {tok.text.upper()}.{ahead[1].text.upper()} is not "
                       f"supported by the flx NetSuite emulator (position {tok.pos}).")
        if tok.kind == "word" and self.tokens[self.i + 1].text == "(":
            name = tok.text.lower()
            if name not in _FUNCTIONS:
                raise fail(f"the function {tok.text.upper()} is not supported by the flx "
                           f"NetSuite emulator (only LOWER and UPPER; position {tok.pos}).")
            self.take()
            self.take()
            arg = self.operand()
            self.expect_op(")")
            return ("fn", name, arg)
        if self.word(tok) == "null":
            self.take()
            return ("lit", None)
        return ("col", self.column())

    def column(self) -> str:
        tok = self.peek()
        name = self.identifier("a column").lower()
        if self.peek().text == ".":
            self.take()
            if name not in (self.alias, self.table):
                raise fail(f"'{name}' is not the table or its alias (position {tok.pos}); "
                           "joins are not supported by the flx NetSuite emulator.")
            name = self.identifier("a column").lower()
        if name not in TABLES[self.table].columns:
            raise fail(f"Field '{name}' for record '{self.table}' was not found. Reason: "
                       "NOT_EXPOSED - Not available for channel SEARCH")
        return name


# --- evaluation -----------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _value(expr: Expr, row: Row) -> Any:
    kind = expr[0]
    if kind == "col":
        return row.get(expr[1])
    if kind == "lit":
        return expr[1]
    inner = _value(expr[2], row)
    return None if inner is None else _FUNCTIONS[expr[1]](str(inner))


def _equal(left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None  # SQL: comparing with NULL is unknown
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        a, b = _number(left), _number(right)
        return a is not None and a == b
    return str(left) == str(right)


def _truth(expr: Expr, row: Row) -> bool | None:
    kind = expr[0]
    if kind == "and":
        a, b = _truth(expr[1], row), _truth(expr[2], row)
        return False if a is False or b is False else (None if None in (a, b) else True)
    if kind == "or":
        a, b = _truth(expr[1], row), _truth(expr[2], row)
        return True if a is True or b is True else (None if None in (a, b) else False)
    if kind == "not":
        a = _truth(expr[1], row)
        return None if a is None else not a
    if kind == "null":
        is_null = _value(expr[2], row) is None
        return not is_null if expr[1] else is_null
    if kind == "cmp":
        equal = _equal(_value(expr[2], row), _value(expr[3], row))
        return equal if expr[1] == "=" or equal is None else not equal
    if kind == "in":
        left = _value(expr[2], row)
        results = [_equal(left, _value(item, row)) for item in expr[3]]
        found = True if True in results else (None if None in results else False)
        return found if not expr[1] or found is None else not found
    raise fail("a condition must compare something (for example: id = 5).")


def _sort_key(operand: Expr, rows: list[Row]) -> Callable[[Row], Any]:
    values = [_value(operand, row) for row in rows]
    numeric = (operand[0] == "col" and operand[1] in NUMERIC) or all(
        _number(v) is not None for v in values if v is not None)
    if numeric:
        return lambda row: _number(_value(operand, row)) or Decimal(0)
    return lambda row: str(_value(operand, row))


def _narrow(expr: Expr, table: Table, emu: Emulator) -> set[tuple[str, str]] | None:
    """Records that can possibly match, found through the emulator's indexes; None when the
    condition gives no usable key (then every row is scanned). Always a superset: the full
    condition is still evaluated on each candidate."""
    kind = expr[0]
    if kind in ("and", "or"):
        a, b = _narrow(expr[1], table, emu), _narrow(expr[2], table, emu)
        if kind == "or":
            return None if a is None or b is None else a | b
        return b if a is None else a if b is None else a & b
    if kind == "cmp" and expr[1] == "=":
        operands = [expr[2], expr[3]]
    elif kind == "in" and not expr[1]:
        operands = [expr[2], *expr[3]]
    else:
        return None
    columns = [o for o in operands if o[0] in ("col", "fn")]
    literals = [o[1] for o in operands if o[0] == "lit"]
    if len(columns) != 1 or len(literals) != len(operands) - 1:
        return None
    column = columns[0] if columns[0][0] == "col" else columns[0][2]
    if column[0] != "col" or column[1] not in table.indexed:
        return None
    keys: set[tuple[str, str]] = set()
    for value in literals:
        if isinstance(value, Decimal):
            if table.indexed[column[1]] != "id" or value != value.to_integral_value():
                return None  # a number may equal text written differently ("01"): scan
            value = str(int(value))
        if value is not None:
            keys |= table.lookup(emu, column[1], value.lower())
    return keys


def execute(emu: Emulator, text: str) -> list[dict[str, str]]:
    query = Parser(text).parse()
    table = TABLES[query.table]
    with emu.lock:
        keys = _narrow(query.where, table, emu) if query.where is not None else None
        rows = list(table.scan(emu) if keys is None else table.fetch(emu, keys))
    if query.where is not None:
        where = query.where
        rows = [row for row in rows if _truth(where, row) is True]
    for operand, descending in reversed(query.order):  # stable sorts, last key first
        key = _sort_key(operand, rows)
        present = [row for row in rows if _value(operand, row) is not None]
        missing = [row for row in rows if _value(operand, row) is None]
        present.sort(key=key, reverse=descending)
        rows = missing + present if descending else present + missing  # Oracle's NULL order
    out = []
    for row in rows:
        item = {}
        for operand, name in query.columns:
            value = _value(operand, row)
            if value is not None:  # SuiteQL omits nulls
                item[name] = value if isinstance(value, str) else format(value, "f")
        out.append(item)
    return out
