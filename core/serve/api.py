"""The JSON API behind the pages: the same documents as the CLI's --json.

    GET /api/status[?connection=]                       flx status --json
    GET /api/errors[?class=&operation=&connection=&limit=]   flx errors --json
    GET /api/records/{id}[?connection=&writes=]         flx show ID --json
    GET /api/runs[?connection=&operation=&limit=]       flx runs --json
    GET /metrics                                        Prometheus text format

A filter value flx does not know is answered 400 with the CLI's error document; an unknown
record 404."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flx.errors import ConfigError, FlxError
from flx.ops import show as show_ops
from flx.ops import status as status_ops
from flx.serve.dashboard import dashboard
from flx.serve.metrics import CONTENT_TYPE


def _int(request: Request, name: str, default: int | None) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"?{name}={value!r}: give a whole number of at least 1")
    return number


def _answer(request: Request, make: Any, missing: int = 400) -> Response:
    dash = dashboard(request)
    try:
        return dash.json(make(dash))
    except FlxError as exc:
        return dash.json({"error": exc.to_dict()}, status=missing if exc.message.startswith(
            "no record") else 400)


def status(request: Request) -> Response:
    connection = request.query_params.get("connection") or None

    def make(dash: Any) -> Any:
        known = set(dash.config.connections) | {
            r["connection"] for r in dash.store.sync_summary()}
        if connection is not None and connection not in known:  # a typo, as in the CLI
            raise ConfigError(f"unknown connection {connection!r}", problems=[
                f"known connections are {', '.join(sorted(known)) or 'none'}"])
        return status_ops.status_summary(dash.config, dash.store, connection=connection)

    return _answer(request, make)


def errors(request: Request) -> Response:
    q = request.query_params

    def make(dash: Any) -> Any:
        limit = _int(request, "limit", None)
        rows = status_ops.list_errors(dash.config, dash.store, error_class=q.get("class") or None,
                                      operation=q.get("operation") or None,
                                      connection=q.get("connection") or None)
        return {"errors": rows[:limit] if limit else rows}

    return _answer(request, make)


def record(request: Request) -> Response:
    def make(dash: Any) -> Any:
        return show_ops.show_record(dash.config, dash.store, request.path_params["record_id"],
                                    connection=request.query_params.get("connection") or None,
                                    audit_limit=_int(request, "writes", 20) or 20)

    return _answer(request, make, missing=404)


def runs(request: Request) -> Response:
    q = request.query_params

    def make(dash: Any) -> Any:
        return {"runs": status_ops.list_runs(
            dash.config, dash.store, connection=q.get("connection") or None,
            operation=q.get("operation") or None, limit=_int(request, "limit", 20) or 20)}

    return _answer(request, make)


def metrics(request: Request) -> Response:
    dash = dashboard(request)
    return Response(dash.metrics.render(), media_type=CONTENT_TYPE)


ROUTES = [
    Route("/api/status", status),
    Route("/api/errors", errors),
    Route("/api/records/{record_id:path}", record),
    Route("/api/runs", runs),
]
