"""Intuit's OAuth 2.0 server as far as flx meets it: the authorize redirect, the token endpoint
(code exchange and refresh with rotation), revocation, and bearer-token checks for the API."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .behaviour import Behaviour


@dataclass
class App:
    client_id: str
    client_secret: str
    environment: str  # "sandbox" (Development keys) or "production"


@dataclass
class RefreshToken:
    value: str
    client_id: str
    realm_id: str
    expires_at: float
    issued_at: float
    dies_at: float | None = None  # set when a newer value replaced it
    family: str = ""


@dataclass
class AccessToken:
    value: str
    client_id: str
    realm_id: str
    expires_at: float


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(error)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict[str, str]:
        data = {"error": self.error}
        if self.description:
            data["error_description"] = self.description
        return data


class TokenAuthority:
    def __init__(self, behaviour: Behaviour, clock: Callable[[], float]) -> None:
        self.behaviour = behaviour
        self.clock = clock
        self.apps: dict[str, App] = {}
        self.codes: dict[str, tuple[str, str, str]] = {}  # code -> client, realm, redirect
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refreshes = 0  # how many refresh grants succeeded (tests count them)
        self._lock = threading.Lock()

    def register_app(self, client_id: str, client_secret: str,
                     environment: str = "sandbox") -> App:
        app = App(client_id, client_secret, environment)
        self.apps[client_id] = app
        return app

    # --- authorization code ---------------------------------------------------------------

    def authorize(self, params: dict[str, str], realm_id: str) -> str:
        """Approve at once (the emulator has no login page); the redirect URL to follow."""
        app = self.apps.get(params.get("client_id", ""))
        redirect = params.get("redirect_uri", "")
        if app is None:
            raise OAuthError(400, "invalid_client", "unknown client_id")
        if app.environment == "production" and redirect.startswith(("http://localhost",
                                                                     "http://127.")):
            raise OAuthError(400, "invalid_request",
                             "The redirect_uri query parameter value is invalid")
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = (app.client_id, realm_id, redirect)
        sep = "&" if "?" in redirect else "?"
        return f"{redirect}{sep}code={code}&state={params.get('state', '')}&realmId={realm_id}"

    # --- token endpoint -------------------------------------------------------------------

    def token_endpoint(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        form = dict(parse_qsl(body.decode()))
        app = self._client(headers, form)
        grant = form.get("grant_type")
        with self._lock:
            if grant == "authorization_code":
                issued = self.codes.pop(form.get("code", ""), None)
                if issued is None or issued[0] != app.client_id:
                    raise OAuthError(400, "invalid_grant")
                if form.get("redirect_uri") != issued[2]:
                    raise OAuthError(400, "invalid_grant", "redirect_uri mismatch")
                refresh = self._new_refresh(app.client_id, issued[1], secrets.token_hex(8))
            elif grant == "refresh_token":
                refresh = self._rotate(app, form.get("refresh_token", ""))
                self.refreshes += 1
            else:
                raise OAuthError(400, "unsupported_grant_type")
            access = self._new_access(app.client_id, refresh.realm_id)
        now = self.clock()
        data: dict[str, Any] = {
            "access_token": access.value, "token_type": "bearer",
            "expires_in": round(access.expires_at - now), "refresh_token": refresh.value,
            "x_refresh_token_expires_in": round(refresh.expires_at - now),
        }
        if headers.get("x-include-refresh-token-hard-expires-in") == "true":
            data["x_refresh_token_hard_expires_in"] = 5 * 365 * 86_400
        return data

    def issue(self, client_id: str, realm_id: str) -> str:
        """A refresh token as the OAuth Playground would hand it out (for tests and demos)."""
        with self._lock:
            return self._new_refresh(client_id, realm_id, secrets.token_hex(8)).value

    def revoke(self, headers: dict[str, str], token: str) -> None:
        self._client(headers, {})
        with self._lock:
            dead = self.refresh_tokens.get(token)
            if dead is not None:
                for value, other in list(self.refresh_tokens.items()):
                    if other.family == dead.family:
                        del self.refresh_tokens[value]
            self.access_tokens.pop(token, None)

    def _client(self, headers: dict[str, str], form: dict[str, str]) -> App:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client") from None
        app = self.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, secret):
            raise OAuthError(401, "invalid_client")
        return app

    def _rotate(self, app: App, value: str) -> RefreshToken:
        now = self.clock()
        current = self.refresh_tokens.get(value)
        if (current is None or current.client_id != app.client_id or current.expires_at <= now
                or (current.dies_at is not None and current.dies_at <= now)):
            raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
        # Rolling expiry: every use extends the token's life.
        current.expires_at = now + self.behaviour.refresh_token_lifetime
        newest = [t for t in self.refresh_tokens.values()
                  if t.family == current.family and t.dies_at is None]
        latest = max(newest, key=lambda t: t.issued_at) if newest else current
        daily = self.behaviour.rotation == "daily" and now - latest.issued_at < 86_400
        if daily:
            return latest
        fresh = self._new_refresh(app.client_id, current.realm_id, current.family)
        for old in newest:
            old.dies_at = now + self.behaviour.old_token_grace
        if self.behaviour.old_token_grace <= 0:
            for old in newest:
                del self.refresh_tokens[old.value]
        return fresh

    def _new_refresh(self, client_id: str, realm_id: str, family: str) -> RefreshToken:
        now = self.clock()
        token = RefreshToken("RT-" + secrets.token_urlsafe(24), client_id, realm_id,
                             now + self.behaviour.refresh_token_lifetime, now, family=family)
        self.refresh_tokens[token.value] = token
        return token

    def _new_access(self, client_id: str, realm_id: str) -> AccessToken:
        token = AccessToken("AT-" + secrets.token_urlsafe(24), client_id, realm_id,
                            self.clock() + self.behaviour.access_token_lifetime)
        self.access_tokens[token.value] = token
        return token

    # --- API calls --------------------------------------------------------------------------

    def bearer(self, authorization: str) -> AccessToken | None:
        """The live access token named by an Authorization header, or None."""
        if not authorization.lower().startswith("bearer "):
            return None
        token = self.access_tokens.get(authorization[7:].strip())
        if token is None or token.expires_at <= self.clock():
            return None
        return token
