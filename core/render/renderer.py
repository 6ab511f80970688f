"""Render payload templates (Jinja2, sandboxed, strict) into validated JSON.

Templates are package data of a connector (`<package>/templates/*.j2`), searched *after* the
client's override folders, so a client replaces one template without forking the plugin.
Every failure becomes a `TemplateError` that names the template, the line and the record, in
words an ops person can act on. Amounts stay `Decimal` from record to payload: rendered JSON is
parsed with `parse_float=Decimal`; use `dumps()` (not `json.dumps`) to send it. The filters
and `dumps` live in core/render/filters.py and are re-exported here.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SecurityError

from flx.errors import ConfigError, FlxError, PluginError, TemplateError
from flx.render.fastcheck import compile_check

# Re-exported: plugins and tests import these from flx.render.renderer.
from flx.render.filters import (  # noqa: F401
    FILTERS,
    FilterValueError,
    check_defined,
    date_filter,
    decimal_filter,
    default_if_none,
    dumps,
    json_filter,
    money_filter,
    to_decimal,
)
from flx.render.sandbox import (
    GUARDED_FILTERS,
    ConfinedFileSystemLoader,
    LimitExceeded,
    RenderLimits,
    Sandbox,
    current_budget,
    enter,
    leave,
    render_limited,
)

__all__ = ["Renderer", "dumps", "to_decimal", "check_expression"]

# --- the sandbox (core/render/sandbox.py: limits, guards, confined override folders) -------------


def _new_environment(loader: BaseLoader | None = None) -> Environment:
    env = Sandbox(loader=loader, undefined=StrictUndefined, autoescape=False,
                  keep_trailing_newline=True, auto_reload=False, cache_size=1000)
    env.filters.update(FILTERS)
    env.filters.update(GUARDED_FILTERS)
    env.globals.pop("lipsum", None)  # megabytes of filler text, of no use in a payload
    return env


class _PackageTemplates(BaseLoader):
    """`<package>/templates/` through importlib.resources (works installed, zipped or editable)."""

    def __init__(self, package: str) -> None:
        try:
            root = resources.files(package) / "templates"
        except ModuleNotFoundError:
            raise PluginError(f"template package {package!r} cannot be imported") from None
        if not root.is_dir():
            raise PluginError(f"package {package!r} has no templates/ folder",
                              hint="ship the templates as package data of the plugin")
        self.package = package
        self.root: Traversable = root

    def get_source(self, environment: Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        node = self.root
        for part in split_template_path(template):
            node = node / part
        if not node.is_file():
            raise TemplateNotFound(template)
        return node.read_text("utf-8"), f"{self.package}:templates/{template}", lambda: True

    def list_templates(self) -> list[str]:
        def walk(node: Traversable, prefix: str) -> Iterator[str]:
            for child in node.iterdir():
                if child.is_dir():
                    yield from walk(child, f"{prefix}{child.name}/")
                elif child.name.endswith(".j2"):
                    yield prefix + child.name
        return sorted(walk(self.root, ""))


# --- error translation -------------------------------------------------------------------------

_ATTR = re.compile(r"^'(?P<type>[^']+) object' has no attribute '(?P<name>.+)'$")
_NONE_ATTR = re.compile(r"^'?None'? has no attribute '(?P<name>.+)'$")
_ELEMENT = re.compile(r"^'(?P<type>[^']+) object' has no element (?P<name>.+)$")
_NAME = re.compile(r"^'(?P<name>.+)' is undefined$")
_MISSING_HINT = ("add the field to the record, or guard it in the template "
                 "(`{% if x.f is defined %}`, `| default('')`)")


def _record_label(context: Mapping[str, Any], record_id: str, kind: str | None) -> str:
    """"vendor bill VB-1": the record's kind is the context key holding it (a shipment's
    context holds its order too: the order is looked at last)."""
    if kind is None:
        for key in sorted(context, key=lambda k: k == "order"):
            rec = context.get(key)
            if isinstance(rec, Mapping) and rec.get("id") == record_id:
                kind = key
                break
    return f"{(kind or 'record').replace('_', ' ')} {record_id}"


def _describe_undefined(message: str, label: str,
                        expr: str | None = None) -> tuple[str, str | None]:
    """Jinja's wording -> ours, plus a hint (fitted to the expression when there is one)."""
    if m := _ATTR.match(message):
        hint = _MISSING_HINT if expr is None else _missing_field_hint(expr, m["name"])
        if m["type"] in ("dict", "list"):
            return f"{label} has no field '{m['name']}'", hint
        return f"{label}: a {m['type']} value has no field '{m['name']}'", hint
    if m := _NONE_ATTR.match(message):
        return (f"{label} has no field '{m['name']}' (the value above it is null)",
                "fill in the field in the record, or guard it with `{% if ... %}`")
    if m := _ELEMENT.match(message):
        return f"{label} has no item {m['name']} in a list", _MISSING_HINT
    if m := _NAME.match(message):
        return (f"'{m['name']}' is undefined for {label}",
                "the template uses a name the plugin does not provide; check its spelling")
    return f"{label}: {message}", None


