"""The emulator: Intuit's OAuth server and the v3 accounting API of one or more companies,
answering plain (method, path, query, headers, body) requests so that an in-process httpx
transport and a Starlette app can both serve it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from .behaviour import Behaviour
from .books import ENTITIES, Books
from .errors import (
    GatewayError,
    QboFault,
    authentication_failed,
    authorization_failed,
)
from .faults import ConnectionDropped, FaultPlan, Faults
from .oauth import OAuthError, TokenAuthority
from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REALM, seed_demo
from .throttle import Throttle

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
AUTHORIZE_PATH = "/connect/oauth2"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
API_PREFIX = "/v3/company/"
MINOR_VERSION = 75


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=lambda v: float(v) if isinstance(v, Decimal) else str(v),
                      separators=(",", ":")).encode()


class Emulator:
    """`Emulator()` holds one seeded sandbox company (realm DEMO_REALM) and the demo app keys."""

    def __init__(self, *, seed: bool = True, behaviour: Behaviour | None = None,
                 faults: FaultPlan | None = None, clock: Callable[[], float] = time.time,
                 latency: float = 0.0) -> None:
        self.behaviour = behaviour or Behaviour()
        self.clock = clock
        self.latency = latency
        self.oauth = TokenAuthority(self.behaviour, clock)
        self.throttle = Throttle(self.behaviour, clock)
        self.faults = Faults(faults)
        self.companies: dict[str, Books] = {}
        self.replies: dict[tuple[str, str], Reply] = {}  # (realm, requestid) -> first answer
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of API calls
        self._lock = threading.Lock()
        self.oauth.register_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "sandbox")
        if seed:
            seed_demo(self.company(DEMO_REALM))

    def company(self, realm_id: str) -> Books:
        with self._lock:
            if realm_id not in self.companies:
                self.companies[realm_id] = Books(realm_id, self.behaviour, self.clock)
            return self.companies[realm_id]

    def writes(self) -> list[str]:
        """The API writes received so far (POST paths), for tests that count requests."""
        return [target for method, target in self.requests
                if method == "POST" and "/query" not in target]

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        headers = {k.lower(): v for k, v in headers.items()}
        tid = {"intuit_tid": uuid.uuid4().hex}
        try:
            if path.startswith(API_PREFIX):
                reply = self._api(method, path, query, headers, body)
            elif path == TOKEN_PATH and method == "POST":
                reply = Reply(200, dumps(self.oauth.token_endpoint(headers, body)))
            elif path == AUTHORIZE_PATH and method == "GET":
                target = self.oauth.authorize(query, query.get("realm_id", DEMO_REALM))
                reply = Reply(302, b"", {"location": target})
            elif path == REVOKE_PATH and method == "POST":
                self.oauth.revoke(headers, str(json.loads(body or b"{}").get("token", "")))
                reply = Reply(200)
            else:
                reply = Reply(404, dumps({"error": f"no route {method} {path}"}))
        except OAuthError as err:
            reply = Reply(err.status, dumps(err.body()))
        except GatewayError as err:
            reply = Reply(err.status, dumps(err.body()), dict(err.headers))
        reply.headers.update(tid)
        reply.headers.setdefault("content-type", "application/json")
        return reply

    def _api(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
             body: bytes) -> Reply:
        realm, _, rest = path[len(API_PREFIX):].partition("/")
        token = self.oauth.bearer(headers.get("authorization", ""))
        if token is None:
            raise authentication_failed("Token expired or invalid")
        app = self.oauth.apps[token.client_id]
        host = headers.get("host", "")
        # Development keys reach only the sandbox host, production keys only the real one; a
        # loopback host (the emulator served locally) is either.
        wrong_host = {"sandbox": host == "quickbooks.api.intuit.com",
                      "production": host.startswith("sandbox-")}[app.environment]
        if token.realm_id != realm or wrong_host:
            raise authorization_failed("The token does not grant access to this company")
        books = self.company(realm)
        is_write = method == "POST" and not rest.startswith("query")
        self.throttle.enter(realm, not is_write)
        try:
            target = f"{path}?{'&'.join(f'{k}={v}' for k, v in sorted(query.items()))}"
            with self._lock:
                self.requests.append((method, target))
            if self.latency:
                time.sleep(self.latency)
            fault = self.faults.decide(method, target, body)
            if fault == "drop_before":
                raise ConnectionDropped(fault)
            if fault in ("error_500", "error_503"):
                return Reply(int(fault[-3:]), dumps(_system_fault(books.now())))
            if fault == "fault_200":
                return Reply(200, dumps(_system_fault(books.now())))
            reply = self._service(books, method, rest, query, body)
            if fault in ("drop_after", "timeout") and is_write:
                raise ConnectionDropped(fault)
            return reply
        finally:
            self.throttle.leave(realm)

    def _service(self, books: Books, method: str, rest: str, query: dict[str, str],
                 body: bytes) -> Reply:
        requestid = query.get("requestid")
        key = (books.realm_id, requestid or "")
        if requestid and method == "POST" and self.behaviour.requestid == "replay":
            with self._lock:
                seen = self.replies.get(key)
            if seen is not None:
                return Reply(seen.status, seen.body, dict(seen.headers))
        try:
            minor = int(query.get("minorversion", MINOR_VERSION))
            if minor < MINOR_VERSION:
                raise QboFault("2010", "Invalid minor version",
                               f"Minor version {minor} is not supported; use 75 or later")
            reply = Reply(200, dumps({**self._route(books, method, rest, query, body),
                                      "time": books.now()}))
        except QboFault as fault:
            reply = Reply(fault.status, dumps(fault.body(books.now())))
        if requestid and method == "POST":
            with self._lock:
                self.replies.setdefault(key, reply)
        return reply

    def _route(self, books: Books, method: str, rest: str, query: dict[str, str],
               body: bytes) -> dict[str, Any]:
        parts = rest.split("/")
        if parts[0] == "query":
            text = query.get("query") if method == "GET" else body.decode()
            return {"QueryResponse": books.query(unquote(text or ""))}
        if parts[0] == "companyinfo" and method == "GET":
            return {"CompanyInfo": {"Id": books.realm_id, "CompanyName": books.company_name,
                                    "Country": "US"}}
        if parts[0] == "preferences" and method == "GET":
            return {"Preferences": books.preferences}
        entity = ENTITIES.get(parts[0])
        if entity is None:
            raise QboFault("500", "Unsupported Operation",
                           f"Operation {method} {rest} is not supported.")
        if method == "GET" and len(parts) == 2:
            return {entity: books.read(entity, parts[1])}
        if method != "POST" or len(parts) != 1:
            raise QboFault("500", "Unsupported Operation",
                           f"Operation {method} {rest} is not supported.")
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise QboFault("2500", "Invalid Request", "Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise QboFault("2500", "Invalid Request", "Request body must be an object")
        operation = query.get("operation", "create" if not data.get("Id") else "update")
        if operation == "delete":
            return {entity: books.delete(entity, data)}
        if operation == "update" or data.get("Id"):
            return {entity: books.update(entity, data)}
        return {entity: books.create(entity, data)}


def _system_fault(now: str) -> dict[str, Any]:
    return {"Fault": {"Error": [{"Message": "An application error has occurred while "
                                            "processing your request",
                                 "Detail": "System Failure Error: An unexpected error occurred",
                                 "code": "10000"}], "type": "SystemFault"}, "time": now}
