"""The template sandbox: what a payload template or a profile expression may do, and how much.

Jinja's sandbox already keeps templates away from Python internals; this adds the limits a
client's template override or mapping expression runs under, so that one bad template fails
its records with a clear error instead of rendering for minutes or building a gigabyte:
render time, output size, loop iterations and arithmetic size (`RenderLimits`, set by the
mapping profile's `limits`). Loops and concatenations are guarded by rewriting the template's
syntax tree before it is compiled; C-level operations that could run unbounded (`**`, `*`,
`%`, `str.center`, `join`, `replace`...) are checked *before* they run, since nothing can stop
them once started. Override templates are read only from inside their folder
(`ConfinedFileSystemLoader`): no symlink or `..` leads out of it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from decimal import Decimal
from itertools import islice
from pathlib import Path
from types import BuiltinMethodType
from typing import Any

from jinja2 import FileSystemLoader, TemplateNotFound, Undefined, nodes
from jinja2 import filters as jinja_filters
from jinja2.loaders import split_template_path
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

__all__ = ["ConfinedFileSystemLoader", "LimitExceeded", "RenderLimits", "Sandbox", "enter",
           "leave", "limited"]


@dataclass(frozen=True)
class RenderLimits:
    """Per record and per template (or profile expression). Defaults fit every shipped
    template with a wide margin: an order renders in about a millisecond, a few KB."""

    seconds: float = 2.0             # wall time of one render
    output_chars: int = 5_000_000    # the rendered text (a 10,000-line order fits), and any
                                     # one string, list or dict built on the way
    loop_iterations: int = 1_000_000  # all `{% for %}` iterations of one render together
    number_digits: int = 1_000      # an integer computed by `*` or `**`

    @classmethod
    def from_profile(cls, data: Mapping[str, Any] | None) -> RenderLimits:
        values = dict(data or {})
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


_SETTING_FIX = "raise limits.{key} in the mapping profile if the template really needs more"
_LIMIT_TEXT = {
    "seconds": "rendering took longer than {value} s",
    "output_chars": "the template built more than {value:,} characters",
    "loop_iterations": "loops ran more than {value:,} iterations",
    "number_digits": "a number grew beyond {value:,} digits",
}


class LimitExceeded(SecurityError):
    """A render went past one of its `RenderLimits`; `limit` names the setting."""

    def __init__(self, limit: str, value: Any) -> None:
        super().__init__(_LIMIT_TEXT[limit].format(value=value)
                         + f" (limits.{limit} = {value})")
        self.limit = limit
        self.hint = ("simplify the template or expression (an endless or nested loop, or a "
                     "huge string or number, is the usual cause), or "
                     + _SETTING_FIX.format(key=limit))


class _Budget:
    """What one render has used so far; lives in a thread-local while the render runs."""

    __slots__ = ("limits", "deadline", "iterations", "built", "_checks")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.iterations = limits.loop_iterations
        self.built = 4 * limits.output_chars  # text built by guarded operations in one render
        self._checks = 0

    def clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded("seconds", self.limits.seconds)

    def tick(self) -> None:
        self.iterations -= 1
        if self.iterations < 0:
            raise LimitExceeded("loop_iterations", self.limits.loop_iterations)
        self._checks += 1
        if not self._checks & 63:
            self.clock()

    def size(self, n: int) -> None:
        """A string or sequence of `n` items is about to be built."""
        if n > self.limits.output_chars:
            raise LimitExceeded("output_chars", self.limits.output_chars)
        self.built -= n
        if self.built < 0:
            raise LimitExceeded("output_chars", self.limits.output_chars)


_local = threading.local()
_DEFAULT = RenderLimits()


def current_budget() -> _Budget:
    """The running render's budget (see _budget)."""
    return _budget()


def _budget() -> _Budget:
    """The running render's budget; outside a render (Jinja folding constants at compile
    time) a fresh one with the default limits, so the same checks apply."""
    budget: _Budget | None = getattr(_local, "budget", None)
    return budget if budget is not None else _Budget(_DEFAULT)


def enter(limits: RenderLimits) -> tuple[_Budget, _Budget | None]:
    """Start one render under `limits` in this thread: (its budget, the one to restore with
    `leave`). Not a context manager: profile expressions render thousands of times a run."""
    outer = getattr(_local, "budget", None)
    budget = _local.budget = _Budget(limits)
    return budget, outer


def leave(outer: _Budget | None) -> None:
    _local.budget = outer


@contextmanager
def limited(limits: RenderLimits) -> Iterator[_Budget]:
    """Run one render under `limits` (in this thread)."""
    budget, outer = enter(limits)
    try:
        yield budget
    finally:
        leave(outer)


# --- guards the rewritten templates call ----------------------------------------------------


class _Counted:
    """A loop's iterable that counts its iterations against the budget (and keeps `len`)."""

    __slots__ = ("_items", "_budget")

    def __init__(self, items: Iterable[Any], budget: _Budget) -> None:
        self._items = items
        self._budget = budget

    def __len__(self) -> int:
        return len(self._items)  # type: ignore[arg-type]  # TypeError: Jinja counts instead

    def __iter__(self) -> Iterator[Any]:
        tick = self._budget.tick
        for item in self._items:
            tick()
            yield item