def _missing_field_hint(expr: str, name: str) -> str:
    """What to write instead of `expr`, whose field `name` is missing from the record.

    `| default('')` only helps on the last field of a path: when a field in the middle is
    missing (`order.custom_fields.gift_message` on an order without custom_fields), the
    object must be defaulted first, and an expression that already ends in `| default`
    needs exactly that, not the same advice again."""
    chain = re.search(rf"(?P<base>[A-Za-z_]\w*(?:\.\w+)*?\.{re.escape(name)})\b"
                      rf"(?P<rest>(?:\.\w+)*)", expr)
    if chain is None:
        if "default" in expr:
            return ("add the field to the record, or guard it in the expression "
                    "(`{% if x.f is defined %}`)")
        return _MISSING_HINT
    base, rest = chain["base"], chain["rest"]
    if rest.count(".") == 1:
        return (f"add '{name}' to the record, or write "
                f"`({base} | default({{}})){rest} | default('')` to use an empty value "
                f"when the record has no {name}")
    if rest:
        return (f"add '{name}' to the record, or guard the value with "
                f"`{{% if {base} is defined %}}...{{% endif %}}`")
    return f"add '{name}' to the record, or write `{base} | default('')`"


def _template_position(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost template frame of Jinja's rewritten traceback: (file, line)."""
    where: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def _short(filename: str | None, fallback: str) -> str:
    if not filename or filename.startswith("<"):
        return fallback
    return re.split(r"[/\\:]", filename)[-1]


@functools.lru_cache(maxsize=64)
def _compiled(schema_text: str) -> tuple[jsonschema.Draft202012Validator,
                                         Callable[[Any], bool] | None]:
    """Checking and compiling a schema costs tens of milliseconds: once per process per
    schema, not once per run (every run has its own Renderer)."""
    schema = json.loads(schema_text)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise PluginError(f"a payload schema is itself invalid: {exc.message}") from None
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return validator, compile_check(schema)


class Renderer:
    """Compiles each template once and renders it for many records (thread-safe)."""

    def __init__(self, template_packages: list[str] | None = None,
                 override_dirs: list[Path] | None = None,
                 limits: RenderLimits | None = None) -> None:
        loaders: list[BaseLoader] = [ConfinedFileSystemLoader(list(override_dirs or []))]
        loaders += [_PackageTemplates(p) for p in template_packages or []]
        self.override_dirs = [Path(d) for d in override_dirs or []]
        self.packages = list(template_packages or [])
        self.limits = limits or RenderLimits()
        self.env = _new_environment(ChoiceLoader(loaders))
        self._templates: dict[str, Template] = {}
        self._expressions: dict[str, Callable[[Mapping[str, Any]], Any]] = {}
        self._validators: dict[int, tuple[Mapping[str, Any], jsonschema.Draft202012Validator,
                                          Callable[[Any], bool] | None]] = {}
        self._lock = threading.Lock()

    # -- templates -----------------------------------------------------------------------------

    def has_template(self, name: str) -> bool:
        try:
            self.template(name)
        except PluginError:
            return False
        return True

    def list_templates(self) -> list[str]:
        return sorted(set(self.env.list_templates(filter_func=lambda n: n.endswith(".j2"))))

    def template(self, name: str) -> Template:
        """The compiled template. A syntax error is a ConfigError and a missing template a
        PluginError: both abort the run, since no record could render."""
        cached = self._templates.get(name)
        if cached is not None:
            return cached
        try:
            compiled = self.env.get_template(name)
        except TemplateNotFound:
            where = [str(d) for d in self.override_dirs] + [f"{p}:templates/"
                                                            for p in self.packages]
            raise PluginError(f"template {name!r} not found",
                              hint=f"searched {', '.join(where) or 'no folder'}; the plugin "
                                   "may be installed without its package data") from None
        except TemplateSyntaxError as exc:
            raise ConfigError(
                f"template {_short(exc.filename, name)} cannot be compiled",
                problems=[f"line {exc.lineno}: {exc.message}"],
                hint="correct the template; nothing was sent",
            ) from None
        except SecurityError as exc:  # an override that links out of its folder
            raise ConfigError(f"template {name} cannot be loaded", problems=[str(exc)],
                              hint="replace the link with a copy of the file") from None
        self._templates[name] = compiled
        return compiled

    def render_text(self, name: str, context: Mapping[str, Any], *, record_id: str,
                    record_kind: str | None = None) -> str:
        template = self.template(name)
        budget, outer = enter(self.limits)
        try:
            parts = template.root_render_func(template.new_context(dict(context)))
            try:
                return render_limited(parts, budget)
            except Exception:
                self.env.handle_exception()  # re-raised with the template's lines
        except Exception as exc:
            raise self._translate(exc, name, context, record_id, record_kind) from None
        finally:
            leave(outer)

    def render_json(self, name: str, context: Mapping[str, Any], *, record_id: str,
                    schema: Mapping[str, Any] | None = None,
                    record_kind: str | None = None) -> dict[str, Any]:
        """Render `name`, parse the JSON and validate it against `schema` (when given)."""
        text = self.render_text(name, context, record_id=record_id, record_kind=record_kind)
        try:
            payload = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            label = _record_label(context, record_id, record_kind)
            lines = text.splitlines()
            bad = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
            raise TemplateError(
                f"template {name} rendered invalid JSON for {label}: {exc.msg} at rendered "
                f"line {exc.lineno} column {exc.colno}: {bad[:200]}",
                hint="quote text with `| json` (it escapes quotes and newlines) and check commas",
                record_id=record_id, template=name,
            ) from None
        if not isinstance(payload, dict):
            raise TemplateError(f"template {name} rendered a JSON {type(payload).__name__} "
                                f"for {_record_label(context, record_id, record_kind)}, not an "
                                "object", record_id=record_id)
        if schema is not None:
            quick = self._validator(schema)[1]
            if quick is None or not quick(payload):  # the message is built only for a problem
                label = _record_label(context, record_id, record_kind)
                self.validate(payload, schema, record_id=record_id,
                              what=f"template {name} rendered a payload for {label}")
        return payload

    def validate(self, payload: Any, schema: Mapping[str, Any], *, record_id: str,
                 what: str = "payload") -> None:
        """Validate against a JSON Schema (2020-12); every problem listed with its JSON path."""
        validator, quick = self._validator(schema)
        if quick is not None and quick(payload):
            return
        errors = sorted(validator.iter_errors(payload),
                        key=lambda e: (list(map(str, e.absolute_path)), e.message))
        if not errors:
            return
        problems = [f"{e.json_path}: {_clip(e.message)}" for e in errors]
        raise TemplateError(
            f"{what} that does not fit the payload schema:\n  - " + "\n  - ".join(problems),
            hint="fix the record, the mapping profile or the template override",
            record_id=record_id, path=errors[0].json_path,
        )

    def _validator(self, schema: Mapping[str, Any]) -> tuple[
            jsonschema.Draft202012Validator, Callable[[Any], bool] | None]:
        """jsonschema's validator (the complete problem list) and the compiled pre-check."""
        cached = self._validators.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1], cached[2]
        validator, quick = _compiled(json.dumps(schema, sort_keys=True, default=str))
        with self._lock:  # keep the schema alive, so its id stays unique
            self._validators[id(schema)] = (schema, validator, quick)
        return validator, quick

    # -- mapping-profile expressions ----------------------------------------------------------

    def render_value(self, expr: Any, context: Mapping[str, Any], record_id: str, *,
                     where: str = "mapping value", record_kind: str | None = None) -> Any:
        """Render a profile value. Non-strings pass through; dicts and lists are rendered item by
        item; a string that is exactly one `{{ ... }}` keeps the expression's type (number,
        boolean, null); any other string with `{{`/`{%` renders to text."""
        if isinstance(expr, Mapping):
            return {k: self.render_value(v, context, record_id, where=f"{where}.{k}",
                                         record_kind=record_kind) for k, v in expr.items()}
        if isinstance(expr, list):
            return [self.render_value(v, context, record_id, where=f"{where}[{i}]",
                                      record_kind=record_kind) for i, v in enumerate(expr)]
        if not isinstance(expr, str) or ("{{" not in expr and "{%" not in expr):
            return expr
        fn = self._expressions.get(expr)
        if fn is None:
            problem = check_expression(expr, self.env)
            if problem:
                raise ConfigError(f"{where}: cannot compile {expr!r}", problems=[problem])
            fn = _compile_value(self.env, expr)
            self._expressions[expr] = fn
        budget, outer = enter(self.limits)
        try:
            value = fn(context)
            check_defined(value)
            if isinstance(value, str) and len(value) > self.limits.output_chars:
                raise LimitExceeded("output_chars", self.limits.output_chars)
            budget.clock()
            return value
        except Exception as exc:
            raise self._translate(exc, where, context, record_id, record_kind,
                                  expression=expr) from None
        finally:
            leave(outer)

    # -- errors -----------------------------------------------------------------------------------

    def _translate(self, exc: Exception, name: str, context: Mapping[str, Any], record_id: str,
                   record_kind: str | None, *, expression: str | None = None) -> FlxError:
        """`expression`: the profile expression that failed (`name` is then its setting)."""
        if isinstance(exc, FlxError):
            return exc
        filename, line = _template_position(exc)
        if expression is not None:
            where = name
        else:
            where = f"template {_short(filename, name)}" + (f" line {line}" if line else "")
        label = _record_label(context, record_id, record_kind)
        hint: str | None
        if isinstance(exc, LimitExceeded):
            message, hint = f"{label}: {exc}", exc.hint
        elif isinstance(exc, SecurityError):
            message = f"unsafe template operation for {label}: {exc}"
            hint = "templates may not reach Python internals or build huge values"
        elif isinstance(exc, UndefinedError):
            message, hint = _describe_undefined(exc.message or "", label, expression)
        elif isinstance(exc, TemplateNotFound):
            message = f"{label}: included template {exc.name!r} not found"
            hint = ("include a template of the override folder by its path inside that folder "
                    "(no `..`), or one the connector ships")
        elif isinstance(exc, (FilterValueError, TypeError, ValueError, ArithmeticError)):
            message, hint = f"{label}: {exc}", None
        else:
            message, hint = f"{label}: {type(exc).__name__}: {exc}", None
        return TemplateError(f"{where}: {message}", hint=hint, record_id=record_id,
                             template=name, line=line, file=filename)


_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")


def _clip(text: str, limit: int = 240) -> str:
    text = _DECIMAL_REPR.sub(r"\1", text)  # show 1.01, not Decimal('1.01')
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.S)


def _compile_value(env: Environment, expr: str) -> Callable[[Mapping[str, Any]], Any]:
    m = _SINGLE.match(expr)
    if m and not any(tok in m["expr"] for tok in ("{{", "}}", "{%", "%}")):
        compiled = env.compile_expression(m["expr"], undefined_to_none=False)
        return lambda ctx: compiled(**ctx)
    template = env.from_string(expr)
    # Streamed like a template's output, so a loop printing a big value stops at the limit.
    return lambda ctx: render_limited(template.root_render_func(template.new_context(dict(ctx))),
                                      current_budget())


def check_expression(expr: str, env: Environment | None = None) -> str | None:
    """None when `expr` compiles, else the syntax problem (for validating profiles early)."""
    try:
        _compile_value(env or _DEFAULT_ENV, expr)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message}"
    return None


_DEFAULT_ENV = _new_environment()
