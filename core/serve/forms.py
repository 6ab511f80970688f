"""The dashboard's actions, each a POST from a form carrying its CSRF token: retry a record,
resolve it with a note, retry every failure of a class, run an operation now. They call the
CLI's own functions (`flx retry`, `flx resolve`, `flx run`), answer with a redirect and a one
line message, and are written to the action log with who, when and the note."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from flx.errors import FlxError
from flx.ops import status as status_ops
from flx.serve.actions import record_action
from flx.serve.dashboard import FLASH_COOKIE, WHO_COOKIE, Dashboard, dashboard
from flx.serve.pages import _local
from flx.serve.security import CSRF_COOKIE, read_form

Form = dict[str, str]


def _refusal(request: Request, dash: Dashboard, form: Form) -> str | None:
    """Why this POST is not acted on, or None."""
    if dash.read_only:
        return "this dashboard is read-only (flx serve --read-only)"
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        return "refused: the form came from another site"
    if not dash.guard.csrf_ok(request.cookies.get(CSRF_COOKIE), form.get("csrf")):
        return ("refused: the form's CSRF token is missing or stale (reload the page and try "
                "again)")
    return None


def _who(request: Request, dash: Dashboard, form: Form) -> str:
    given = form.get("by") or unquote(request.cookies.get(WHO_COOKIE) or "")
    name = " ".join(given.split())[:80] or "unnamed"
    where = request.client.host if request.client else "unknown address"
    return f"{name} from {where}" + (" (token)" if dash.guard.token else "")


Action = Callable[[Dashboard, Form], tuple[str, str, str | None, str]]


def _handler(action: Action) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        dash = dashboard(request)
        form = await read_form(request)
        refused = _refusal(request, dash, form)
        if refused:
            return PlainTextResponse(refused, status_code=403)

        def act() -> str:
            try:
                name, target, note, said = action(dash, form)
            except FlxError as exc:
                name = action.__name__.replace("_", "-")
                target, note = _target(form), form.get("note")
                problems = list(getattr(exc, "problems", None) or [])
                said = f"not done: {exc.message}" + (f" ({'; '.join(problems)})"
                                                     if problems else "")
            record_action(dash.store, who=_who(request, dash, form), action=name,
                          target=target, note=note, outcome=said)
            return said

        said = await run_in_threadpool(act)
        response = Response(status_code=303, headers={"location": _local(form.get("next", "/"))})
        response.set_cookie(FLASH_COOKIE, quote(dash.redactor.text(said)), max_age=60,
                            httponly=True, samesite="strict")
        return response

    return handle


def _target(form: Form) -> str:
    return form.get("record_id") or form.get("class") or \
        f"{form.get('operation')} on {form.get('connection')}"


def _scope(form: Form) -> dict[str, Any]:
    return {"connection": form.get("connection") or None,
            "operation": form.get("operation") or None}


def retry(dash: Dashboard, form: Form) -> tuple[str, str, str | None, str]:
    rid = form.get("record_id", "").strip()
    count = status_ops.retry(dash.config, dash.store, [rid], **_scope(form))
    return "retry", rid, None, f"{rid}: queued again ({count}); it goes out at the next run"


def resolve(dash: Dashboard, form: Form) -> tuple[str, str, str | None, str]:
    rid, note = form.get("record_id", "").strip(), form.get("note", "").strip()
    count = status_ops.resolve(dash.config, dash.store, rid, note, **_scope(form))
    return "resolve", rid, note, f"{rid}: marked resolved ({count}); it will not be sent"


def retry_class(dash: Dashboard, form: Form) -> tuple[str, str, str | None, str]:
    error_class = form.get("class", "").strip()
    count = status_ops.retry(dash.config, dash.store, None, error_class=error_class,
                             **_scope(form))
    return ("retry-class", error_class, None,
            f"{count} {error_class} failure(s) queued again; they go out at the next run")


def run_now(dash: Dashboard, form: Form) -> tuple[str, str, str | None, str]:
    connection, operation = form.get("connection", ""), form.get("operation", "")
    target = f"{operation} on {connection}"
    if operation not in dash.config.operations or connection not in dash.config.connections:
        return "run", target, None, f"not started: no {target} in {dash.config.path}"
    holder = dash.runner.busy(connection, operation)
    if holder:
        return ("run", target, None,
                f"not started: {target} is running right now ({holder}); it takes up the "
                "records when it gets to them, so there is nothing to do but wait")
    dash.config.connection(connection)  # a connection missing its variables: said now
    dash.runner.start(connection, operation)
    return "run", target, None, (f"{target} started; the runs page shows it (reload to see "
                                 "it finish)")


async def name(request: Request) -> Response:
    """Who acts from this browser, for the action log: kept in a cookie, said in the header."""
    dash = dashboard(request)
    form = await read_form(request)
    refused = _refusal(request, dash, form)
    if refused:
        return PlainTextResponse(refused, status_code=403)
    response = Response(status_code=303, headers={"location": _local(form.get("next", "/"))})
    given = " ".join((form.get("by") or "").split())[:80]
    response.set_cookie(WHO_COOKIE, quote(given), httponly=True, samesite="strict",
                        max_age=90 * 24 * 3600)
    return response


ROUTES = [
    Route("/actions/name", name, methods=["POST"]),
    Route("/actions/retry", _handler(retry), methods=["POST"]),
    Route("/actions/resolve", _handler(resolve), methods=["POST"]),
    Route("/actions/retry-class", _handler(retry_class), methods=["POST"]),
    Route("/actions/run", _handler(run_now), methods=["POST"]),
]
