"""The dashboard over plain HTTP (starlette's TestClient): the JSON API says what the CLI's
--json says, /metrics what an alert watches, and nothing is done without the CSRF token, the
dashboard's token, or in read-only mode."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from flx.run.lock import lock_name
from flx.serve.actions import recent_actions
from flx.store.store import Store

from .conftest import TOKEN, Site

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")


def _csrf(client: Any, path: str = "/errors") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return str(re.search(r'name="csrf" value="([^"]+)"', page.text)[1])  # type: ignore[index]


def _cli_json(site: Site, *args: str) -> Any:
    code, out = site.flx(*args, "--json")
    assert code in (0, 3), out
    return json.loads(out)


def _status(site: Site, record_id: str, operation: str) -> str:
    with Store(site.store_url) as store:
        state = store.get_sync("demo", operation, record_id)
        assert state is not None
        return state.status


def test_the_api_answers_the_same_documents_as_the_cli(site: Site) -> None:
    client = site.client()
    pairs = [("/api/status", ("status",)), ("/api/errors", ("errors",)),
             ("/api/runs", ("runs",)), ("/api/records/ORD-1004", ("show", "ORD-1004"))]
    for path, args in pairs:
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json() == _cli_json(site, *args), path
    failed = client.get("/api/errors").json()["errors"][0]
    assert (failed["record_id"], failed["class"]) == ("ORD-1004", "reference")
    assert "GHOST-404" in failed["hint"]


def test_api_mistakes_are_answered_with_the_cli_error_document(site: Site) -> None:
    client = site.client()
    wrong = client.get("/api/errors?class=nonsense")
    assert wrong.status_code == 400
    assert "nonsense" in json.dumps(wrong.json()["error"])
    missing = client.get("/api/records/ord-1004")
    assert missing.status_code == 404
    assert "did you mean ORD-1004" in missing.json()["error"]["hint"]
    assert client.get("/api/runs?limit=0").status_code == 400
    assert client.get("/api/status?connection=nope").status_code == 400


def test_metrics_say_states_runs_and_writes_in_prometheus_text(site: Site) -> None:
    client = site.client()
    client.get("/")
    text = client.get("/metrics").text
    assert 'flx_sync_records{connection="demo",operation="send-orders",status="failed"} 1.0' \
        in text
    assert 'flx_sync_records{connection="demo",operation="send-shipments",status="waiting"} ' \
        '1.0' in text
    assert 'flx_records{kind="order"} 4.0' in text
    assert re.search(r'flx_runs\{connection="demo",operation="send-orders",status="failed"\} '
                     r'1\.0', text)
    assert re.search(r'flx_last_success_timestamp_seconds\{connection="demo",'
                     r'operation="send-shipments"\} 1\.\d+e\+09', text)
    assert re.search(r'flx_remote_writes\{connection="demo",method="POST",status="20\d"\}', text)
    assert 'flx_remote_throttled{connection="demo"} 0.0' in text
    assert 'flx_serve_requests_total{method="GET",route="/",status="200"} 1.0' in text


def test_an_action_needs_its_csrf_token(site: Site) -> None:
    client = site.client()
    token = _csrf(client)
    form = {"record_id": "ORD-1004", "connection": "demo", "operation": "send-orders"}
    assert client.post("/actions/retry", data=form).status_code == 403
    assert client.post("/actions/retry", data={**form, "csrf": "0" * 64}).status_code == 403
    other_site = client.post("/actions/retry", data={**form, "csrf": token},
                             headers={"origin": "https://evil.example"})
    assert other_site.status_code == 403
    stranger = site.client()  # another browser: its own cookie, so this token is not its own
    assert stranger.post("/actions/retry", data={**form, "csrf": token}).status_code == 403
    assert _status(site, "ORD-1004", "send-orders") == "failed"

    done = client.post("/actions/retry", data={**form, "csrf": token, "by": "Ann",
                                               "next": "/errors"})
    assert done.status_code == 303 and done.headers["location"] == "/errors"
    assert _status(site, "ORD-1004", "send-orders") == "pending"
    assert "ORD-1004: queued again" in client.get("/errors").text


def test_resolve_keeps_the_note_and_who_in_the_action_log(site: Site) -> None:
    client = site.client()
    token = _csrf(client)
    empty = client.post("/actions/resolve", data={"csrf": token, "record_id": "SHP-9",
                                                   "note": "  ", "next": "/errors"})
    assert empty.status_code == 303
    assert "a note is required" in client.get("/errors").text
    assert _status(site, "SHP-9", "send-shipments") == "waiting"
    client.post("/actions/resolve", data={"csrf": token, "record_id": "SHP-9", "by": "Ann Ops",
                                          "note": "shipped by hand", "next": "/"})
    assert _status(site, "SHP-9", "send-shipments") == "skipped"
    with Store(site.store_url) as store:
        [entry, refused] = recent_actions(store, target="SHP-9")
    assert (entry["action"], entry["note"]) == ("resolve", "shipped by hand")
    assert entry["who"].startswith("Ann Ops from ")
    assert refused["outcome"].startswith("not done: a note is required")
    page = client.get("/records/SHP-9").text
    assert "resolved by hand" in page and "shipped by hand" in page


def test_run_now_refuses_politely_while_another_process_runs(site: Site) -> None:
    client = site.client()
    token = _csrf(client, "/")
    with Store(site.store_url) as store:
        assert store.acquire_lock(lock_name("demo", "send-orders"), "elsewhere:1:sched", 300)
        runs_before = len(store.recent_runs(limit=100))
        answer = client.post("/actions/run", data={"csrf": token, "connection": "demo",
                                                   "operation": "send-orders", "next": "/"})
        assert answer.status_code == 303
        said = client.get("/").text
        assert "not started: send-orders on demo is running right now (elsewhere:1:sched)" in said
        assert len(store.recent_runs(limit=100)) == runs_before


def test_a_token_guards_pages_api_metrics_and_actions(site: Site) -> None:
    client = site.client(token=TOKEN)
    page = client.get("/errors")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/errors"
    for path in ("/api/status", "/metrics"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.post("/actions/retry", data={"record_id": "ORD-1004"}).status_code == 401

    token = _csrf(client, "/login")
    wrong = client.post("/login?next=/errors", data={"csrf": token, "token": "guess"})
    assert wrong.status_code == 401
    right = client.post("/login?next=/errors", data={"csrf": token, "token": TOKEN})
    assert right.status_code == 303 and right.headers["location"] == "/errors"
    assert "ORD-1004" in client.get("/errors").text
    assert TOKEN not in client.get("/errors").text


def test_read_only_shows_everything_and_does_nothing(site: Site) -> None:
    client = site.client(read_only=True)
    page = client.get("/errors").text
    assert "ORD-1004" in page and "GHOST-404" in page
    assert "<form method=\"post\"" not in page and "read-only" in page
    answer = client.post("/actions/retry", data={"csrf": "x", "record_id": "ORD-1004"})
    assert answer.status_code == 403 and "read-only" in answer.text
    assert _status(site, "ORD-1004", "send-orders") == "failed"


def test_only_loopback_names_reach_a_dashboard_without_token(site: Site) -> None:
    from starlette.testclient import TestClient

    rebound = TestClient(site.app(), base_url="http://attacker.example:8750")
    assert rebound.get("/").status_code == 421
    assert site.client().get("/").status_code == 200
    for host in ("localhost:8750", "[::1]:8750", "[::1]", "127.0.0.1"):
        assert site.client().get("/", headers={"host": host}).status_code == 200, host
    assert site.client().get("/", headers={"host": "127.0.0.1.evil.example"}).status_code \
        == 421


def test_no_secret_reaches_any_page_or_document(site: Site) -> None:
    secret = site.emulator.credential_env()
    leaked = f"refused with token {list(secret.values())[1]}"
    with Store(site.store_url) as store:  # a secret echoed back into an error message
        state = store.get_sync("demo", "send-orders", "ORD-1004")
        assert state is not None
        store.set_sync("demo", "send-orders", "ORD-1004", status="failed",
                       error={**(state.error or {}), "message": leaked})
    client = site.client()
    paths = ["/", "/errors", "/errors?q=ORD", "/records/ORD-1004", "/records/ORD-1002",
             "/records/ORD-1002?preview=demo:send-orders", "/runs", "/metrics", "/api/status",
             "/api/errors", "/api/runs", "/api/records/ORD-1004", "/static/flx.css"]
    for path in paths:
        text = client.get(path).text
        for value in site.secrets():
            assert value not in text, path
    assert "refused with token ********" in client.get("/errors").text
    preview = client.get("/records/ORD-1002?preview=demo:send-orders").text
    assert "would link to the existing Sales Order SO" in preview


def test_flx_serve_refuses_to_listen_beyond_loopback_without_a_token(site: Site,
                                                                    monkeypatch: Any) -> None:
    text = site.config_path.read_text().replace('[serve]\ntoken = "${FLX_SERVE_TOKEN}"\n', "")
    site.config_path.write_text(text)
    code, out = site.flx("serve", "--host", "0.0.0.0")
    assert code == 1
    assert "refusing to serve on 0.0.0.0 without a token" in out


def test_flx_serve_says_when_its_token_variable_is_unset(site: Site, monkeypatch: Any) -> None:
    monkeypatch.delenv("FLX_SERVE_TOKEN")
    code, out = site.flx("serve", "--host", "0.0.0.0")
    assert code == 1 and "FLX_SERVE_TOKEN is not set" in out
    code, out = site.flx("status")  # the other commands do not need it
    assert code == 0, out


def test_remote_ids_link_into_the_accounting_system_when_the_connector_knows_how(
        site: Site) -> None:
    app = site.app()
    connector = app.state.flx.plugins.connectors["netsuite"]
    asked: list[tuple[str, str, str]] = []

    def record_url(record_type: str, remote_id: str, connection: Any) -> str | None:
        asked.append((record_type, remote_id, connection.name))
        if record_type == "customer":
            return "javascript:alert(1)"  # never a link: only http(s) addresses are
        return f"https://1234567-sb1.app.netsuite.com/app/accounting/transactions/" \
               f"transaction.nl?id={remote_id}"

    object.__setattr__(connector, "record_url", record_url)
    from starlette.testclient import TestClient

    page = TestClient(app, base_url="http://127.0.0.1").get("/records/ORD-1002").text
    so = next(r for r in site.emulator.records("salesOrder")
              if r.get("externalId") == "ORD-1002")
    assert f'href="https://1234567-sb1.app.netsuite.com/app/accounting/transactions/' \
           f'transaction.nl?id={so["id"]}"' in page
    assert ("sales_order", so["id"], "demo") in asked
    assert "javascript:" not in page


def test_the_dashboard_works_on_postgresql(tmp_path: Any, monkeypatch: Any,
                                           postgres_schema_url: str) -> None:
    from .conftest import build_site

    monkeypatch.chdir(tmp_path)
    site = build_site(tmp_path, monkeypatch, postgres_schema_url,
                      host="1234567-sb1-pg.suitetalk.api.netsuite.com")
    try:
        client = site.client()
        assert client.get("/api/errors").json() == _cli_json(site, "errors")
        token = _csrf(client)
        client.post("/actions/resolve", data={"csrf": token, "record_id": "SHP-9",
                                              "note": "by hand", "next": "/"})
        assert _status(site, "SHP-9", "send-shipments") == "skipped"
        for path in ("/", "/errors", "/records/SHP-9", "/runs", "/metrics"):
            assert client.get(path).status_code == 200, path
        assert "by hand" in client.get("/runs").text
    finally:
        site.close()


def test_search_finds_by_id_message_and_fix(site: Site) -> None:
    client = site.client()
    assert "ORD-1004" in client.get("/errors?q=ghost-404").text  # message, any letter case
    by_fix = client.get("/errors?q=create the item").text
    assert "ORD-1004" in by_fix and "SHP-9" not in by_fix
    sent = client.get("/errors?q=ORD-1001").text
    assert '<a href="/records/ORD-1001">ORD-1001</a> is not failing nor waiting' in sent


def test_flx_serve_serves_the_store_of_its_config_until_stopped(site: Site) -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "flx.cli.main", "--config", str(site.config_path), "serve",
         "--port", str(port), "--read-only"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/errors",
                                   headers={"authorization": f"Bearer {TOKEN}"})
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "flx serve did not answer"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json() == _cli_json(site, "errors")
        assert httpx.get(f"http://127.0.0.1:{port}/api/errors").status_code == 401
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert f"flx dashboard on http://127.0.0.1:{port}/" in output
    assert "read-only, token required" in output and TOKEN not in output


def test_flx_demo_ends_with_the_line_that_opens_the_dashboard_on_its_store(
        tmp_path: Any, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from flx.cli.main import build_app
    from flx.config.load import load_config
    from flx.plugins import build_plugins
    from flx.serve.app import create_app

    monkeypatch.delenv("FLX_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(build_app(), ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    config_path = tmp_path / "demo" / "flx.toml"
    assert last == (f"The dashboard on the demo's store: `flx --config {config_path} serve`, "
                    "then open http://127.0.0.1:8750/")
    plugins = build_plugins()
    config = load_config(config_path, plugins=plugins, strict_env=False)
    with Store(config.store_url) as store:
        from starlette.testclient import TestClient

        client = TestClient(create_app(config, plugins, store), base_url="http://127.0.0.1")
        overview = client.get("/").text
        assert "demo · send-orders" in overview and "1 reference" in overview
        assert "GHOST-404" in client.get("/errors").text


def test_runs_page_filters_by_connection_and_operation(site: Site) -> None:
    client = site.client()
    page = client.get("/runs?operation=send-shipments").text
    rows = re.findall(r"<tr><td>(\d+)</td>.*?<td>(send-[a-z-]+)</td>", page, flags=re.S)
    assert rows and {op for _, op in rows} == {"send-shipments"}
    assert "<option selected>send-shipments</option>" in page
    wrong = client.get("/runs?operation=send-nothing").text
    assert "<li>--operation &#39;send-nothing&#39;: use one of send-orders," in wrong


def test_the_overview_shows_sources_when_the_status_has_them(site: Site) -> None:
    app = site.app()
    dash = app.state.flx
    from starlette.requests import Request

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                       "query_string": b""})
    request.state.browser_id = "b"
    summary = {"records": {}, "sync": [], "sources": [{
        "source": "shop", "plugin": "flxpoint", "configured": True, "enabled": True,
        "cursor": "********", "cursor_at": "2026-12-06T10:00:00Z",
        "last_pull_at": "2026-12-06T10:00:00Z", "last_status": "failed",
        "counts": {"pages": 2, "kinds": {"order": {"inserted": 3, "updated": 1}}},
        "error": {"class": "authentication", "message": "the API key was refused",
                  "hint": "set FLX_SHOP_KEY"},
        "schedule": "every 10 minutes", "next_pull_at": "2026-12-06T10:10:00Z"}]}
    page = dash.page(request, "overview.html", title="Overview", summary=summary,
                     records_text="none", lines=[], busy={}, refresh=0).body.decode()
    assert "source shop" in page and "(flxpoint)" in page
    assert "order: 3 new, 1 updated" in page and "the API key was refused" in page
    assert "2026-12-06 10:10:00 UTC" in page and "Fix:</strong> set FLX_SHOP_KEY" in page
