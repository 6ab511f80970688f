"""`flx demo` starts with `flx pull flxpoint` from the Flxpoint emulator, which the flxpoint
plugin offers through `Source.demo` (the NetSuite plugin's demo imports no source plugin)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flx import Source, SourceDemo
from flx.cli.main import build_app
from flx_flxpoint.plugin import FlxpointSource
from flx_netsuite.demo import pull_steps, source_tables


def test_flx_demo_pulls_from_the_flxpoint_emulator_before_it_sends(tmp_path: Path,
                                                                   monkeypatch: Any) -> None:
    monkeypatch.delenv("FLX_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(build_app(), ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Flxpoint emulator: http://127.0.0.1:" in out
    pull = out.index("$ flx pull flxpoint")
    assert out.index("orders 4 new; shipments 3 new; vendor bills 3 new") > pull
    assert pull < out.index("$ flx import") < out.index("$ flx run send-orders")
    assert "order 500004 is cancelled" in out  # the Flxpoint order that waits
    assert "Duplicate external ids in NetSuite: 0." in out
    assert "its emulators have stopped" in out
    table = tomllib.loads((tmp_path / "flx.toml").read_text())["sources"]["flxpoint"]
    assert table["plugin"] == "flxpoint" and table["profile"] == "demo"
    assert table["api_token"] == "${FLXPOINT_API_TOKEN}"  # the value only in the environment


def test_a_source_offers_a_demo_only_when_it_has_one() -> None:
    assert Source(name="plain").demo() is None
    starter = FlxpointSource().demo()
    assert starter is not None
    with starter as demo:
        assert demo.settings["base_url"].startswith("http://127.0.0.1:")
        assert demo.env["FLXPOINT_API_TOKEN"] not in str(demo)  # env is left out of repr
    sources = {"shop": SourceDemo(settings={"token": "${SHOP_TOKEN}", "page_size": 5})}
    assert source_tables(sources) == ('\n[sources.shop]\nplugin = "shop"\n'
                                      'token = "${SHOP_TOKEN}"\npage_size = 5\n')
    assert pull_steps(sources)[0][1] == ["pull", "shop"]
