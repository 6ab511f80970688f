"""`flx demo --connector quickbooks --dir DIR` run twice in one folder: the second run starts
from a new store too (its emulator starts empty), so it shows the whole flow again instead of
"nothing to do" everywhere."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flx.cli.main import build_app


def test_a_second_demo_in_the_same_folder_runs_the_whole_flow_again(tmp_path: Path) -> None:
    outputs = []
    for _ in range(2):
        result = CliRunner().invoke(build_app(), ["demo", "--connector", "quickbooks",
                                                  "--dir", str(tmp_path)])
        outputs.append(result.stdout)
    first, second = outputs
    assert "earlier demo's store there was replaced" not in first
    assert "earlier demo's store there was replaced" in second
    for out in outputs:
        assert "Bill: 2 (INV-5001, INV-5002)" in out