def _loop_guard(items: Any) -> Any:
    if isinstance(items, Undefined):
        return items  # iterating it raises the precise "has no field" error
    return _Counted(items, _budget())


def _size_guard(value: Any) -> Any:
    """After `~` and list, tuple and dict literals: a value that repeats itself (`[x, x]` in
    a loop doubles) must not grow past the limit, or printing it would never end."""
    if isinstance(value, str):
        _budget().size(len(value))
    elif isinstance(value, (list, tuple, dict)):
        budget = _budget()
        budget.size(_weight(value, budget.limits.output_chars + 1))
    return value


class _Guards(NodeTransformer):
    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_flx_loop", [], [], None, None,
                                 lineno=node.iter.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, "_flx_size", [], [], None, None, lineno=node.lineno)

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load":  # `{% for a, b in ... %}`: a target
            return node
        return nodes.Filter(node, "_flx_size", [], [], None, None, lineno=node.lineno)

    visit_List = visit_Tuple = visit_Dict = _literal


# --- sizes of things before they are built --------------------------------------------------

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
_DIGITS = re.compile(r"\d+")


def _check_format(fmt: str, args: Iterable[Any]) -> None:
    """A printf or str.format string may ask for a width of a billion: refuse it first."""
    limit = _budget().limits.output_chars
    widths = [int(d) for spec in _PERCENT_SPEC.finditer(fmt) for d in spec.groups()
              if d and d != "*"]
    widths += [int(d) for field in _FORMAT_FIELD.findall(fmt) for d in _DIGITS.findall(field)]
    if "*" in fmt:
        widths += [a for a in args if isinstance(a, int)]
    if any(w > limit for w in widths):
        raise LimitExceeded("output_chars", limit)


def _weight(value: Any, cap: int) -> int:
    """Items in nested lists, tuples and dicts (strings count their length; a value met
    twice counts twice, as printing it would), counted up to `cap`."""
    total, stack = 0, [value]
    while stack and total <= cap:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            total += 1
            stack.extend(item)
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.values())
        elif isinstance(item, Namespace):
            total += 1
            stack.extend(object.__getattribute__(item, "_Namespace__attrs").values())
        elif isinstance(item, str):
            total += len(item)
        else:
            total += 1
    return total


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) and not isinstance(value, bool) \
        else 0


def _check_int_bits(bits: int) -> None:
    digits = _budget().limits.number_digits
    if bits > digits * 3.33 + 4:
        raise LimitExceeded("number_digits", digits)


# --- filters that build text from a size argument --------------------------------------------


def _center(value: Any, width: int = 80) -> str:
    if isinstance(width, int):
        _budget().size(width)
    return jinja_filters.do_center(value, width)


def _indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> str:
    text = str(value)
    pad = width if isinstance(width, int) else len(str(width))
    _budget().size(len(text) + (text.count("\n") + 1) * pad)
    return jinja_filters.do_indent(text, width, first, blank)


def _replace(context: Any, value: Any, old: Any, new: Any, count: int | None = None) -> Any:
    text, old_s, new_s = str(value), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None:
        hits = min(hits, max(count, 0))
    _budget().size(len(text) + hits * max(len(new_s) - len(old_s), 0))
    return jinja_filters.do_replace(context, value, old, new, count)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_format(str(value), args)
    return jinja_filters.do_format(value, *args, **kwargs)


