"""Who may look and who may act: the token, the CSRF token of every form, the hosts a browser
may call the dashboard by.

- Bound to a loopback address without a token, anyone on this machine may use the dashboard;
  bound elsewhere, `[serve] token` is required (flx refuses to start without it).
- With a token, every page, API call and scrape needs it: `Authorization: Bearer TOKEN`
  (scripts, Prometheus) or the session cookie the /login form sets (people). Compared in
  constant time.
- Every action is a POST carrying a CSRF token: an HMAC of the browser's own random cookie
  under a key made at start, so another site can neither read nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flx.errors import ConfigError

if TYPE_CHECKING:
    from flx.config.load import Config

CSRF_COOKIE = "flx_csrf"
MAX_FORM_BYTES = 64 * 1024
SESSION_COOKIE = "flx_session"
TOKEN_VAR = "FLX_SERVE_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def configured_token(config: Config, env: Any = None) -> str | None:
    """`[serve] token` with its `${VAR}` put in. Read here rather than at config load: a token
    variable that is unset must stop `flx serve` only, not every other command."""
    from flx.config.interpolate import Interpolator

    table = config.raw.get("serve")
    if not isinstance(table, dict) or table.get("token") in (None, ""):
        return None
    interp = Interpolator(os.environ if env is None else env)
    value = interp.resolve(table["token"], ("serve", "token"))
    if interp.missing or interp.problems:
        raise ConfigError(
            "[serve] token refers to an environment variable that is not set",
            problems=[f"serve.token: {', '.join(n for ns in interp.missing.values() for n in ns)}"
                      " is not set"] if interp.missing else list(interp.problems),
            hint=f"export the variable (for example {TOKEN_VAR}) and start `flx serve` again")
    token = str(value)
    if len(token) < 16:
        raise ConfigError("[serve] token is too short to protect the dashboard",
                          hint="use at least 16 random characters, for example the output of "
                               "`python3 -c 'import secrets; print(secrets.token_urlsafe())'`")
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without a token: anyone who can reach it could "
            "retry, resolve and run",
            hint=f'add a [serve] table with `token = "${{{TOKEN_VAR}}}"` to flx.toml and '
                 f"export {TOKEN_VAR} (16 characters or more), or serve on 127.0.0.1 "
                 "(the default)")


@dataclass
class Guard:
    """The checks of one running dashboard. `key` is made at start: restarting flx serve
    ends every session and invalidates every form (people log in again)."""

    token: str | None
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    # -- the token ----------------------------------------------------------------------------

    def token_ok(self, given: str | None) -> bool:
        if self.token is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def session_value(self) -> str:
        return self._mac("session", self.token or "")

    def allowed(self, headers: Any, cookies: dict[str, str]) -> bool:
        if self.token is None:
            return True
        auth = str(headers.get("authorization") or "")
        if auth.lower().startswith("bearer ") and self.token_ok(auth[7:].strip()):
            return True
        session = cookies.get(SESSION_COOKIE)
        return session is not None and hmac.compare_digest(session, self.session_value())

    # -- CSRF ---------------------------------------------------------------------------------

    @staticmethod
    def new_browser_id() -> str:
        return secrets.token_urlsafe(24)

    def csrf_for(self, browser_id: str) -> str:
        return self._mac("csrf", browser_id)

    def csrf_ok(self, browser_id: str | None, given: str | None) -> bool:
        if not browser_id or not given:
            return False
        return hmac.compare_digest(self.csrf_for(browser_id), given)


async def read_form(request: Any) -> dict[str, str]:
    """An urlencoded form (the dashboard's only kind), read without python-multipart; an
    oversized or other body reads as empty, so its CSRF check fails."""
    from urllib.parse import parse_qsl

    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    body = await request.body()
    if kind != "application/x-www-form-urlencoded" or len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
