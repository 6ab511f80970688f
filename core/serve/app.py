"""The dashboard's Starlette app: the routes and the guard in front of them.

    create_app(config, plugins, store, *, transport=None, token=None, read_only=False)

Paths: / (overview), /errors, /records/{id}, /runs, /login, /metrics, /api/status,
/api/errors, /api/records/{id}, /api/runs, /static/..., and the POST actions under
/actions/ (retry, resolve, retry-class, run)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import quote

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flx.config.redact import Redactor
from flx.serve import api, forms, pages
from flx.serve.actions import ensure_table
from flx.serve.dashboard import REFRESH_SECONDS, Dashboard, dashboard
from flx.serve.security import CSRF_COOKIE, Guard, is_loopback

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.store.store import Store

# No script anywhere, styles and images from flx itself only, never framed.
_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class Guarded(BaseHTTPMiddleware):
    """In front of every route: the Host header (no DNS rebinding of a loopback dashboard),
    the token, the browser's CSRF cookie, the request counter, the safety headers."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        dash = dashboard(request)
        if dash.guard.token is None and not is_loopback(_hostname(request)):
            response: Response = PlainTextResponse(
                "this dashboard answers on its loopback address only (127.0.0.1 or "
                "localhost); to reach it from elsewhere configure [serve] token", 421)
        elif not _open_path(request.url.path) and not dash.guard.allowed(
                request.headers, request.cookies):
            response = _refused(request)
        else:
            browser = request.cookies.get(CSRF_COOKIE)
            request.state.browser_id = browser or Guard.new_browser_id()
            response = await call_next(request)
            if browser is None:
                response.set_cookie(CSRF_COOKIE, request.state.browser_id, httponly=True,
                                    samesite="strict")
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        route = request.scope.get("route")
        dash.metrics.count(request.method, getattr(route, "path", "other"),
                           response.status_code)
        return response


def _hostname(request: Request) -> str:
    """The Host header's name, without its port ("[::1]:8750" -> "::1")."""
    host = request.headers.get("host") or ""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0]


def _open_path(path: str) -> bool:
    return path in ("/login", "/favicon.ico") or path.startswith("/static/")


def _refused(request: Request) -> Response:
    if request.url.path.startswith(("/api/", "/metrics")):
        return JSONResponse({"error": {
            "class": "authentication", "message": "this dashboard needs its token",
            "hint": "send `Authorization: Bearer TOKEN` ([serve] token of flx.toml)"}},
            status_code=401, headers={"www-authenticate": "Bearer"})
    if request.method == "GET":
        return Response(status_code=303, headers={
            "location": "/login?next=" + quote(request.url.path, safe="/")})
    return PlainTextResponse("refused: log in with the dashboard's token first", 401)


def create_app(config: Config, plugins: Plugins, store: Store, *,
               transport: httpx.BaseTransport | None = None, token: str | None = None,
               read_only: bool = False, refresh_seconds: int = REFRESH_SECONDS) -> Starlette:
    redactor = Redactor([*config.secrets(), token])
    store.sync_summary()  # opens the store and brings its schema up to date
    try:
        ensure_table(store)
    except sa.exc.SQLAlchemyError:
        if not read_only:  # a read-only dashboard writes nothing, so it can do without
            raise
    dash = Dashboard(config, plugins, store, Guard(token), redactor, read_only=read_only,
                     transport=transport, refresh_seconds=refresh_seconds)
    static = StaticFiles(directory=str(resources.files("flx.serve").joinpath("static")))
    routes = [*pages.ROUTES, *forms.ROUTES, *api.ROUTES,
              Route("/metrics", api.metrics), Mount("/static", static, name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(Guarded)])
    app.state.flx = dash
    return app


__all__ = ["create_app"]