def _join(context: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
    items = list(value) if not isinstance(value, Undefined) else value
    if isinstance(items, list):
        budget = _budget()
        budget.size(sum(len(i) if isinstance(i, str) else 8 for i in items)
                    + len(str(d)) * len(items))
    return jinja_filters.sync_do_join(context, items, d, attribute)


def _sum(context: Any, value: Any, attribute: Any = None, start: Any = 0) -> Any:
    items = list(value) if not isinstance(value, Undefined) else value
    if isinstance(start, (str, list, tuple)) and isinstance(items, list):
        _budget().size(_weight(items, _budget().limits.output_chars + 1))
    return jinja_filters.sync_do_sum(context, items, attribute, start)


_center.__name__ = "center"
_replace.jinja_pass_arg = jinja_filters.do_replace.jinja_pass_arg  # type: ignore[attr-defined]
_join.jinja_pass_arg = jinja_filters.sync_do_join.jinja_pass_arg  # type: ignore[attr-defined]
_sum.jinja_pass_arg = jinja_filters.sync_do_sum.jinja_pass_arg  # type: ignore[attr-defined]

GUARDED_FILTERS: dict[str, Callable[..., Any]] = {
    "_flx_loop": _loop_guard, "_flx_size": _size_guard, "center": _center,
    "indent": _indent, "replace": _replace, "format": _format, "join": _join, "sum": _sum,
}


# Read-only views Jinja's sandbox allows on any dict, and a loop's counters: looked up in
# every payload template, so answered before the sandbox's general checks.
_DICT_READERS = frozenset({"items", "keys", "values", "get"})
_DICT_VIEWS = frozenset({"items", "keys", "values"})  # calls whose result needs no size check
_LOOP_FIELDS = frozenset({"index", "index0", "revindex", "revindex0", "first", "last",
                          "length", "depth", "depth0", "previtem", "nextitem"})


class Sandbox(ImmutableSandboxedEnvironment):
    """No Python internals, no mutation of the records, and every render bounded."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Records are dicts: `shipment.items` must be the field, not dict.items().
        kind = type(obj)
        if kind is dict:
            if attribute in obj:
                return obj[attribute]
            if attribute in _DICT_READERS:  # what the checks below would allow, sooner
                return getattr(obj, attribute)
        elif kind is LoopContext and attribute in _LOOP_FIELDS:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        # Templates and compiled profile expressions both pass here.
        return super()._generate(_Guards().visit(source), name, filename,  # type: ignore[arg-type]
                                 defer_init=defer_init)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        if operator == "**":
            if isinstance(right, (int, float, Decimal)) and abs(Decimal(str(right))) > 100:
                raise SecurityError("exponent too large")
            if isinstance(right, int):
                _check_int_bits(_int_bits(left) * abs(right))
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and n > 0:
                    size = len(seq) if isinstance(seq, str) else \
                        _weight(seq, budget.limits.output_chars + 1)
                    budget.size(size * n)
            _check_int_bits(_int_bits(left) + _int_bits(right))
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                budget.size(len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right if isinstance(right, tuple) else (right,))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        budget = _budget()
        budget.clock()  # recursive macros never loop, but they call
        if type(__obj) is BuiltinMethodType and type(__obj.__self__) is dict \
                and __obj.__name__ in _DICT_VIEWS:
            # `header.items()` in every order: safe, sized by its dict, and called often.
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        if not isinstance(__obj, type) and getattr(__obj, "__self__", None) is not None:
            _check_method(__obj, budget, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, (list, tuple, dict, Namespace)):  # dict(a=x, b=x), namespace()
            budget.size(_weight(result, budget.limits.output_chars + 1))
        return result


def _check_method(method: Any, budget: _Budget, args: tuple[Any, ...],
                  kwargs: Mapping[str, Any]) -> None:
    """`'x'.ljust(10**9)`, `''.join(big)`, `'{:>999999999}'.format(1)`: refused first."""
    owner = getattr(getattr(method, "__wrapped__", method), "__self__", None)
    if not isinstance(owner, (str, list, tuple, bytes)):
        return
    name = getattr(method, "__name__", "")
    if name in ("format", "format_map") and isinstance(owner, str):
        _check_format(owner, args)
        return
    limit = budget.limits.output_chars
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and value > limit:
            raise LimitExceeded("output_chars", limit)
    if name == "join" and args and isinstance(args[0], (list, tuple)):
        budget.size(sum(len(i) if isinstance(i, str) else 1 for i in args[0])
                    + len(owner) * len(args[0]))


def render_limited(parts: Iterable[str], budget: _Budget) -> str:
    """Join a template's output as it streams, within the output and time limits. Checked
    every few parts (a part is at most `output_chars`: the guards bound each value)."""
    out: list[str] = []
    size, limit = 0, budget.limits.output_chars
    parts = iter(parts)
    while True:
        some = list(islice(parts, 16))
        if not some:
            break
        size += sum(map(len, some))
        if size > limit:
            raise LimitExceeded("output_chars", limit)
        out += some
        budget.clock()
    return "".join(out)


# --- override folders -------------------------------------------------------------------------


class ConfinedFileSystemLoader(FileSystemLoader):
    """A FileSystemLoader whose templates must resolve (symlinks followed) to a file inside
    its folder: a link to `/` in an override folder must not make `/proc/self/environ` a
    template."""

    def __init__(self, searchpath: list[Path]) -> None:
        super().__init__([str(p) for p in searchpath], followlinks=False)
        self.roots = [Path(os.path.realpath(p)) for p in searchpath]

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses `..`
        for root in self.roots:
            candidate = root.joinpath(*pieces)
            if not os.path.lexists(candidate):
                continue
            real = Path(os.path.realpath(candidate))
            if real != root and root not in real.parents:
                raise SecurityError(f"template {template!r} leads out of the override folder "
                                    f"{root} (a symbolic link to {real}); templates are read "
                                    "only from inside that folder")
            if real.is_file():
                return super().get_source(environment, template)
        raise TemplateNotFound(template)


def escaping_links(folder: Path) -> list[str]:
    """Entries of an override folder that lead outside it (checked when a profile loads)."""
    root = Path(os.path.realpath(folder))
    problems = []
    for path in sorted(folder.rglob("*")):
        if not path.is_symlink():
            continue
        real = Path(os.path.realpath(path))
        if real != root and root not in real.parents:
            problems.append(f"$.templates: {path.relative_to(folder).as_posix()} in {folder} "
                            f"is a link to {real}, outside the folder; templates are read only "
                            "from inside it (copy the file in instead)")
    return problems
