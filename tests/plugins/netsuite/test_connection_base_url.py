"""A base_url NetSuite cannot use is reported with examples of the right form, not with the
schema's regular expression; the starter file `flx init` writes has the emulator's address
commented out, so uncommenting it gives a working value."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app

CREDENTIALS = {"NS_CLIENT_ID": "c" * 20, "NS_CLIENT_SECRET": "s" * 20,
               "NS_TOKEN_ID": "t" * 20, "NS_TOKEN_SECRET": "x" * 20}


def write_config(path: Path, base_url: str) -> None:
    path.write_text(
        '[store]\nurl = "sqlite:///flx.db"\n\n[connections.prod]\nplugin = "netsuite"\n'
        'account_id = "1234567_SB1"\nclient_id = "${NS_CLIENT_ID}"\n'
        'client_secret = "${NS_CLIENT_SECRET}"\ntoken_id = "${NS_TOKEN_ID}"\n'
        f'token_secret = "${{NS_TOKEN_SECRET}}"\nbase_url = "{base_url}"\n')


@pytest.mark.parametrize("value", ["", "127.0.0.1:8765", "ftp://example.com"])
def test_a_bad_base_url_is_explained_with_examples(tmp_path: Path, value: str) -> None:
    config = tmp_path / "flx.toml"
    write_config(config, value)
    result = CliRunner().invoke(build_app(), ["--config", str(config), "connections", "list"],
                                env=CREDENTIALS)
    assert result.exit_code == 1, result.output
    assert (f"connections.prod.base_url: {value!r} is not in the expected form (for example: "
            "http://127.0.0.1:8765, https://1234567-sb1.suitetalk.api.netsuite.com)"
            in result.stderr), result.stderr
    assert "does not match" not in result.stderr and "https?" not in result.stderr


def test_the_starter_files_base_url_line_works_when_uncommented(tmp_path: Path) -> None:
    config = tmp_path / "flx.toml"
    result = CliRunner().invoke(build_app(), ["--config", str(config), "init"])
    assert result.exit_code == 0, result.output
    text = config.read_text()
    assert '\n# base_url = "http://127.0.0.1:8765"\n' in text
    assert '# base_url = ""' not in text
    config.write_text(text.replace('# base_url = "http://127.0.0.1:8765"',
                                   'base_url = "http://127.0.0.1:8765"'))
    assert tomllib.loads(config.read_text())["connections"]["prod"]["base_url"] == \
        "http://127.0.0.1:8765"
    listed = CliRunner().invoke(build_app(), ["--config", str(config), "connections", "list"],
                                env=CREDENTIALS)
    assert listed.exit_code == 0, listed.output
    assert "http://127.0.0.1:8765" in listed.output


@pytest.mark.parametrize("value", ["http://1234567-sb1.suitetalk.api.netsuite.com",
                                   "http://10.0.0.5:8765", "http://localhost.example.com"])
def test_plain_http_is_refused_except_on_this_machine(tmp_path: Path, value: str) -> None:
    """Request bodies are not covered by the OAuth signature: customer data and signed
    requests never cross a network in clear text."""
    config = tmp_path / "flx.toml"
    write_config(config, value)
    result = CliRunner().invoke(build_app(), ["--config", str(config), "connections", "list"],
                                env=CREDENTIALS)
    assert result.exit_code == 1, result.output
    assert f"connections.prod.base_url: {value!r} uses plain http, which only a local " \
           "emulator may (127.0.0.1, ::1, localhost); use https://" in result.stderr


@pytest.mark.parametrize("value", ["http://127.0.0.1:8765", "http://127.0.0.2:9000",
                                   "http://localhost:8765", "http://[::1]:8765",
                                   "https://1234567-sb1.suitetalk.api.netsuite.com"])
def test_loopback_http_and_any_https_are_accepted(tmp_path: Path, value: str) -> None:
    config = tmp_path / "flx.toml"
    write_config(config, value)
    result = CliRunner().invoke(build_app(), ["--config", str(config), "connections", "list"],
                                env=CREDENTIALS)
    assert result.exit_code == 0, result.output
