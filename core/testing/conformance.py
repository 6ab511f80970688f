"""The connector conformance checks: what every connector plugin must get right, checked the
same way for all of them (tests/core/test_conformance.py runs them over every installed
connector, so a new plugin gets them for free).

- its connection schema and payload schemas are valid JSON Schemas (draft 2020-12);
- every payload schema names a template the connector ships, and every template compiles;
- every mapping profile it ships loads and validates (core schema + its own mapping schema);
- every secret in its connection schema is a string property (so it can be redacted)."""

from __future__ import annotations

from jinja2 import TemplateError as JinjaTemplateError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from flx.connector import Connector
from flx.errors import FlxError
from flx.render.mapping import load_profile, profile_names
from flx.render.renderer import Renderer


def _schema_problem(label: str, schema: object) -> list[str]:
    try:
        Draft202012Validator.check_schema(schema)  # type: ignore[arg-type]
    except SchemaError as err:
        return [f"{label}: not a valid JSON Schema: {err.message}"]
    return []


def check_connector(connector: Connector) -> list[str]:
    """Every problem found, as `connector: what is wrong` lines (empty when all is well)."""
    name = connector.name
    problems = _schema_problem(f"{name}: connection schema", dict(connector.connection_schema))
    props = connector.connection_schema.get("properties", {})
    for key in connector.secret_keys:
        if props[key].get("type") != "string":
            problems.append(f"{name}: secret {key!r} must be a string property")
    if connector.mapping_schema is not None:
        problems += _schema_problem(f"{name}: mapping schema", dict(connector.mapping_schema))
    renderer = Renderer([connector.templates_package] if connector.templates_package else [])
    for template, schema in connector.payload_schemas.items():
        problems += _schema_problem(f"{name}: payload schema of {template}", dict(schema))
        if not renderer.has_template(template):
            problems.append(f"{name}: payload schema for {template!r} but no such template")
    for template in renderer.list_templates():
        try:
            renderer.template(template)
        except (JinjaTemplateError, FlxError) as err:
            problems.append(f"{name}: template {template} does not compile: {err}")
    for profile in profile_names(connector):
        try:
            load_profile(connector, profile)
        except FlxError as err:
            problems.append(f"{name}: mapping profile {profile!r} is invalid: {err}")
    return problems
