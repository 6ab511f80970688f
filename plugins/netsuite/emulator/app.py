"""The HTTP face of the emulator: NetSuite's REST record and SuiteQL endpoints under
/services/rest, the inspection endpoints under /_emulator, and the governance layer (the
account's concurrency limit, latency and injected faults) in front of /services."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import dispatch, records, transforms
from . import schema as S
from .errors import ERROR_CONTENT_TYPE, NsError, invalid_login
from .governance import SUITEQL_PATH, Governance
from .oauth import AuthFailure, verify
from .state import Emulator
from .suiteql import execute
from .validate import parse_json
from .views import dumps, record_url, render_line, render_record, render_sublist

RECORD_PREFIX = "/services/rest/record/v1/"


def ns_response(data: Any, status: int = 200, kind: str = "singular",
                headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status, headers=headers,
                    media_type=f"application/vnd.oracle.resource+json; type={kind}")


def error_response(err: NsError, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(err.body()), err.status, headers=headers,
                    media_type=ERROR_CONTENT_TYPE)


# --- /services/rest ---------------------------------------------------------------------------


def _json(request: Request, body: bytes) -> Any:
    content_type = request.headers.get("content-type", "")
    if body and not content_type.split(";")[0].strip().endswith("json"):
        # Stricter than documented: NetSuite's REST API only speaks JSON.
        raise NsError(415, "INVALID_CONTENT_TYPE", f"The content type {content_type!r} is not "
                      "supported; send application/json.", header="Content-Type")
    return parse_json(body)


def _options(request: Request) -> records.Options:
    mode = request.headers.get("x-netsuite-propertynamevalidation", "Warning").lower()
    replace = request.query_params.get("replace", "")
    return records.Options(strict_names=mode == "error", warn_names=mode == "warning",
                           replace=frozenset(p.strip() for p in replace.split(",") if p))


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def _authenticate(emu: Emulator, request: Request, body: bytes) -> None:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    try:
        verify(emu.credentials, emu.nonces, method=request.method,
               scheme=request.url.scheme, host=request.headers.get("host", ""),
               raw_path=raw_path.decode("latin-1").split("?", 1)[0],
               query_string=request.scope.get("query_string", b"").decode("latin-1"),
               authorization=request.headers.get("authorization"), body=body,
               content_type=request.headers.get("content-type", ""), now=emu.clock())
    except AuthFailure as failure:
        emu.audit_login(request.method, request.url.path, failure.reason, failure.detail)
        request.state.login_fix = realm_fix(emu, failure)
        raise invalid_login() from None


LOGIN_REASON_HEADER = "X-Flx-Emulator-Login-Failure"


def realm_fix(emu: Emulator, failure: AuthFailure) -> str | None:
    """A wrong account id is the usual first mistake against the emulator, and unlike NetSuite
    it may say so: the exact reason and the line to write (NetSuite keeps it in its Login
    Audit Trail)."""
    if failure.reason != "InvalidRealm":
        return None
    return (f"the account id (OAuth realm) is not the emulator's account, {emu.account_id}; "
            f"fix: set account_id = \"{emu.account_id}\" in flx.toml")


class Hold:
    """A test's control (`POST /_emulator/hold {"after": N}`, `POST /_emulator/release`):
    once N requests have arrived, each further one waits, unanswered, until released. A test
    that must act while a client is mid-run (kill it, interrupt it) then does not race it."""

    def __init__(self) -> None:
        self.after: int | None = None
        self.held = 0
        self.released: asyncio.Event | None = None

    async def wait_if_held(self, emu: Emulator) -> None:
        if self.after is None or self.released is None or emu.requests <= self.after:
            return
        self.held += 1
        try:
            await self.released.wait()
        finally:
            self.held -= 1


async def services(request: Request) -> Response:
    emu: Emulator = request.app.state.emulator
    await request.app.state.hold.wait_if_held(emu)
    body = await request.body()
    route = f"{request.method} {request.url.path}"
    try:
        _authenticate(emu, request, body)
        path = request.url.path
        if path.rstrip("/") == SUITEQL_PATH:
            route = "POST suiteql"
            response = _suiteql(emu, request, body)
        elif path.startswith(RECORD_PREFIX):
            route, response = _record_route(emu, request, body, path[len(RECORD_PREFIX):])
        else:
            raise NsError(404, "NONEXISTENT_ID", f"No service answers {path}.")
    except NsError as err:
        headers = {"WWW-Authenticate": f'OAuth realm="{emu.account_id}", '
                   'error="token_rejected"'} if err.status == 401 else None
        fix = getattr(request.state, "login_fix", None)
        if headers is not None and fix:  # NetSuite's body stays as it is; the reason rides
            headers[LOGIN_REASON_HEADER] = fix  # in a header only the emulator sends
        response = error_response(err, headers)
        if err.status == 401:
            route = "401 (login)"
    emu.count(route, response.status_code)
    return response


def _record_route(emu: Emulator, request: Request, body: bytes,
                  rest: str) -> tuple[str, Response]:
    parts = [unquote(p) for p in rest.strip("/").split("/")]
    if parts[0] == "metadata-catalog" and len(parts) == 2 and request.method == "GET":
        return "GET metadata-catalog/{type}", ns_response(metadata(emu, parts[1]))
    record_type = S.canonical_type(parts[0])
    if record_type is None:
        raise NsError(404, "INVALID_RCRD_TYPE", f"The record type '{parts[0]}' is not "
                      "supported by the flx NetSuite emulator.")
    method, opts, base = request.method, _options(request), _base(request)
    route = f"{method} {record_type}" + ("/{id}" if len(parts) > 1 else "")
    create_form = "type=create-form" in request.headers.get("accept", "").replace(" ", "")
    with emu.lock:
        if len(parts) == 1:
            if method == "POST":
                new_id, warnings = dispatch.create(emu, record_type, _json(request, body), opts)
                return route, _created(base, record_type, new_id, warnings)
            if method == "GET":
                return route, _collection(emu, request, record_type, base)
        elif len(parts) == 4 and parts[2] == "!transform":
            route = f"POST {record_type}/!transform/{parts[3]}"
            if create_form:  # the record the transform would create, prefilled, not saved
                with emu.scratch():
                    response = _transform(emu, method, record_type, parts[1], parts[3],
                                          _json(request, body), opts, base)
                    target = S.canonical_type(parts[3]) or parts[3]
                    new_id = response.headers["location"].rsplit("/", 1)[-1]
                    view = render_record(emu, target, emu.get(target, new_id), base=base,
                                         expand=True)
                view.pop("id", None)
                view.pop("links", None)
                return f"{route} (create-form)", ns_response(view)
            return route, _transform(
                emu, method, record_type, parts[1], parts[3], _json(request, body), opts, base)
        elif len(parts) == 2 and method == "PUT" and parts[1].startswith("eid:"):
            return route, _upsert(emu, record_type, parts[1], _json(request, body), opts, base)
        elif len(parts) == 2:
            record = emu.get(record_type, parts[1])
            if method == "GET":
                expand = request.query_params.get("expandSubResources", "").lower() == "true"
                view = render_record(emu, record_type, record, base=base, expand=expand)
                if request.query_params.get("fields"):
                    wanted = {"links", "id", *request.query_params["fields"].split(",")}
                    view = {k: v for k, v in view.items() if k in wanted}
                return route, ns_response(view)
            if method in ("PATCH", "PUT"):
                warnings = dispatch.update(emu, record_type, record, _json(request, body), opts)
                return route, Response(status_code=204, headers=_warn(warnings))
            if method == "DELETE":
                dispatch.delete(emu, record_type, record)
                return route, Response(status_code=204)
        elif len(parts) in (3, 4) and method == "GET":
            return f"GET {record_type}/{{id}}/{parts[2]}", _sublist(
                emu, record_type, parts, base)
    raise NsError(405, "INVALID_REQUEST", f"{method} is not supported on {request.url.path}.")


def metadata(emu: Emulator, raw_type: str) -> dict[str, Any]:
    """GET .../metadata-catalog/{type}: the record's fields as JSON Schema (what
    `Accept: application/schema+json` answers), without those of features the account has
    turned off (the missing_features switch)."""
    record_type = S.canonical_type(raw_type)
    if record_type is None or record_type not in S.FIELDS:
        raise NsError(404, "INVALID_RCRD_TYPE", f"The record type '{raw_type}' is not "
                      "supported by the flx NetSuite emulator.")
    absent = emu.behaviour.absent

    def props(spec: dict[str, S.F], name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, kind in spec.items():
            if field in absent(name):
                continue
            if kind.kind == S.SUBLIST:
                out[field] = {"type": "object", "properties": {"items": {
                    "type": "array", "items": {"type": "object", "properties": props(
                        S.LINES[kind.sublist], kind.sublist)}}}}
            else:
                out[field] = {"type": "object" if kind.kind in (S.REF, S.CHOICE, S.ADDRESS)
                              else "string", "readOnly": kind.readonly}
        return out

    return {"type": "object", "title": record_type, "properties": props(
        S.FIELDS[record_type], record_type)}


def _warn(warnings: list[str]) -> dict[str, str]:
    return {"X-NetSuite-PropertyValidation": " ".join(warnings)} if warnings else {}


def _created(base: str, record_type: str, record_id: str, warnings: list[str]) -> Response:
    headers = {"Location": record_url(base, record_type, record_id), **_warn(warnings)}
    return Response(status_code=204, headers=headers)


def _upsert(emu: Emulator, record_type: str, key: str, body: Any, opts: records.Options,
            base: str) -> Response:
    try:
        record = emu.get(record_type, key)
    except NsError as err:
        if err.status != 404:
            raise
        new_id, warnings = dispatch.create(emu, record_type, body, opts, url_eid=key[4:])
        return _created(base, record_type, new_id, warnings)
    warnings = dispatch.update(emu, record_type, record, body, opts)
    return _created(base, record_type, record["id"], warnings)


def _transform(emu: Emulator, method: str, source: str, key: str, target_raw: str, body: Any,
               opts: records.Options, base: str) -> Response:
    target = S.canonical_type(target_raw) or target_raw
    if method != "POST":
        raise NsError(405, "INVALID_REQUEST", "A transform is a POST.")
    if (source, target) not in transforms.TRANSFORMS:
        known = (source, target) in transforms.KNOWN_ELSEWHERE
        raise NsError(400, "USER_ERROR", f"Transforming {source} to {target} is "
                      + ("not supported by the flx NetSuite emulator." if known
                         else "not allowed."))
    record = emu.get(source, key)
    if (source, target) == ("purchaseOrder", "itemFulfillment"):
        new_id, warnings = transforms.fulfill_po(emu, record, body, opts)
    elif target == "itemFulfillment":
        new_id, warnings = transforms.fulfill(emu, record, body, opts)
    else:
        new_id, warnings = transforms.bill(emu, record, body, opts)
    return _created(base, target, new_id, warnings)


def _sublist(emu: Emulator, record_type: str, parts: list[str], base: str) -> Response:
    record = emu.get(record_type, parts[1])
    name = parts[2]
    lines = record.get(name)
    if f"{record_type}.{name}" not in S.LINES or not isinstance(lines, list):
        raise NsError(404, "NONEXISTENT_ID", f"{record_type} has no sublist '{name}'.")
    url = f"{record_url(base, record_type, record['id'])}/{name}"
    if len(parts) == 3:
        return ns_response(render_sublist(emu, record_type, name, lines, base, url),
                           kind="collection")
    for line in lines:
        if str(line.get("line", line.get("id"))) == parts[3]:
            return ns_response(render_line(emu, record_type, name, line, base,
                                           f"{url}/{parts[3]}"))
    raise NsError(404, "NONEXISTENT_ID", f"There is no line {parts[3]} on this record.")


def _paging(request: Request, default: int) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", default))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        raise NsError(400, "INVALID_PARAMETER", "limit and offset must be whole numbers.",
                      query_param="limit") from None
    if not 1 <= limit <= 1000:
        raise NsError(400, "INVALID_PARAMETER", f"Invalid value {limit} for the parameter "
                      "limit: it must be between 1 and 1000.", query_param="limit")
    if offset < 0 or offset % limit:
        raise NsError(400, "INVALID_PARAMETER", f"Invalid value {offset} for the parameter "
                      f"offset: it must be a multiple of limit ({limit}).",
                      query_param="offset")
    return limit, offset


def _page(items: list[Any], limit: int, offset: int, url: str) -> dict[str, Any]:
    page = items[offset:offset + limit]
    has_more = offset + limit < len(items)
    links = [{"rel": "self", "href": f"{url}?limit={limit}&offset={offset}"}]
    if has_more:
        links.append({"rel": "next", "href": f"{url}?limit={limit}&offset={offset + limit}"})
    return {"links": links, "count": len(page), "hasMore": has_more, "items": page,
            "offset": offset, "totalResults": len(items)}


def _collection(emu: Emulator, request: Request, record_type: str, base: str) -> Response:
    if "q" in request.query_params:
        raise NsError(400, "INVALID_PARAMETER", "The emulator does not filter record "
                      "collections (q=); use SuiteQL.", query_param="q")
    limit, offset = _paging(request, 1000)
    items = [{"links": [{"rel": "self", "href": record_url(base, record_type, r["id"])}],
              "id": r["id"]} for r in emu.all(record_type)]
    url = f"{base}{RECORD_PREFIX}{record_type.lower()}"
    return ns_response(_page(items, limit, offset, url), kind="collection")


def _suiteql(emu: Emulator, request: Request, body: bytes) -> Response:
    if request.method != "POST":
        raise NsError(405, "INVALID_REQUEST", "SuiteQL queries are POSTed.")
    if "transient" not in request.headers.get("prefer", "").lower():
        # Stricter choice: Oracle's examples always send it; the emulator insists.
        raise NsError(400, "INVALID_PARAMETER", "SuiteQL requests must carry the header "
                      "'Prefer: transient'.", header="Prefer")
    limit, offset = _paging(request, 1000)
    data = _json(request, body)
    if not isinstance(data, dict) or not isinstance(data.get("q"), str) or not data["q"]:
        raise NsError(400, "INVALID_PARAMETER", 'The body must be {"q": "SELECT ..."}.',
                      path="q")
    rows = execute(emu, data["q"])
    items = [{"links": [], **row} for row in rows]
    page = _page(items, limit, offset, f"{_base(request)}{SUITEQL_PATH}")
    return ns_response(page, kind="collection", headers={"Preference-Applied": "transient"})


# --- /_emulator (inspection; never authenticated, never faulted) ------------------------------


async def stats(request: Request) -> Response:
    return JSONResponse({**request.app.state.emulator.stats(),
                         "held": request.app.state.hold.held})


async def hold(request: Request) -> Response:
    after = (json.loads(await request.body() or b"{}")).get("after")
    if not isinstance(after, int) or after < 0:
        return JSONResponse({"error": '"after" must be a whole number of requests'}, 400)
    state: Hold = request.app.state.hold
    state.after, state.released = after, asyncio.Event()
    return Response(status_code=204)


async def release(request: Request) -> Response:
    state: Hold = request.app.state.hold
    state.after = None
    if state.released is not None:
        state.released.set()
    return Response(status_code=204)


async def list_records(request: Request) -> Response:
    emu: Emulator = request.app.state.emulator
    record_type = request.path_params["type"]
    if S.canonical_type(record_type) is None:
        return JSONResponse({"error": f"unknown record type {record_type!r}"}, 404)
    return Response(dumps(emu.records(record_type)), media_type="application/json")


async def login_audit(request: Request) -> Response:
    return JSONResponse(request.app.state.emulator.login_audit_trail())


async def reset(request: Request) -> Response:
    request.app.state.emulator.reset()
    return Response(status_code=204)


def create_app(emulator: Emulator) -> Starlette:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            Route("/services/{rest:path}", services, methods=methods),
            Route("/_emulator/stats", stats, methods=["GET"]),
            Route("/_emulator/records/{type}", list_records, methods=["GET"]),
            Route("/_emulator/login-audit", login_audit, methods=["GET"]),
            Route("/_emulator/reset", reset, methods=["POST"]),
            Route("/_emulator/hold", hold, methods=["POST"]),
            Route("/_emulator/release", release, methods=["POST"]),
        ],
        middleware=[Middleware(Governance, emulator=emulator)],
    )
    app.state.emulator = emulator
    app.state.hold = Hold()
    return app
