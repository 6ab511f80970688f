"""docs/flxpoint.md says what the plugin does: its flx.toml example loads, its settings table
names every setting of the source's schema (and no other), and its profile table every key of
the default profile."""

from __future__ import annotations

import re
from pathlib import Path

from flx.config.load import load_config
from flx.plugins import build_plugins
from flx_flxpoint.plugin import SETTINGS_SCHEMA
from flx_flxpoint.profile import load_mapping_profile

DOC = (Path(__file__).resolve().parents[3] / "docs" / "flxpoint.md").read_text()


def test_the_toml_example_loads(tmp_path: Path):
    example = re.search(r"```toml\n(.*?)```", DOC, re.S)
    assert example is not None
    path = tmp_path / "flx.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "flx.db"}"\n\n{example.group(1)}')
    config = load_config(path, plugins=build_plugins(), env={"FLXPOINT_API_TOKEN": "t" * 20})
    settings = config.source("flxpoint").settings
    assert settings["base_url"] == "https://api.flxpoint.com" and settings["rate_limit"] == 2.0


def test_every_setting_is_documented():
    documented = set(re.findall(r"^\| `(\w+)` \|", DOC.split("## How flx pulls")[0], re.M))
    assert documented == set(SETTINGS_SCHEMA["properties"])


def test_every_uncertain_profile_key_is_in_the_table():
    table = DOC.split("## The mapping profile")[1].split("## ")[0]
    data = load_mapping_profile("default").data
    for key in ("source_types", "vendor_id", "sources", "drop_fr_statuses", "currency"):
        assert f"`{key}`" in table
    assert all(f"fields.{field.split('.')[0]}" in table for field in data["fields"])
