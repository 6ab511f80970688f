"""Plugin state (`runtime.kv`): compare-and-set, the cross-process lock, secrets that are never
shown, and the "auth" HTTP purpose that a dry run allows and the audit trail does not count."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flx import (
    AUTH,
    DryRunRefused,
    PluginState,
    RetryableError,
    StateConflict,
)
from flx.cli.main import build_app
from flx.config.redact import Redactor
from flx.run.http import build_client
from flx.store.store import Store

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake_plugin  # noqa: E402
from tests.fake_plugin.harness import Env, make_env, make_order  # noqa: E402

SCOPE = "connection:prod"


# --- the store: versions and compare-and-set ---------------------------------------------------


def test_every_write_bumps_the_version(store: Store) -> None:
    assert store.state_get(SCOPE, "cursor") is None
    assert store.state_put(SCOPE, "cursor", "a") == 1
    assert store.state_put(SCOPE, "cursor", "b") == 2
    got = store.state_get(SCOPE, "cursor")
    assert got is not None and (got.value, got.version, got.secret) == ("b", 2, False)
    store.state_put(SCOPE, "token", "t-1", secret=True)
    store.state_put("connection:other", "cursor", "z")
    items = store.state_items(SCOPE)
    assert list(items) == ["cursor", "token"] and items["token"].secret
    assert store.state_scopes() == ["connection:other", SCOPE]


def test_compare_and_set_refuses_a_stale_version(store: Store) -> None:
    assert store.state_put(SCOPE, "seq", "1", expect_version=0) == 1
    with pytest.raises(StateConflict, match=r"'seq' of connection:prod changed meanwhile: "
                                            r"expected version 0, it is at version 1"):
        store.state_put(SCOPE, "seq", "other", expect_version=0)  # must not exist: it does
    assert store.state_put(SCOPE, "seq", "2", expect_version=1) == 2
    with pytest.raises(StateConflict) as caught:
        store.state_put(SCOPE, "seq", "stale", expect_version=1)
    assert isinstance(caught.value, RetryableError) and caught.value.hint
    assert store.state_get(SCOPE, "seq").value == "2"  # type: ignore[union-attr]
    with pytest.raises(StateConflict, match="it does not exist"):
        store.state_put(SCOPE, "absent", "x", expect_version=3)
    with pytest.raises(StateConflict):
        store.state_delete(SCOPE, "seq", expect_version=1)
    assert store.state_delete(SCOPE, "seq", expect_version=2)
    assert not store.state_delete(SCOPE, "seq")

    kv = PluginState(store, SCOPE)
    assert kv.get_versioned("seq") == (None, 0)
    assert kv.compare_and_set("seq", 0, "10")
    value, version = kv.get_versioned("seq")
    assert (value, version) == ("10", 1)
    kv.put("seq", "11")  # someone else writes in between
    assert not kv.compare_and_set("seq", version, "lost")
    assert kv.get("seq") == "11"


def test_a_secret_is_masked_once_read_or_written_and_so_is_each_token_inside_it(
        store: Store) -> None:
    tokens = json.dumps({"refresh_token": "rt-0a1b2c3d4e", "access_token": "at-9z8y7x6w5v",
                         "token_type": "bearer", "expires_at": 1765000000})
    writer = PluginState(store, SCOPE, Redactor())
    writer.put("oauth_tokens", tokens, secret=True)
    writer.put("cursor", "page-000042")  # not secret: stays readable
    line = "Authorization: Bearer at-9z8y7x6w5v; refresh rt-0a1b2c3d4e; cursor page-000042"
    expected = "Authorization: Bearer ********; refresh ********; cursor page-000042"
    assert writer.redactor.text(line) == expected
    reader = PluginState(store, SCOPE, Redactor())  # another run: learns it when it reads it
    assert reader.redactor.text(line) == line
    assert reader.get("oauth_tokens") == tokens
    assert reader.redactor.text(line) == expected
    assert reader.redactor.text("token_type bearer") == "token_type bearer"


# --- the lock: two processes rotating one token -------------------------------------------------


def _rotate(url: str, times: int, seen: Any, start: Any) -> None:
    """Rotate the token `times` times under the lock, recording each token obtained."""
    with Store(url) as store:
        kv = PluginState(store, SCOPE)
        kv.get("refresh_token")  # connected before the race starts
        start.wait()
        for _ in range(times):
            with kv.lock("oauth", ttl=30, wait=60):
                current = int(kv.get("refresh_token") or "0")
                time.sleep(0.002)  # the refresh request: the other process tries meanwhile
                kv.put("refresh_token", str(current + 1), secret=True)
            seen.put(current + 1)


def test_two_processes_rotating_a_token_under_the_lock_lose_none(store: Store) -> None:
    store.state_get(SCOPE, "refresh_token")  # the schema exists before the race
    ctx = multiprocessing.get_context("spawn")
    seen, start = ctx.Queue(), ctx.Barrier(2)
    workers = [ctx.Process(target=_rotate, args=(store._url.render_as_string(
        hide_password=False), 50, seen, start)) for _ in range(2)]
    for worker in workers:
        worker.start()
    tokens = [seen.get(timeout=120) for _ in range(100)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(tokens) == list(range(1, 101))  # every rotation built on the one before
    final = store.state_get(SCOPE, "refresh_token")
    assert final is not None and (final.value, final.version, final.secret) == ("100", 100, True)


def test_a_lock_held_elsewhere_is_waited_for_then_refused(store: Store) -> None:
    kv = PluginState(store, SCOPE)
    assert store.acquire_lock("state:connection:prod:oauth", "elsewhere:1:x", 30)
    with pytest.raises(RetryableError, match="another flx process holds the lock 'oauth'"):
        with kv.lock("oauth", wait=0.3):
            pytest.fail("the lock was taken twice")
    with kv.lock("other"):  # other names are free
        pass
    store.release_lock("state:connection:prod:oauth", "elsewhere:1:x")
    with kv.lock("oauth"):
        assert store.lock_holder("state:connection:prod:oauth") not in (None, "elsewhere:1:x")
    assert store.lock_holder("state:connection:prod:oauth") is None


# --- the auth purpose ---------------------------------------------------------------------------


def test_an_auth_request_passes_the_dry_run_guard_and_is_not_audited() -> None:
    audited: list[tuple[str, str]] = []
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))

    def client(purpose: Any = "records") -> httpx.Client:
        return build_client(base_url="https://remote.test", transport=transport, dry_run=True,
                            audit=lambda m, p, s, r: audited.append((m, p)), purpose=purpose)

    with pytest.raises(DryRunRefused):
        client().post("/orders", json={})
    assert client("auth").post("/oauth/token").status_code == 200
    assert client().post("/oauth/token", extensions={AUTH: True}).status_code == 200
    assert audited == []
    with pytest.raises(ValueError, match="purpose"):
        client("write")


# --- end to end: a connector that rotates its refresh token on every session -------------------

FIRST_TOKEN = "rt-first-7c1d9e"


class TokenServer:
    """The accounting system's OAuth endpoint: each refresh returns a new refresh token and
    invalidates the old one (as QuickBooks Online does)."""

    def __init__(self) -> None:
        self.current = FIRST_TOKEN
        self.issued: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        given = dict(httpx.QueryParams(request.content.decode()))["refresh_token"]
        if request.method != "POST" or given != self.current:
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.current = f"rt-rotated-{len(self.issued) + 1}-a8f3b2c9d4"
        self.issued.append(self.current)
        return httpx.Response(200, json={"refresh_token": self.current})


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    env = make_env(tmp_path)
    env.ledger.reject["flx-ORD-2"] = "item FLX-1 is inactive"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    server = TokenServer()
    original = fake_plugin.Session.__init__

    def session_with_refresh(self: Any, connection: Any, runtime: Any) -> None:
        """What an OAuth connector does before its first request: refresh under the lock,
        keep the rotated token as a secret; then (carelessly) says it in a log and an error."""
        original(self, connection, runtime)
        kv = runtime.kv
        with kv.lock("oauth"):
            token = kv.get("refresh_token") or FIRST_TOKEN
            auth = runtime.http_client(base_url="https://auth.fakebooks.test", purpose="auth")
            answer = auth.post("/oauth/token", data={"refresh_token": token})
            answer.raise_for_status()
            kv.put("refresh_token", answer.json()["refresh_token"], secret=True)
        kv.put("last_refresh", "ok")
        runtime.logger.warning("refreshed with %s", kv.get("refresh_token"))
        env.ledger.reject["flx-ORD-2"] = f"bad token {kv.get('refresh_token')}"

    monkeypatch.setattr(fake_plugin.Session, "__init__", session_with_refresh)

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.fakebooks.test":
            return server.handle(request)
        return env.ledger.handle(request)

    env.transport = httpx.MockTransport(route)
    env.server = server
    yield env
    env.store.close()


def flx(env: Env, *args: str) -> Any:
    app = build_app(env.plugins, transport=env.transport)  # type: ignore[attr-defined]
    return CliRunner().invoke(app, ["--config", str(env.config.path), *args],
                              env={"FAKEBOOKS_KEY": env.ledger.api_key, "COLUMNS": "300"})


def test_a_rotated_secret_is_kept_and_never_shown(env: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="flx")
    result = flx(env, "run", "send-orders", "--json")
    assert result.exit_code == 3, result.output  # ORD-2 refused
    assert len(env.server.issued) == 1
    token = env.server.issued[-1]
    stored = env.store.state_get(SCOPE, "refresh_token")
    assert stored is not None and stored.value == token and stored.secret
    report = json.loads(result.stdout)
    failed = next(r for r in report["rows"] if r["record_id"] == "ORD-2")
    assert "bad token ********" in json.dumps(failed)

    assert flx(env, "--verbose", "run", "send-orders", "--only", "ORD-2").exit_code == 3
    assert len(env.server.issued) == 2  # the second run used the first run's rotated token
    status = flx(env, "status")
    assert "plugin state connection:prod: last_refresh = ok, refresh_token = ********" \
        in status.stdout, status.output
    status_json = json.loads(flx(env, "status", "--json").stdout)
    assert status_json["plugin_state"] == {
        SCOPE: {"last_refresh": "ok", "refresh_token": "********"}}
    show = flx(env, "show", "ORD-2")
    assert "bad token ********" in show.stdout, show.output

    everything = [result.output, status.output, show.output, caplog.text,
                  flx(env, "show", "ORD-2", "--json").stdout,
                  flx(env, "errors", "--json").stdout,
                  json.dumps(env.store.get_sync("prod", "send-orders", "ORD-2").error)]
    for token in env.server.issued:
        assert all(token not in text for text in everything)


def test_a_dry_run_refreshes_the_token_and_leaves_no_audit_row(env: Any) -> None:
    result = flx(env, "run", "send-orders", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert env.server.issued and env.ledger.writes() == []
    assert env.store.state_get(SCOPE, "refresh_token").value == env.server.issued[-1]
    assert env.store.audit_entries() == []

    assert flx(env, "run", "send-orders").exit_code == 3  # a real run: the token still works
    assert len(env.server.issued) == 2
    writes = sorted((row["path"], row["status"]) for row in env.store.audit_entries())
    assert writes == [("/api/orders", 201), ("/api/orders", 400)]  # no row for the refreshes
