"""OAuth 2.0 for QuickBooks Online: access tokens kept fresh, refresh tokens rotated safely.

Intuit may replace the refresh token on any refresh and the old value may die at once
(quickbooks-api.md §1.4), so two processes that refresh together can lose the connection.
Hence: every refresh happens under a lock that spans processes, re-reads the stored tokens
inside it (another worker may have refreshed already), and stores the new pair before anyone
uses the new access token. The protocol pieces (Basic client authentication, the token request
body, the authorization URL) come from authlib; the HTTP goes through flx's own client so the
transport can be injected."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import httpx
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request

from flx import AuthenticationError, NetworkError, RemoteUnavailableError

from .settings import SCOPE, QboSettings

LEEWAY = 300.0  # refresh when less than this many seconds are left on the access token
FORM = "application/x-www-form-urlencoded"
STATE_KEY = "oauth_tokens"
AUTH_EXTENSION = "flx_auth"  # flx's request extension for a credentials request
LOCK_NAME = "oauth"


@dataclass
class TokenSet:
    refresh_token: str = field(repr=False)
    access_token: str = field(default="", repr=False)
    access_expires_at: float = 0.0
    refresh_expires_at: float | None = None
    hard_expires_at: float | None = None
    realm_id: str = ""

    def to_json(self) -> str:
        # Without the realm id: every string of a stored secret is masked wherever flx prints,
        # and the company id (in flx.toml anyway) must stay readable.
        data = asdict(self)
        del data["realm_id"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TokenSet:
        data = json.loads(text)
        data.pop("realm_id", None)
        return cls(**data)


class TokenStore(Protocol):
    """Where a connection's tokens live. `locked()` must exclude other processes too."""

    def load(self) -> TokenSet | None: ...
    def save(self, tokens: TokenSet) -> None: ...
    def locked(self) -> AbstractContextManager[None]: ...


class MemoryTokenStore:
    """One process only: for tests and for the emulator demo."""

    def __init__(self, tokens: TokenSet | None = None) -> None:
        self.tokens = tokens
        self.saves = 0
        self._lock = threading.RLock()

    def load(self) -> TokenSet | None:
        return TokenSet(**asdict(self.tokens)) if self.tokens else None

    def save(self, tokens: TokenSet) -> None:
        self.tokens = TokenSet(**asdict(tokens))
        self.saves += 1

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield


class KvTokenStore:
    """The connection's plugin state (`runtime.kv`): a secret value, a cross-process lock."""

    def __init__(self, kv: Any) -> None:
        self.kv = kv

    def load(self) -> TokenSet | None:
        text = self.kv.get(STATE_KEY)
        return TokenSet.from_json(text) if text else None

    def save(self, tokens: TokenSet) -> None:
        self.kv.put(STATE_KEY, tokens.to_json(), secret=True)

    def locked(self) -> AbstractContextManager[None]:
        return self.kv.lock(LOCK_NAME, ttl=60.0, wait=30.0)  # type: ignore[no-any-return]


def authorization_url(settings: QboSettings, redirect_uri: str, state: str) -> str:
    return str(prepare_grant_uri(settings.authorize_url, settings.client_id, "code",
                                 redirect_uri=redirect_uri, scope=SCOPE, state=state))


