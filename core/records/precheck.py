"""A fast yes/no check of a record against its schema, with exactly the meaning of the
validator in flx.records.validate (Decimal-aware numbers, `x-decimal-places`, ECMA-262 `$`, RFC 3339
date-times). A record it passes is valid; one it fails is validated again by jsonschema,
whose complete list of problems (each with its JSON path) is what the user reads. Imports
of 100,000 records need it: jsonschema takes about 0.6 ms an order, this about 0.02 ms.

The schema is turned into the source of one Python function (as fastjsonschema does, which
cannot be used here: its `$`, integer and format rules differ from flx's). Only the keywords
flx's record schemas use are supported; a schema with any other keyword gets no fast check
(None), so an unsupported keyword can never be skipped by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["compile_check"]

Check = Callable[[Any], bool]

# Words only: they never change what is valid.
_ANNOTATIONS = frozenset({"$id", "$schema", "$comment", "title", "description", "default",
                          "examples", "x-because", "x-format-hint", "x-secret", "x-secret-part"})
_SIMPLE_TYPES = {"string": "str", "object": "dict", "array": "list"}
_REMEMBERED = 4096  # texts remembered per pattern as matching it


class _Unsupported(Exception):
    pass


def compile_check(schema: Mapping[str, Any], *, is_integer: Callable[[Any, Any], bool],
                  is_number: Callable[[Any, Any], bool], pattern: Callable[[str], Any],
                  is_datetime: Callable[[Any], bool],
                  money_problem: Callable[..., str | None]) -> Check | None:
    """A function telling whether a record is valid, or None for a schema it cannot judge.
    The callables are the validator's own rules, so both judge alike. For records whose
    numbers are all finite (the importer's parser says when one is not)."""
    source = _Source({"is_integer": is_integer, "is_number": is_number, "pattern": pattern,
                      "is_datetime": is_datetime, "money_problem": money_problem,
                      "Decimal": Decimal})
    try:
        source.function("check", schema)
    except _Unsupported:
        return None
    namespace = dict(source.names)
    exec(compile("\n".join(source.lines), "<record check>", "exec"), namespace)  # noqa: S102
    check: Check = namespace["check"]
    return check


class _Source:
    """Writes one function per compiled (sub)schema: statements that `return False` at the
    first rule the value breaks, `return True` at the end."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names
        self.lines: list[str] = []
        self.count = 0

    def name(self, prefix: str, value: Any = None) -> str:
        self.count += 1
        name = f"{prefix}_{self.count}"
        if value is not None:
            self.names[name] = value
        return name

    def function(self, name: str, schema: Any) -> None:
        body: list[str] = []
        self.node(schema, "v0", 0, body, "    ")
        self.lines += [f"def {name}(v0):", *body, "    return True", ""]

    def node(self, schema: Any, var: str, depth: int, out: list[str], pad: str) -> None:
        if schema is True:
            return
        if not isinstance(schema, Mapping):
            raise _Unsupported(schema)
        unknown = set(schema) - _ANNOTATIONS - {
            "type", "properties", "required", "items", "minItems", "minLength", "maxLength",
            "pattern", "enum", "const", "minimum", "maximum", "format", "if", "then",
            "x-decimal-places"}
        if unknown:
            raise _Unsupported(unknown)
        fail = f"{pad}    return False"
        types = _types(schema.get("type"))
        if types is not None:
            out += [f"{pad}if not ({self.type_test(types, var)}):", fail]

        def only(kind: str) -> str:
            """A test that `var` is of the Python type `kind`, knowing the type check passed."""
            allowed = {_SIMPLE_TYPES.get(t, t) for t in types} if types is not None else None
            if allowed == {kind}:
                return "True"
            if allowed == {kind, "null"}:
                return f"{var} is not None"
            return f"isinstance({var}, {kind})"

        if "required" in schema:
            names = " and ".join(f"{key!r} in {var}" for key in schema["required"])
            out += [f"{pad}if {only('dict')} and not ({names}):", fail]
        for key, kind, op in (("minItems", "list", "<"), ("minLength", "str", "<"),
                              ("maxLength", "str", ">")):
            if key in schema:
                out += [f"{pad}if {only(kind)} and len({var}) {op} {int(schema[key])}:", fail]
        if "pattern" in schema:
            # Text seen to match before (line ids, countries, currencies repeat in every
            # record) skips the regular expression; at most _REMEMBERED kept.
            search = self.name("search", pattern_search(self.names["pattern"], schema["pattern"]))
            seen = self.name("matched", set())
            out += [f"{pad}if {only('str')} and {var} not in {seen}:",
                    f"{pad}    if {search}({var}) is None:", f"{pad}        return False",
                    f"{pad}    if len({seen}) < {_REMEMBERED}:", f"{pad}        {seen}.add({var})"]
        for key in ("enum", "const"):
            if key in schema:
                values = schema[key] if key == "enum" else [schema[key]]
                if not all(isinstance(item, str) for item in values):
                    raise _Unsupported(key)  # jsonschema's equality (1 is not True) needed
                allowed = self.name("allowed", frozenset(values))
                out += [f"{pad}if not isinstance({var}, str) or {var} not in {allowed}:", fail]
        number = f"(isinstance({var}, (int, float, Decimal)) and not isinstance({var}, bool))"
        for key, op in (("minimum", "<"), ("maximum", ">")):
            if key in schema:
                bound = self.name("bound", schema[key])
                out += [f"{pad}if {number} and {var} {op} {bound}:", fail]
        if "format" in schema:
            if schema["format"] != "date-time":
                raise _Unsupported(schema["format"])
            out += [f"{pad}if {only('str')} and not _datetime({var}):", fail]
            self.names["_datetime"] = _datetime_rule(self.names["is_datetime"])
        if "x-decimal-places" in schema:
            self.money(schema, var, out, pad)
        if "if" in schema:
            test, then = self.name("if"), self.name("then")
            self.function(test, schema["if"])
            self.function(then, schema.get("then", True))
            out += [f"{pad}if {test}({var}) and not {then}({var}):", fail]
        if "properties" in schema:
            child, block = f"v{depth + 1}", []
            for key, sub in schema["properties"].items():
                inner: list[str] = []
                self.node(sub, child, depth + 1, inner, pad + "        ")
                if inner:
                    block += [f"{pad}    if {key!r} in {var}:",
                              f"{pad}        {child} = {var}[{key!r}]", *inner]
            if block:
                out += [f"{pad}if {only('dict')}:", *block]
        if "items" in schema:
            if not isinstance(schema["items"], Mapping):
                raise _Unsupported("items")
            child, inner = f"v{depth + 1}", []
            self.node(schema["items"], child, depth + 1, inner, pad + "        ")
            if inner:
                out += [f"{pad}if {only('list')}:", f"{pad}    for {child} in {var}:", *inner]

    def type_test(self, names: list[str], var: str) -> str:
        tests = []
        simple = [_SIMPLE_TYPES[n] for n in names if n in _SIMPLE_TYPES]
        if simple:
            kinds = simple[0] if len(simple) == 1 else f"({', '.join(simple)})"
            tests.append(f"isinstance({var}, {kinds})")
        for name in names:
            if name in _SIMPLE_TYPES:
                continue
            test = {"null": f"{var} is None", "boolean": f"isinstance({var}, bool)",
                    "integer": f"(isinstance({var}, int) and not isinstance({var}, bool)"
                               f" or is_integer(None, {var}))",
                    "number": f"(isinstance({var}, (int, float, Decimal)) and not "
                              f"isinstance({var}, bool))"}.get(name)
            if test is None:
                raise _Unsupported(name)
            tests.append(test)
        return " or ".join(tests) or "False"

    def money(self, schema: Mapping[str, Any], var: str, out: list[str], pad: str) -> None:
        maximum = schema.get("maximum")
        bound = self.name("bound", None if maximum is None else Decimal(str(maximum)))
        self.names[bound] = None if maximum is None else Decimal(str(maximum))
        places = int(schema["x-decimal-places"])
        # Plain text amounts with fewer integer digits than the bound, and whole numbers in
        # range, are fine at a glance; anything else gets the full rule.
        digits = "+" if maximum is None else f"{{1,{len(str(int(maximum))) - 1}}}"
        plain = self.name("plain", re.compile(rf"[0-9]{digits}(\.[0-9]{{1,{places}}}0*)?\Z"))
        rule = f"money_problem({var}, {places}, maximum={bound}) is not None"
        in_range = f"0 <= {var} <= {bound}" if maximum is not None else f"0 <= {var}"
        out += [f"{pad}if type({var}) is str:",
                f"{pad}    if {plain}.match({var}) is None and {rule}:",
                f"{pad}        return False",
                f"{pad}elif type({var}) is int:",
                f"{pad}    if not {in_range} and {rule}:",
                f"{pad}        return False",
                f"{pad}elif isinstance({var}, (str, int, float, Decimal)) and not isinstance("
                f"{var}, bool) and {rule}:",
                f"{pad}    return False"]


def _types(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def pattern_search(compiled: Callable[[str], Any], pattern: str) -> Callable[[str], Any]:
    search: Callable[[str], Any] = compiled(pattern).search
    return search


def _datetime_rule(is_datetime: Callable[[Any], bool]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            return bool(is_datetime(value))
        except ValueError:
            return False
    return check
