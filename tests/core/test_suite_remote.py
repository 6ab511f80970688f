"""The connector suite's watched remote counts writes as the run's dry-run guard does: a POST
marked as a query (READ_ONLY) or as a credentials request (AUTH, an OAuth token refresh) is no
record write, so a connector that refreshes a token still "writes nothing" in a dry run."""

from __future__ import annotations

import httpx

from flx.run.http import AUTH, READ_ONLY
from flx.testing.suite import Remote


def test_only_record_writes_count() -> None:
    remote = Remote(httpx.MockTransport(lambda request: httpx.Response(200)))
    client = httpx.Client(transport=remote, base_url="https://remote.example")
    client.post("/token", extensions={AUTH: True})
    client.post("/query", extensions={READ_ONLY: True})
    client.get("/orders/1")
    assert remote.writes() == []
    client.post("/orders")
    assert remote.writes() == [("POST", "/orders")]