class TokenManager:
    def __init__(self, settings: QboSettings, store: TokenStore, http: httpx.Client, *,
                 clock: Callable[[], float] = time.time, leeway: float = LEEWAY) -> None:
        self.settings = settings
        self.store = store
        self.http = http
        self.clock = clock
        self.leeway = leeway
        self._current: TokenSet | None = None
        self._lock = threading.Lock()  # one refresh per process at a time
        self.refreshes = 0

    def access_token(self) -> str:
        current = self._current
        if current is not None and self._fresh(current):
            return current.access_token
        return self._refresh(stale=current.access_token if current else None)

    def force_refresh(self, rejected: str) -> str:
        """After a 401 on `rejected`: a new access token, unless another thread already has
        one (authlib refreshes only by the clock and never reacts to a 401)."""
        return self._refresh(stale=rejected, forced=True)

    def _fresh(self, tokens: TokenSet) -> bool:
        return bool(tokens.access_token) and tokens.access_expires_at - self.leeway > self.clock()

    def _refresh(self, *, stale: str | None, forced: bool = False) -> str:
        with self._lock:
            mine = self._current
            if mine is not None and mine.access_token != stale and self._fresh(mine):
                return mine.access_token
            with self.store.locked():
                stored = self.store.load()
                if stored is None and self.settings.refresh_token:
                    stored = TokenSet(self.settings.refresh_token, realm_id=self.settings.realm_id)
                if stored is None:
                    raise self._not_authorized("no QuickBooks token is stored for it")
                usable = stored.access_token != stale or not forced
                if usable and self._fresh(stored):
                    self._current = stored  # another process refreshed it
                    return stored.access_token
                fresh = self._grant({"grant_type": "refresh_token",
                                     "refresh_token": stored.refresh_token}, stored)
                self.store.save(fresh)  # before anyone uses the new access token
                self.refreshes += 1
            self._current = fresh
            return fresh.access_token

    def exchange_code(self, code: str, redirect_uri: str, realm_id: str) -> TokenSet:
        """The authorization-code grant; the new tokens are stored."""
        with self._lock, self.store.locked():
            tokens = self._grant({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": redirect_uri}, TokenSet("", realm_id=realm_id))
            self.store.save(tokens)
            self._current = tokens
            return tokens

    def adopt(self, refresh_token: str, realm_id: str) -> TokenSet:
        """Import a refresh token made elsewhere (the OAuth Playground) and prove it works."""
        with self._lock, self.store.locked():
            tokens = self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token},
                                 TokenSet(refresh_token, realm_id=realm_id))
            self.store.save(tokens)
            self._current = tokens
            return tokens

    def _grant(self, params: dict[str, str], previous: TokenSet) -> TokenSet:
        body = prepare_token_request(params.pop("grant_type"), **params)
        url, headers, body = ClientAuth(
            self.settings.client_id, self.settings.client_secret, "client_secret_basic"
        ).prepare("POST", self.settings.token_url,
                  {"Content-Type": FORM, "Accept": "application/json",
                   "x-include-refresh-token-hard-expires-in": "true"}, body)
        try:
            # Marked as a credentials request: not a record write (dry runs pass it, audits
            # skip it), whatever client it goes through.
            response = self.http.post(url, headers=headers, content=body,
                                      extensions={AUTH_EXTENSION: True})
        except httpx.TransportError as exc:
            raise NetworkError(f"connection {self.settings.name}: the token request to Intuit "
                               f"failed ({type(exc).__name__})",
                               hint="check the network; flx retries on the next run") from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 500:
            raise RemoteUnavailableError(f"connection {self.settings.name}: Intuit's token "
                                         f"endpoint answered HTTP {response.status_code}",
                                         hint="retried on the next run")
        if response.status_code != 200 or not data.get("access_token"):
            error = str(data.get("error") or f"HTTP {response.status_code}")
            what = "authorization code" if "code" in params else "refresh token"
            raise self._not_authorized(f"Intuit refused the {what} ({error})")
        now = self.clock()
        hard = data.get("x_refresh_token_hard_expires_in")
        return TokenSet(
            refresh_token=str(data.get("refresh_token") or previous.refresh_token),
            access_token=str(data["access_token"]),
            access_expires_at=now + float(data.get("expires_in", 3600)),
            refresh_expires_at=(now + float(data["x_refresh_token_expires_in"])
                                if data.get("x_refresh_token_expires_in") else None),
            hard_expires_at=now + float(hard) if hard else previous.hard_expires_at,
            realm_id=previous.realm_id or self.settings.realm_id)

    def _not_authorized(self, why: str) -> AuthenticationError:
        name = self.settings.name or "NAME"
        return AuthenticationError(
            f"connection {name}: {why}; it needs to be authorized again",
            hint=f"run `flx connections authorize {name}` (or `flx connections authorize {name} "
                 "--refresh-token TOKEN` with a token from Intuit's OAuth Playground)")
