"""The built-in webhook notifier, delivering to a real HTTP server on 127.0.0.1: what gets
posted, when, with which secrets masked, and that the run never suffers for it."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tenacity import wait_none

from flx.config.load import load_config
from flx.ops.alerts import ALERTS_PLUGIN_NAME, WebhookNotifier, alert_events, alert_settings

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin.harness import Env, make_env, make_order  # noqa: E402

TOKEN = "T0KEN-hook-very-secret-123"


class Hook:
    """A webhook receiver: records each POST; answers `statuses` in turn, then 200; holds
    each answer until `release` is set."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.release = threading.Event()
        self.release.set()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                hook.requests.append({"path": self.path, "raw": body.decode(),
                                      "type": self.headers.get("content-type")})
                hook.release.wait(10)
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["raw"]) for r in self.requests]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hook() -> Iterator[Hook]:
    hook = Hook()
    yield hook
    hook.close()


def alerting_env(tmp_path: Path, url: str, on: str | None = None) -> Env:
    env = make_env(tmp_path)
    path = env.config.path
    extra = '\n[alerts]\nwebhook_url = "${FLX_ALERT_WEBHOOK_URL}"\n' + (
        f"on = {on}\n" if on else "")
    path.write_text(path.read_text() + extra)
    env.config = load_config(path, plugins=env.plugins, env={
        "FAKEBOOKS_KEY": env.ledger.api_key, "FLX_ALERT_WEBHOOK_URL": url})
    notifier(env).wait = wait_none()  # no back-off pauses in tests
    return env


def notifier(env: Env) -> WebhookNotifier:
    plugin = env.plugins.pm.get_plugin(ALERTS_PLUGIN_NAME)
    assert isinstance(plugin, WebhookNotifier)
    return plugin


@pytest.fixture
def env(tmp_path: Path, hook: Hook) -> Iterator[Env]:
    env = alerting_env(tmp_path, hook.url)
    yield env
    notifier(env).flush(30)
    env.store.close()


def test_a_run_with_failures_is_posted_without_any_secret(env: Env, hook: Hook) -> None:
    key = env.ledger.api_key
    env.ledger.reject["flx-ORD-2"] = f"key {key} may not post this order"  # echoes the secret
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    report = env.run()
    notifier(env).flush(30)

    assert report.exit_code == 3
    [request] = hook.requests
    assert request["path"] == f"/hooks/{TOKEN}" and request["type"] == "application/json"
    assert key not in request["raw"] and TOKEN not in request["raw"]
    body = json.loads(request["raw"])
    assert body["events"] == ["failures"]
    assert body["text"] == "flx: send-orders on prod: 1 sent, 1 failed"
    assert body["connection"] == {"name": "prod", "plugin": "fakebooks"}
    assert body["report"]["run_id"] == report.run_id
    assert body["report"]["counts"]["failed"] == 1
    assert [(r["record_id"], r["error_class"]) for r in body["report"]["rows"]] == [
        ("ORD-2", "rejected")]  # failed rows only
    assert "key ******** may not post" in body["report"]["rows"][0]["message"]


def test_good_runs_and_dry_runs_do_not_alert(env: Env, hook: Hook) -> None:
    env.ledger.reject["flx-ORD-2"] = "inactive item"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    assert env.run(dry_run=True).exit_code == 0
    assert env.run(only=["ORD-1"]).exit_code == 0
    notifier(env).flush(30)
    assert hook.requests == []


def test_an_outage_alert_names_the_outage(env: Env, hook: Hook) -> None:
    env.ledger.outage = True
    env.load(orders=[make_order("ORD-1")])
    env.run()
    notifier(env).flush(30)
    assert hook.bodies()[0]["events"] == ["failures", "outage"]


def test_server_errors_are_retried_then_delivered(env: Env, hook: Hook) -> None:
    hook.statuses = [500, 503]
    env.ledger.outage = True
    env.load(orders=[make_order("ORD-1")])
    env.run()
    notifier(env).flush(30)
    assert len(hook.requests) == 3 and notifier(env).delivered == 1
    assert hook.bodies()[0] == hook.bodies()[2]  # the same alert, not three different ones


def test_a_refusal_is_not_retried_and_is_logged(env: Env, hook: Hook,
                                                caplog: pytest.LogCaptureFixture) -> None:
    hook.statuses = [404]
    env.ledger.outage = True
    env.load(orders=[make_order("ORD-1")])
    with caplog.at_level(logging.ERROR, logger="flx.alerts"):
        env.run()
        notifier(env).flush(30)
    assert len(hook.requests) == 1 and notifier(env).delivered == 0
    assert "the webhook answered 404; check [alerts] webhook_url" in caplog.text
    assert TOKEN not in caplog.text


