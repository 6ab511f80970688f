"""`flx flxpoint-emulator`: the command exists and its banner says how to point flx at it."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from flx_flxpoint.emulator import Emulator
from flx_flxpoint.emulator.cli import add_emulator_command, banner


def test_banner_names_the_url_and_the_public_demo_tokens():
    emu = Emulator()
    text = banner(emu, "http://127.0.0.1:9999")
    assert 'base_url = "http://127.0.0.1:9999"' in text
    assert f"export FLXPOINT_API_TOKEN={emu.token_of_type('account')}" in text
    assert "not secrets" in text


def test_command_is_registered_with_its_options():
    app = typer.Typer()
    add_emulator_command(app)

    @app.command("other")
    def other() -> None:  # a second command keeps typer's sub-command layout
        pass

    result = CliRunner().invoke(app, ["flxpoint-emulator", "--help"])
    assert result.exit_code == 0 and "--port" in result.stdout and "--rate" in result.stdout
