"""The pages people read: overview (`flx status`), errors (`flx errors`), one record (`flx
show` and `flx render`), runs (`flx runs` with charts), and the token's login form. Each reads
through the same functions as the CLI, so the page and the command never disagree."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flx.errors import FlxError
from flx.ops import show as show_ops
from flx.ops import status as status_ops
from flx.run.hints import reason_group
from flx.serve import queries
from flx.serve.actions import recent_actions
from flx.serve.chart import stacked_bars
from flx.serve.dashboard import Dashboard, dashboard
from flx.serve.security import SESSION_COOKIE, read_form

GROUP_SHOWN = 50  # records listed per error group; the rest are counted


def overview(request: Request) -> Response:
    dash = dashboard(request)
    summary = status_ops.status_summary(dash.config, dash.store)
    busy = {(r["connection"], r["operation"]): dash.runner.busy(r["connection"], r["operation"])
            for r in summary["sync"]}
    operations = dash.config.operations
    return dash.page(request, "overview.html", title="Overview", summary=summary,
                     records_text=status_ops.records_text(summary["records"], operations),
                     lines=status_ops.status_lines(summary, operations=operations), busy=busy,
                     refresh=dash.refresh_seconds)


def _filters(request: Request) -> dict[str, str | None]:
    q = request.query_params
    return {"error_class": q.get("class") or None, "operation": q.get("operation") or None,
            "connection": q.get("connection") or None}


def _matches(row: dict[str, Any], search: str) -> bool:
    needle = search.lower()
    return any(needle in str(row.get(k) or "").lower() for k in ("record_id", "message", "hint"))


def errors(request: Request) -> Response:
    dash = dashboard(request)
    filters = _filters(request)
    search = (request.query_params.get("q") or "").strip()
    try:
        rows = status_ops.list_errors(dash.config, dash.store, **filters)
        problem = None
    except FlxError as exc:
        rows, problem = [], exc
    if search:
        rows = [r for r in rows if _matches(r, search)]
    failed: dict[str, list[dict[str, Any]]] = {}
    waiting: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == "waiting":
            waiting.setdefault(reason_group(str(row.get("message") or ""),
                                            str(row["record_id"])), []).append(row)
        else:
            failed.setdefault(str(row["class"]), []).append(row)
    pairs = sorted({(r["connection"], r["operation"]) for r in dash.store.sync_summary()})
    # A search for the id of a record that is not failing: its own page says where it is.
    known = search if search and not rows and any(
        dash.store.record_info(kind, search) for kind in dash.config.operations.kinds()) else None
    return dash.page(request, "errors.html", title="Errors", failed=failed, waiting=waiting,
                     known=known, total=len(rows), problem=problem, filters=filters,
                     search=search, classes=status_ops.KNOWN_CLASSES,
                     operations=list(dash.config.operations.names()),
                     connections=sorted({c for c, _ in pairs} | set(dash.config.connections)),
                     shown=GROUP_SHOWN)


def remote_links(dash: Dashboard, connection: str,
                 remote_ids: dict[str, Any]) -> list[dict[str, Any]]:
    """Each remote id, with a link into the accounting system's UI where the connector knows
    one (`Connector.record_url`; None from the base class: plain ids)."""
    conn = dash.config.connections.get(connection)
    connector = dash.plugins.connectors.get(conn.plugin) if conn is not None else None
    out = []
    for record_type, label, remote_id in _flat(remote_ids):
        url = None
        if connector is not None and conn is not None and remote_id not in (None, ""):
            try:
                url = connector.record_url(record_type, str(remote_id), conn)
            except Exception:  # a connector's link is a convenience, never a broken page
                url = None
        if url is not None and not str(url).startswith(("https://", "http://")):
            url = None
        out.append({"type": label, "id": remote_id, "url": url})
    return out


def _flat(remote_ids: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(record type, label, id) per remote id: a map of ids (one purchase order per
    fulfillment request) gives one entry each; lists and deeper data (a plugin's line
    bookkeeping) are no ids and are left to the JSON."""
    out: list[tuple[str, str, Any]] = []
    for record_type, value in remote_ids.items():
        if isinstance(value, dict):
            out += [(record_type, f"{record_type} {key}", v) for key, v in value.items()
                    if isinstance(v, str | int)]
        elif isinstance(value, str | int):
            out.append((record_type, record_type, value))
    return out


def record(request: Request) -> Response:
    dash = dashboard(request)
    record_id = request.path_params["record_id"]
    try:
        view = show_ops.show_record(dash.config, dash.store, record_id)
    except FlxError as exc:
        return dash.page(request, "missing.html", status=404, title=record_id, problem=exc)
    for row in view["sync"]:
        row["links"] = remote_links(dash, row["connection"], row.get("remote_ids") or {})
    preview = _preview(request, dash, record_id, view)
    return dash.page(request, "record.html", title=record_id, view=view, preview=preview,
                     actions=recent_actions(dash.store, target=record_id, limit=20))


