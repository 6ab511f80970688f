"""Token-Based Authentication: every request signed with OAuth 1.0a, HMAC-SHA256.

How, and why this way (netsuite-rest.md §1):

* The RFC 5849 encoding rules (percent-encoding, base-string URI, parameter normalisation)
  come from oauthlib's protocol functions (`oauthlib.oauth1.rfc5849.signature` / `.utils`),
  which are small, pure and well tested. We do not use `oauthlib.oauth1.Client`: it writes the
  signature base string, which holds the consumer key and token ID, to its DEBUG log, and we
  promise that no credential ever reaches a log. authlib is not used either: it has no
  HMAC-SHA256 and empties JSON bodies unless told otherwise, and its httpx integration warns
  on import.
* The HMAC itself is three lines of the standard library (oauthlib's helper for it is
  deprecated).
* Signed: the `oauth_*` parameters plus every query parameter of the final URL (NetSuite
  answers 401 when `limit`/`offset` are left out). Not signed: `realm` (RFC 5849 §3.4.1.3.1)
  and the JSON body. A JSON body is not a form parameter, so RFC 5849 leaves it out of the
  base string, and we send no `oauth_body_hash` either (whether NetSuite checks one is an
  open question; not sending it avoids that question). The body is never read or changed.
* A fresh nonce (32 hex characters) and timestamp per request; the timestamp never goes
  backwards within the process, as NetSuite expects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Generator
from urllib.parse import parse_qsl, urlsplit

import httpx
from oauthlib.oauth1.rfc5849 import signature as rfc5849
from oauthlib.oauth1.rfc5849.utils import escape

from flx_netsuite.connection import NetSuiteSettings

SIGNATURE_METHOD = "HMAC-SHA256"


def signature_base_string(method: str, url: str, oauth_params: list[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1: METHOD & base-URI & normalised(oauth params + query params)."""
    query = urlsplit(url).query
    # keep_blank_values: an empty parameter that is sent must also be signed.
    params = list(oauth_params) + parse_qsl(query, keep_blank_values=True)
    normalized = rfc5849.normalize_parameters(params)
    return rfc5849.signature_base_string(method, rfc5849.base_string_uri(url), normalized)


def hmac_sha256_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{escape(consumer_secret)}&{escape(token_secret)}".encode()
    digest = hmac.new(key, base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class TokenAuth(httpx.Auth):
    """An httpx.Auth that adds a NetSuite TBA `Authorization: OAuth realm=...` header.

    Safe to share between threads: it keeps no per-request state."""

    requires_request_body = False  # the body is not part of the signature; never touched

    def __init__(self, *, realm: str, consumer_key: str, consumer_secret: str, token_id: str,
                 token_secret: str, nonce: Callable[[], str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.realm = realm
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token_id = token_id
        self._token_secret = token_secret
        self._nonce = nonce or (lambda: secrets.token_hex(16))
        self._clock = clock
        self._lock = threading.Lock()
        self._last_timestamp = 0

    @classmethod
    def from_settings(cls, settings: NetSuiteSettings) -> TokenAuth:
        return cls(realm=settings.realm, consumer_key=settings.client_id,
                   consumer_secret=settings.client_secret, token_id=settings.token_id,
                   token_secret=settings.token_secret)

    def __repr__(self) -> str:  # never show credentials, even in a debugger or traceback
        return f"TokenAuth(realm={self.realm!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.authorization(request.method, str(request.url))
        yield request

    def authorization(self, method: str, url: str, *, nonce: str | None = None,
                      timestamp: int | None = None) -> str:
        """The Authorization header value for `method url` (the exact URL that is sent)."""
        oauth_params = [
            ("oauth_consumer_key", self._consumer_key),
            ("oauth_token", self._token_id),
            ("oauth_signature_method", SIGNATURE_METHOD),
            ("oauth_timestamp", str(timestamp if timestamp is not None else self._timestamp())),
            ("oauth_nonce", nonce if nonce is not None else self._nonce()),
            ("oauth_version", "1.0"),
        ]
        base = signature_base_string(method, url, oauth_params)
        signature = hmac_sha256_signature(base, self._consumer_secret, self._token_secret)
        fields = [("realm", self.realm), *oauth_params, ("oauth_signature", signature)]
        # Every value percent-encoded (RFC 5849 §3.5.1); unescaped values give 401s.
        return "OAuth " + ", ".join(f'{k}="{escape(v)}"' for k, v in fields)

    def _timestamp(self) -> int:
        # NetSuite wants timestamps that do not go backwards; a clock step back must not
        # produce a run of 401s.
        with self._lock:
            self._last_timestamp = max(self._last_timestamp, int(self._clock()))
            return self._last_timestamp
