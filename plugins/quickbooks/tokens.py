"""Where a connection's OAuth tokens are kept (its plugin state: a secret value, under a lock
shared by every flx process of the connection) and the client that asks Intuit for them."""

from __future__ import annotations

import httpx

from flx import Runtime

from .oauth import KvTokenStore, TokenStore


def token_store(runtime: Runtime) -> TokenStore:
    return KvTokenStore(runtime.kv)


def auth_http(runtime: Runtime, token_url: str) -> httpx.Client:
    """The client for Intuit's token endpoint: its POST must work in a dry run (reads need a
    token) and is no record write, so it passes the guard and is not audited."""
    base = str(httpx.URL(token_url).copy_with(path="/", query=None))
    return runtime.http_client(base_url=base, purpose="auth")