def _preview(request: Request, dash: Dashboard, record_id: str,
             view: dict[str, Any]) -> dict[str, Any] | None:
    """`flx render` for one connection + operation of the record, on request only (it may
    make read-only look-ups in the accounting system)."""
    wanted = request.query_params.get("preview")
    if not wanted or ":" not in wanted:
        return None
    connection, operation = wanted.split(":", 1)
    if not any(r["connection"] == connection and r["operation"] == operation
               for r in view["sync"]):
        return {"key": wanted, "error": f"{record_id} has no {operation} on {connection}"}
    from flx.run.runner import render_operation

    try:
        payloads = render_operation(dash.config, dash.plugins, operation, connection,
                                    record_id, transport=dash.transport, store=dash.store)
    except FlxError as exc:
        return {"key": wanted, "error": str(exc)}
    text = json.dumps(payloads, indent=2, default=str, ensure_ascii=False)
    return {"key": wanted, "payloads": text}


def runs(request: Request) -> Response:
    dash = dashboard(request)
    q = request.query_params
    connection, operation = q.get("connection") or None, q.get("operation") or None
    try:
        rows = status_ops.list_runs(dash.config, dash.store, connection=connection,
                                    operation=operation, limit=int(q.get("limit") or 50))
        problem = None
    except (FlxError, ValueError) as exc:
        rows, problem = [], exc
    now = dt.datetime.now(dt.UTC)
    return dash.page(request, "runs.html", title="Runs", rows=rows, problem=problem,
                     aborted=next((r for r in rows if r.get("error")), None),
                     hourly=_hourly_chart(dash, now), daily=_daily_chart(dash, now),
                     actions=recent_actions(dash.store, limit=20),
                     connection=connection, operation=operation,
                     connections=sorted(set(dash.config.connections) | {
                         r["connection"] for r in dash.store.sync_summary()}),
                     operations=list(dash.config.operations.names()))


def _hourly_chart(dash: Dashboard, now: dt.datetime, hours: int = 72) -> str:
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=hours - 1)
    data = queries.hourly_records(dash.store, start)
    slots = [start + dt.timedelta(hours=i) for i in range(hours)]
    labels = [s.strftime("%d %Hh") for s in slots]
    series = {"done": [data.get(s, {}).get("done", 0) for s in slots],
              "failed": [data.get(s, {}).get("failed", 0) for s in slots]}
    return stacked_bars(labels, series, title=f"Records per hour, last {hours} hours (UTC)",
                        tick_every=12)


def _daily_chart(dash: Dashboard, now: dt.datetime, days: int = 7) -> str:
    first = (now - dt.timedelta(days=days - 1)).date()
    data = queries.daily_failures(dash.store, dt.datetime.combine(first, dt.time(), dt.UTC))
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    classes = sorted(set().union(*(c.keys() for c in data.values()))) if data else []
    series = {c: [data.get(d, Counter()).get(c, 0) for d in dates] for c in classes} or {
        "failed": [0] * days}
    return stacked_bars([d.strftime("%a %d") for d in dates], series,
                        title=f"Records failing now, per class and day of last attempt "
                              f"(last {days} days)")


async def login(request: Request) -> Response:
    dash = dashboard(request)
    target = _local(request.query_params.get("next") or "/")
    if request.method == "GET":
        return dash.page(request, "login.html", title="Log in", next=target)
    form = await read_form(request)
    if not dash.guard.csrf_ok(request.cookies.get("flx_csrf"), str(form.get("csrf") or "")):
        return dash.page(request, "login.html", status=403, title="Log in", next=target,
                         problem="the form expired; log in again")
    if not dash.guard.token_ok(str(form.get("token") or "")):
        return dash.page(request, "login.html", status=401, title="Log in", next=target,
                         problem="that is not the dashboard's token")
    response = Response(status_code=303, headers={"location": target})
    response.set_cookie(SESSION_COOKIE, dash.guard.session_value(), httponly=True,
                        samesite="strict")
    return response


def _local(target: str) -> str:
    """A redirect stays on this dashboard: a path, never another site."""
    return target if target.startswith("/") and not target.startswith("//") \
        and "\\" not in target else "/"


ROUTES = [
    Route("/", overview),
    Route("/errors", errors),
    Route("/records/{record_id:path}", record),
    Route("/runs", runs),
    Route("/login", login, methods=["GET", "POST"]),
]
