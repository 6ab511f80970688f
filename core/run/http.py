"""HTTP clients handed to plugins: an injectable transport, a dry-run guard enforced below the
plugin, and an audit hook that records every remote write (never headers, never bodies).

Two kinds of POST are not record writes: a query sent as a POST (READ_ONLY) and a request for
credentials such as an OAuth token refresh (AUTH, or a client made with purpose="auth"). Both
pass the dry-run guard and leave no audit row; a rotated refresh token must be fetched and
kept in a dry run too, or the next real run could not sign in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import httpx

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_ONLY = "flx_read_only"  # request extension a plugin sets on a read-only POST (a query)
AUTH = "flx_auth"  # request extension for a credentials request (token refresh)
Purpose = Literal["records", "auth"]

AuditFn = Callable[[str, str, int, "str | None"], None]


class DryRunRefused(httpx.TransportError):
    """Raised for a write attempted during --dry-run; nothing left the machine."""


class _GuardTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, dry_run: bool, audit: AuditFn | None,
                 purpose: Purpose = "records") -> None:
        self.inner = inner
        self.dry_run = dry_run
        self.audit = audit
        self.auth_only = purpose == "auth"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exempt = self.auth_only or request.extensions.get(READ_ONLY) \
            or request.extensions.get(AUTH)
        is_write = request.method in WRITE_METHODS and not exempt
        if is_write and self.dry_run:
            raise DryRunRefused(
                f"dry run: refused {request.method} {request.url.path} (nothing was sent)",
                request=request,
            )
        response = self.inner.handle_request(request)
        if is_write and self.audit is not None:
            location = response.headers.get("location", "")
            remote_id = location.rstrip("/").rsplit("/", 1)[-1] if location else None
            self.audit(request.method, request.url.path, response.status_code, remote_id)
        return response

    def close(self) -> None:
        self.inner.close()


def build_client(*, base_url: str, auth: httpx.Auth | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, dry_run: bool = False,
                 audit: AuditFn | None = None, max_connections: int = 10,
                 purpose: Purpose = "records") -> httpx.Client:
    if purpose not in ("records", "auth"):
        raise ValueError(f"purpose must be 'records' or 'auth', not {purpose!r}")
    inner = transport or httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
        retries=0,
    )
    return httpx.Client(
        base_url=base_url, auth=auth, headers=headers, timeout=timeout,
        transport=_GuardTransport(inner, dry_run, audit, purpose),
    )
