"""docs/plugins.md's tutorial, built from its own code blocks: every block tagged
`file=PATH` is written to a fresh folder; the page's test files run flx's connector and
source suites on its connector and source; both are loaded by module name (FLX_PLUGINS) as
the page says, and its flx.toml pulls the shop's orders and sends them to the books."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.plugins import build_plugins
from flx.testing import ConnectorSuite, Ledger, Shop, SourceSuite
from flx.testing.harness import make_order

REPO = Path(__file__).resolve().parents[2]
FILE_BLOCK = re.compile(r"^```\w* file=(?P<path>\S+)\n(?P<body>.*?)^```$", re.M | re.S)
EXPECTED = {"paperbooks/__init__.py", "paperbooks/templates/order.json.j2",
            "paperbooks/plugin.py", "pyproject.toml", "tests/test_paperbooks.py",
            "papershop/__init__.py", "papershop/plugin.py", "tests/test_papershop.py",
            "flx.toml"}


def tutorial_files() -> dict[str, str]:
    text = (REPO / "docs" / "plugins.md").read_text()
    files: dict[str, str] = {}
    for match in FILE_BLOCK.finditer(text):
        assert match["path"] not in files, f"docs/plugins.md writes {match['path']} twice"
        files[match["path"]] = match["body"]
    return files


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, body in tutorial_files().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    return tmp_path


def test_the_tutorial_names_its_files() -> None:
    assert set(tutorial_files()) == EXPECTED


def test_the_tutorial_plugins_pass_the_shipped_suites(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(project), "FLX_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("FLX_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "tests"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    standard = [n for suite in (ConnectorSuite, SourceSuite) for n in dir(suite)
                if n.startswith("test_")]
    assert f"{len(standard)} passed" in done.stdout, done.stdout[-2000:]


def test_the_tutorial_plugin_loads_by_module_name_and_gets_a_starter_file(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.setenv("FLX_PLUGINS", "paperbooks.plugin")
    monkeypatch.chdir(project)
    entry = tomllib.loads((project / "pyproject.toml").read_text())["project"]["entry-points"]
    assert entry["flx"] == {"paperbooks": "paperbooks.plugin"}
    plugins = build_plugins(autoload=False)
    assert plugins.connector("paperbooks").operations == ("send-orders",)
    app = build_app(plugins)
    listed = CliRunner().invoke(app, ["plugins"])
    assert listed.exit_code == 0 and "paperbooks" in listed.output, listed.output
    config = project / "starter.toml"
    init = CliRunner().invoke(app, ["--config", str(config), "init", "--connector",
                                    "paperbooks"])
    assert init.exit_code == 0, init.output
    assert "export PB_API_KEY=..." in init.output
    table = tomllib.loads(config.read_text())["connections"]["prod"]
    assert table == {"plugin": "paperbooks", "api_key": "${PB_API_KEY}",
                     "operations": {"send-orders": {"enabled": True}}}


def test_the_tutorial_flx_toml_pulls_the_shop_and_sends_to_the_books(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.setenv("FLX_PLUGINS", "papershop.plugin,paperbooks.plugin")
    monkeypatch.chdir(project)
    shop = Shop(token="shop-token-for-the-tour",
                orders=[make_order(f"ORD-{n}") for n in range(1, 251)])
    books = Ledger(api_key="pb-key-for-the-tour")
    remotes = {"papershop.example": shop.transport(), "paperbooks.example": books.transport()}
    transport = httpx.MockTransport(lambda r: remotes[r.url.host].handle_request(r))
    app = build_app(build_plugins(autoload=False), transport=transport)
    env = {"SHOP_TOKEN": shop.token, "PB_API_KEY": books.api_key, "FLX_CONFIG": None}

    pulled = CliRunner().invoke(app, ["pull"], env=env)
    assert pulled.exit_code == 0, pulled.output
    assert "pulled 3 pages from shop: orders 250 new" in " ".join(pulled.output.split())
    sent = CliRunner().invoke(app, ["run", "send-orders"], env=env)
    assert sent.exit_code == 0, sent.output
    assert len(books.records["orders"]) == 250
    again = CliRunner().invoke(app, ["pull"], env=env)
    assert "nothing new" in again.output, again.output