def test_an_unreachable_webhook_never_breaks_the_run(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port on which nobody listens any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = alerting_env(tmp_path, f"http://127.0.0.1:{port}/hooks/{TOKEN}")
    env.ledger.outage = True
    env.load(orders=[make_order("ORD-1")])
    with caplog.at_level(logging.ERROR, logger="flx.alerts"):
        report = env.run()
        notifier(env).flush(30)
    env.store.close()
    assert report.exit_code == 3 and env.store.recent_runs()[0]["status"] == "failed"
    assert "alert not delivered after 3 attempts: no answer from the webhook" in caplog.text
    assert TOKEN not in caplog.text and str(port) not in caplog.text


def test_a_slow_webhook_does_not_hold_the_run(env: Env, hook: Hook) -> None:
    hook.release.clear()  # the receiver takes its time answering
    env.ledger.outage = True
    env.load(orders=[make_order("ORD-1")])
    report = env.run()
    assert report.exit_code == 3 and notifier(env).delivered == 0  # the run is back already
    hook.release.set()
    notifier(env).flush(30)
    assert notifier(env).delivered == 1


def test_only_the_chosen_events_alert(tmp_path: Path, hook: Hook) -> None:
    env = alerting_env(tmp_path, hook.url, on='["auth"]')
    env.ledger.reject["flx-ORD-1"] = "inactive item"
    env.load(orders=[make_order("ORD-1")])
    env.run()
    notifier(env).flush(30)
    assert hook.requests == []  # a data failure is not an authentication failure

    env.ledger.api_key = "rotated-key-0000"  # the configured key is refused from now on
    env.load(orders=[make_order("ORD-2")])
    report = env.run()
    notifier(env).flush(30)
    env.store.close()
    assert report.exit_code == 1
    [body] = hook.bodies()
    assert body["events"] == ["auth"]
    assert body["text"].startswith("flx: send-orders on prod: nothing done; aborted: "
                                   "fakebooks refused the API key")


def test_events_of_a_report() -> None:
    failed = {"counts": {"failed": 2}, "rows": [
        {"status": "failed", "error_class": "network"},
        {"status": "failed", "error_class": "rejected"}]}
    assert alert_events(failed) == ["failures", "outage"]
    assert alert_events({**failed, "dry_run": True}) == []
    assert alert_events({"counts": {"sent": 3}, "rows": []}) == []
    aborted = {"counts": {}, "rows": [], "aborted": "the role may not do POST /x"}
    assert alert_events(aborted) == ["failures", "auth"]
    # a report that names the aborting class is taken at its word
    assert alert_events({**aborted, "aborted_class": "plugin"}) == ["failures"]
    assert alert_events({**aborted, "aborted_class": "authentication"}) == ["failures", "auth"]


def test_settings_accept_aliases_and_keep_unknown_names(tmp_path: Path, hook: Hook,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    env = alerting_env(tmp_path, hook.url, on='["run_failed", "outages", "sometimes"]')
    settings = alert_settings(env.config)
    assert settings.events == {"failures", "outage"}
    assert settings.unknown == ["sometimes"]
    assert hook.url in settings.secrets  # the URL is masked wherever it might appear
    with caplog.at_level(logging.WARNING, logger="flx.alerts"):
        notifier(env).configure(settings)
        notifier(env).configure(settings)
    assert caplog.text.count("alerts.on: unknown event 'sometimes' ignored") == 1
    env.store.close()


@pytest.mark.parametrize("url", ["http://", "https:///secret-host/x", "https://secret-host/a\nb",
                                 "https://secret-host/a\x01", "ftp://secret-host/x",
                                 "https://secret host/x", "https://secret-host/x\n"])
def test_a_webhook_url_without_a_host_or_with_control_characters_is_refused(
        tmp_path: Path, url: str) -> None:
    from typer.testing import CliRunner

    from flx.cli.main import build_app

    env = make_env(tmp_path)
    path = env.config.path
    path.write_text(path.read_text() + '\n[alerts]\nwebhook_url = "${FLX_ALERT_WEBHOOK_URL}"\n')
    result = CliRunner().invoke(build_app(env.plugins), ["--config", str(path), "status"],
                                env={"FAKEBOOKS_KEY": env.ledger.api_key,
                                     "FLX_ALERT_WEBHOOK_URL": url})
    assert result.exit_code == 1, result.output
    output = result.output + (result.stderr or "")
    assert "alerts.webhook_url: '********' is not in the expected form" in output, output
    assert "secret-host" not in output  # a webhook URL is a secret: never echoed


@pytest.mark.parametrize("url", ["http://", "https:///secret-host/x", "https://secret-host/a\nb",
                                 "https://secret-host/a\x00", "ftp://secret-host/x"])
def test_a_config_built_without_the_schema_still_sends_no_alert_to_a_bad_url(
        tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture) -> None:
    env = make_env(tmp_path)
    env.config.alerts = {"webhook_url": url}
    with caplog.at_level(logging.ERROR, logger="flx.alerts"):
        assert alert_settings(env.config).url is None
    assert "[alerts] webhook_url" in caplog.text and "secret-host" not in caplog.text
    env.store.close()
