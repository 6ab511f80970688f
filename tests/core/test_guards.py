"""Guards whose off-by-one or missing case would go unnoticed elsewhere: every write method
refused in a dry run, and a secret of exactly the minimum length masked."""

from __future__ import annotations

import httpx
import pytest

from flx.config.redact import MASK, MIN_SECRET_LENGTH, Redactor
from flx.run.http import READ_ONLY, DryRunRefused, build_client


def recording() -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(204, headers={"location": "https://x.test/record/v1/thing/7"})

    return httpx.MockTransport(handler), seen


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_dry_run_refuses_every_write_method_before_it_leaves(method: str) -> None:
    transport, seen = recording()
    client = build_client(base_url="https://x.test", transport=transport, dry_run=True)
    with pytest.raises(DryRunRefused, match=f"dry run: refused {method} /record/v1/thing/7"):
        client.request(method, "/record/v1/thing/7", json={})
    assert seen == []


def test_a_dry_run_lets_reads_and_read_only_queries_through() -> None:
    transport, seen = recording()
    client = build_client(base_url="https://x.test", transport=transport, dry_run=True)
    client.get("/record/v1/thing/7")
    client.post("/query/v1/suiteql", json={"q": "SELECT id FROM item"},
                extensions={READ_ONLY: True})
    assert seen == ["GET", "POST"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_write_method_is_audited(method: str) -> None:
    transport, _ = recording()
    audited: list[tuple[str, str, int, str | None]] = []
    client = build_client(base_url="https://x.test", transport=transport,
                          audit=lambda *row: audited.append(row))
    client.request(method, "/record/v1/thing/7?secret=1")
    client.get("/record/v1/thing/7")
    assert audited == [(method, "/record/v1/thing/7", 204, "7")]


def test_a_secret_of_exactly_the_minimum_length_is_masked() -> None:
    assert MIN_SECRET_LENGTH == 4
    secret = "k9/Z"  # 4 characters, and a "/" so its encoded forms differ
    redactor = Redactor([secret])
    assert redactor.text(f"token={secret} then k9%2FZ and k9%2fZ") == \
        f"token={MASK} then {MASK} and {MASK}"
    assert redactor.data({"a": [secret, f"x{secret}x"]}) == {"a": [MASK, f"x{MASK}x"]}


def test_a_secret_shorter_than_the_minimum_is_left_alone() -> None:
    redactor = Redactor(["k9Z"])
    assert not redactor
    assert redactor.text("k9Z") == "k9Z"
