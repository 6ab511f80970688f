"""`${VAR}` references in flx.toml: put values in from the environment, collect what is
missing or malformed, and tell a value written in the file from one that only names a
variable (the first may be a secret, the second never is). Also `toml_path`, the way every
config problem names its key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Interpolator", "is_literal", "toml_path", "unresolved_reference"]

# `$${` is a literal `${`; `${NAME}` is a variable; a `${` that matches neither is an error.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A value that is nothing but one `${...}` (closed or not): a variable name, never a secret.
_ONLY_REFERENCE = re.compile(r"\$\{[^}$]*\}?")
_UNCLOSED = re.compile(r"\$\{\s*[A-Za-z0-9_]+\s*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_path(parts: Iterable[str | int]) -> str:
    """`["connections", "prod", "channels", 0]` -> `connections.prod.channels[0]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            out += f".{key}" if out else key
    return out or "(top level)"


def _references(value: str) -> list[str]:
    return [m[1] for m in _REFERENCE.finditer(value) if m[0] != "$${" and m[1] is not None]


def is_literal(value: Any) -> bool:
    """True when any character of the value is written in the file itself (not `${VAR}`)."""
    if not isinstance(value, str):
        return value is not None
    rest = _REFERENCE.sub(lambda m: "" if m[1] is not None else m[0], value)
    return bool(rest.strip())


def unresolved_reference(value: Any, raw_value: Any) -> bool:
    """A secret key still holding its own `${...}` text (malformed, so not substituted) holds
    a variable name, not a secret: the problem about it may show it."""
    return (isinstance(raw_value, str) and value == raw_value
            and _ONLY_REFERENCE.fullmatch(raw_value.strip()) is not None)


class Interpolator:
    """Resolves every `${VAR}` of a parsed file; problems, missing names (per key) and keys
    with a malformed reference are collected rather than raised."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []
        self.missing: dict[tuple[str | int, ...], list[str]] = {}
        self.bad: set[tuple[str | int, ...]] = set()  # keys with a malformed reference

    def resolve(self, value: Any, path: tuple[str | int, ...] = ()) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            return _REFERENCE.sub(lambda m: self._one(m, path, value), value)
        return value

    def _one(self, m: re.Match[str], path: tuple[str | int, ...], value: str) -> str:
        if m[0] == "$${":
            return "${"
        name = m[1]
        if name is None and _UNCLOSED.fullmatch(value):
            # The whole value is `${NAME` without its brace: a name, safe to show.
            self.problems.append(
                f"{toml_path(path)}: {value!r} is missing its closing '}}' "
                f"(write ${{{value[2:].strip()}}})")
            self.bad.add(path)
            return m[0]
        if name is None or not _VAR_NAME.fullmatch(name.strip()):
            self.problems.append(
                f"{toml_path(path)}: {m[0]!r} is not a valid variable reference "
                "(write ${NAME} with letters, digits and _, or $${ for a literal ${)")
            self.bad.add(path)
            return m[0]
        name = name.strip()
        if name not in self.env:
            self.missing.setdefault(path, []).append(name)
            return m[0]
        return self.env[name]
