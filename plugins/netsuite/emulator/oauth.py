"""Token-Based Authentication checks (OAuth 1.0a, RFC 5849, HMAC-SHA256 only).

Written independently of flx's signing code on purpose: if both sides shared one
implementation, a bug in it would sign and verify consistently and never show up in tests.
Every refusal carries the reason NetSuite would write in its Login Audit Trail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

NONCE_WINDOW = 600.0  # seconds a nonce stays remembered (replays inside it are refused)
MAX_SKEW = 300.0  # seconds oauth_timestamp may differ from the server clock (stricter choice)
_PARAM = re.compile(r'\s*([A-Za-z0-9_%.~-]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


class AuthFailure(Exception):
    """A refused login. `reason` is the Login Audit Trail word, `detail` says what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Credentials:
    account: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


def percent_encode(value: str) -> str:
    """RFC 5849 §3.6: everything but unreserved characters, UTF-8, uppercase hex."""
    return quote(value.encode("utf-8"), safe="-._~")


def parse_authorization(header: str) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise AuthFailure("InvalidAuthorizationHeader", "the Authorization scheme is not OAuth")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None:
            raise AuthFailure("InvalidAuthorizationHeader",
                              f"cannot parse the OAuth header near {rest[pos:pos + 20]!r}")
        name, value = unquote(match.group(1)), unquote(match.group(2))
        if name in params:
            raise AuthFailure("InvalidAuthorizationHeader", f"parameter {name} is repeated")
        params[name] = value
        pos = match.end()
    return params


def base_string_uri(scheme: str, host: str, path: str) -> str:
    scheme = scheme.lower()
    host = host.lower()
    default_port = {"http": "80", "https": "443"}.get(scheme)
    if default_port and host.endswith(":" + default_port):
        host = host[: -len(default_port) - 1]
    return f"{scheme}://{host}{path or '/'}"


def signature_base_string(method: str, uri: str, oauth_params: Mapping[str, str],
                          query_string: str, form_body: str | None = None) -> str:
    pairs = [(k, v) for k, v in oauth_params.items() if k not in ("realm", "oauth_signature")]
    pairs += parse_qsl(query_string, keep_blank_values=True)
    if form_body:  # RFC 5849 §3.4.1.3.1: form-encoded bodies are parameters too
        pairs += parse_qsl(form_body, keep_blank_values=True)
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in pairs)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join([method.upper(), percent_encode(uri), percent_encode(normalized)])


def hmac_sha256(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class NonceCache:
    """Nonces seen in the last NONCE_WINDOW seconds, per consumer and token."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = lock or threading.RLock()  # the emulator passes its one lock

    def check_and_add(self, key: tuple[str, str, str], now: float) -> bool:
        with self._lock:
            if len(self._seen) > 10_000:  # prune only when large: O(n) work stays rare
                self._seen = {k: t for k, t in self._seen.items() if now - t < NONCE_WINDOW}
            seen_at = self._seen.get(key)
            if seen_at is not None and now - seen_at < NONCE_WINDOW:
                return False
            self._seen[key] = now
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def verify(creds: Credentials, nonces: NonceCache, *, method: str, scheme: str, host: str,
           raw_path: str, query_string: str, authorization: str | None, body: bytes,
           content_type: str, now: float) -> None:
    """Raise AuthFailure unless the request carries a valid TBA signature for `creds`."""
    if not authorization:
        raise AuthFailure("MissingAuthorization", "no Authorization header")
    params = parse_authorization(authorization)
    if params.get("realm") != creds.account:
        raise AuthFailure("InvalidRealm", f"realm {params.get('realm')!r} is not the account "
                          f"id {creds.account!r} (exact case, underscore)")
    required = ("oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp",
                "oauth_signature_method", "oauth_signature")
    missing = [name for name in required if not params.get(name)]
    if missing:
        raise AuthFailure("MissingParameter", "missing " + ", ".join(missing))
    if params["oauth_signature_method"] != "HMAC-SHA256":
        raise AuthFailure("InvalidSignature", "signature method "
                          f"{params['oauth_signature_method']} is not supported; use HMAC-SHA256")
    if params.get("oauth_version", "1.0") != "1.0":
        raise AuthFailure("InvalidVersion", "oauth_version must be 1.0")
    if params["oauth_consumer_key"] != creds.consumer_key:
        raise AuthFailure("InvalidConsumerKey", "the consumer key is not known to this account")
    if params["oauth_token"] != creds.token_id:
        raise AuthFailure("UnknownToken", "the token id is not known to this account")
    nonce = params["oauth_nonce"]
    if not 6 <= len(nonce) <= 64:
        raise AuthFailure("InvalidNonce", "oauth_nonce must be 6 to 64 characters long")
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise AuthFailure("InvalidTimestamp", "oauth_timestamp is not an integer") from None
    if abs(now - timestamp) > MAX_SKEW:
        raise AuthFailure("TimestampSkew", f"oauth_timestamp is {int(now - timestamp)} s off "
                          "the server clock (more than 5 minutes)")
    if "oauth_body_hash" in params:
        expected_hash = base64.b64encode(hashlib.sha1(body).digest()).decode()
        if not hmac.compare_digest(params["oauth_body_hash"], expected_hash):
            raise AuthFailure("InvalidSignature", "oauth_body_hash does not match the body")
    form = body.decode("utf-8", "replace") if content_type.startswith(
        "application/x-www-form-urlencoded") else None
    uri = base_string_uri(scheme, host, raw_path)
    base = signature_base_string(method, uri, params, query_string, form)
    expected = hmac_sha256(base, creds.consumer_secret, creds.token_secret)
    if not hmac.compare_digest(params["oauth_signature"], expected):
        raise AuthFailure("InvalidSignature", "the signature does not match the request")
    # Remember the nonce only for correctly signed requests: a forged request must not be able
    # to burn a nonce that the real client is about to use.
    if not nonces.check_and_add((creds.consumer_key, creds.token_id, nonce), now):
        raise AuthFailure("NonceReused", "this oauth_nonce was already used in the last 10 "
                          "minutes")
