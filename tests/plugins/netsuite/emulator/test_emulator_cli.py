"""`flx emulator`: options become an Emulator, and the banner says how to connect without
printing credentials from a custom seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from flx_netsuite.emulator import Emulator, cli
from flx_netsuite.emulator.state import load_default_seed


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Emulator, int, Any]]:
    calls: list[tuple[Emulator, int, Any]] = []

    def fake_serve(emulator: Emulator, host: str, port: int, seed: Any) -> None:
        calls.append((emulator, port, seed))
        typer.echo(cli.banner(emulator, f"http://{host}:{port}", seed))

    monkeypatch.setattr(cli, "serve", fake_serve)
    return calls


def app() -> typer.Typer:
    application = typer.Typer()
    cli.add_emulator_command(application)

    @application.command()
    def other() -> None:  # a second command keeps "emulator" a sub-command, as in flx
        """Placeholder."""

    return application


def test_options_configure_the_emulator(served: list[Any]) -> None:
    result = CliRunner().invoke(app(), ["emulator", "--port", "9911", "--latency", "250",
                                        "--concurrency", "3", "--fault-rate",
                                        "drop_after=0.1", "--fault-rate", "error_5xx=0.05",
                                        "--fault-seed", "9"])
    assert result.exit_code == 0, result.output
    emulator, port, _ = served[0]
    assert (port, emulator.latency, emulator.concurrency) == (9911, 0.25, 3)
    plan = emulator.faults.plan
    assert plan is not None
    assert (plan.seed, plan.drop_after, plan.error_5xx, plan.drop_before) == (9, 0.1, 0.05, 0)
    assert "http://127.0.0.1:9911" in result.output
    assert "export NS_CLIENT_ID=flx-demo-consumer-key-not-a-secret" in result.output
    assert "NS_TOKEN_SECRET" in result.output


def test_zero_concurrency_means_unlimited_and_a_bare_rate_spreads(served: list[Any]) -> None:
    result = CliRunner().invoke(app(), ["emulator", "--concurrency", "0",
                                        "--fault-rate", "0.03"])
    assert result.exit_code == 0, result.output
    emulator = served[0][0]
    assert emulator.concurrency is None
    assert emulator.faults.plan.drop_before == pytest.approx(0.01)


def test_custom_seed_credentials_are_never_printed(served: list[Any], tmp_path: Path) -> None:
    seed = load_default_seed()
    seed["credentials"]["tokenSecret"] = "super-secret-value"
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed, default=float))
    result = CliRunner().invoke(app(), ["emulator", "--seed", str(path)])
    assert result.exit_code == 0, result.output
    assert "super-secret-value" not in result.output
    assert "NS_TOKEN_SECRET" in result.output


@pytest.mark.parametrize("rate", ["drop=0.1", "lots", "error_5xx=2"])
def test_bad_fault_rates_are_usage_errors(served: list[Any], rate: str) -> None:
    result = CliRunner().invoke(app(), ["emulator", "--fault-rate", rate])
    assert result.exit_code == 2
    assert served == []
