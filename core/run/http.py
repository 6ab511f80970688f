"""HTTP clients handed to plugins: an injectable transport, a dry-run guard enforced below the
plugin, and an audit hook that records every remote write (never headers, never bodies)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_ONLY = "flx_read_only"  # request extension a plugin sets on a read-only POST (a query)

AuditFn = Callable[[str, str, int, "str | None"], None]


class DryRunRefused(httpx.TransportError):
    """Raised for a write attempted during --dry-run; nothing left the machine."""


class _GuardTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, dry_run: bool, audit: AuditFn | None) -> None:
        self.inner = inner
        self.dry_run = dry_run
        self.audit = audit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        is_write = request.method in WRITE_METHODS and not request.extensions.get(READ_ONLY)
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
                 audit: AuditFn | None = None, max_connections: int = 10) -> httpx.Client:
    inner = transport or httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
        retries=0,
    )
    return httpx.Client(
        base_url=base_url, auth=auth, headers=headers, timeout=timeout,
        transport=_GuardTransport(inner, dry_run, audit),
    )
