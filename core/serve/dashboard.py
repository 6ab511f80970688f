"""What every handler of the dashboard shares: the loaded config, plugins and store, the guard,
the redactor, the templates (`Dashboard`, on `app.state.flx`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from flx.config.redact import Redactor
from flx.serve.actions import Runner
from flx.serve.metrics import Metrics
from flx.serve.security import Guard

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.store.store import Store

FLASH_COOKIE = "flx_flash"
WHO_COOKIE = "flx_by"
REFRESH_SECONDS = 30

@dataclass
class Dashboard:
    config: Config
    plugins: Plugins
    store: Store
    guard: Guard
    redactor: Redactor
    read_only: bool = False
    transport: httpx.BaseTransport | None = None
    refresh_seconds: int = REFRESH_SECONDS
    metrics: Metrics = field(init=False)
    runner: Runner = field(init=False)
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.store, self.config.operations.kinds())
        self.runner = Runner(self.config, self.plugins, self.store, self.transport)
        self.env = Environment(loader=PackageLoader("flx.serve", "templates"),
                               autoescape=select_autoescape(default=True),
                               finalize=self._finalize, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["when"] = when
        self.env.filters["stamp"] = lambda d: d.strftime("%Y-%m-%d %H:%M:%S UTC") if d else ""
        self.env.filters["words"] = lambda s: str(s or "").replace("_", " ")
        self.env.filters["q"] = lambda s: quote(str(s), safe="")

    def _finalize(self, value: Any) -> Any:
        """Every value a template prints passes here: no secret reaches a page."""
        if value is None:
            return ""
        if isinstance(value, Markup):  # a macro's or a chart's own HTML: kept as HTML
            return Markup(self.redactor.text(str(value)))
        return self.redactor.text(value) if isinstance(value, str) else value

    def page(self, request: Request, template: str, status: int = 200,
             **context: Any) -> HTMLResponse:
        flash = unquote(request.cookies.get(FLASH_COOKIE, ""))
        html = self.env.get_template(template).render(
            csrf=self.guard.csrf_for(request.state.browser_id), read_only=self.read_only,
            flash=self.redactor.text(flash), token_mode=self.guard.token is not None,
            who=unquote(request.cookies.get(WHO_COOKIE, "")), path=request.url.path,
            query=str(request.url.query), **context)
        response = HTMLResponse(html, status_code=status)
        if flash:
            response.delete_cookie(FLASH_COOKIE)
        return response

    def json(self, data: Any, status: int = 200) -> Response:
        """The CLI's --json document: secrets masked, amounts as numbers."""
        text = json.dumps(self.redactor.data(data), indent=2, default=_json_default,
                          ensure_ascii=False)
        return Response(self.redactor.text(text), status_code=status,
                        media_type="application/json")


def _json_default(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else str(value)


def when(iso: Any) -> str:
    return str(iso or "").replace("T", " ").replace("Z", " UTC")


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.flx
    return found


