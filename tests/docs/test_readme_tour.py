"""README.md's tour, run as written from a fresh clone-like folder against the emulator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.docs.doctour import (
    blocks,
    clean_env,
    clone_like,
    find_run,
    free_port,
    run_steps,
    steps,
)

REPO = Path(__file__).resolve().parents[2]
KINDS = {"run", "background", "transcript", "output-of", "skip"}


def test_every_readme_block_says_whether_it_runs():
    page = blocks((REPO / "README.md").read_text())
    assert page, "README.md has no code blocks?"
    for block in page:
        assert block.kind in KINDS, (
            f"README.md line {block.line_no}: a code block without a doc-test marker "
            "(see tests/docs/doctour.py)")
        if block.kind == "skip":
            assert block.arg.startswith("(") and len(block.arg) > 4, (
                f"README.md line {block.line_no}: say why the block is skipped")


def test_the_readme_tour_works_as_written(tmp_path):
    ready = subprocess.run(["make", "-q", ".venv/.installed-runtime"], cwd=REPO,
                           capture_output=True, check=False)
    if ready.returncode != 0:
        pytest.skip("the .venv is older than pyproject.toml: run `make .venv/.installed`")
    clone = clone_like(REPO, tmp_path / "flx")
    todo = steps(blocks((clone / "README.md").read_text()))
    assert [s.command for s in todo if s.command.startswith("flx init")] == [
        "flx init --emulator"]
    log = run_steps(todo, clone, clean_env(tmp_path, free_port()), timeout=600)

    for step in todo:
        where = f"README.md line {step.block.line_no}: `{step.command}`"
        assert step.rc is not None, f"{where} did not run; the session said:\n{log[-3000:]}"
        assert step.rc in step.allowed, f"{where} exited {step.rc}:\n{step.output}"
        assert "Traceback" not in step.output, f"{where}:\n{step.output}"
        if step.expected:
            found = find_run(step.expected, step.output.splitlines())
            assert found is not None, (
                f"{where}: its shown output is not what it prints.\n--- shown:\n"
                + "\n".join(step.expected) + "\n--- printed:\n" + step.output)

    # The tour did what it says, not just exit codes: the sends reached the emulator.
    sent = next(s for s in todo if s.command.startswith("flx run send-orders")
                and "--dry-run" not in s.command)
    assert "3 sent, 1 failed" in sent.output, sent.output
    show = next(s for s in todo if s.command.startswith("flx show"))
    assert "sales order" in show.output and "POST" in show.output, show.output
    assert "command not found" not in log


# docs/cli.md's marked examples, after the tour's first steps (emulator, init, import).
CLI_PRELUDE = """\
<!-- doc-test: run -->
```
. .venv/bin/activate
```
<!-- doc-test: background -->
```
flx emulator &
```
<!-- doc-test: run -->
```
flx init --emulator
flx import plugins/netsuite/data/demo.json
```
"""


def test_the_cli_pages_examples_are_what_flx_prints(tmp_path):
    ready = subprocess.run(["make", "-q", ".venv/.installed-runtime"], cwd=REPO,
                           capture_output=True, check=False)
    if ready.returncode != 0:
        pytest.skip("the .venv is older than pyproject.toml: run `make .venv/.installed`")
    clone = clone_like(REPO, tmp_path / "flx")
    marked = [b for b in blocks((clone / "docs" / "cli.md").read_text()) if b.kind]
    assert len([b for b in marked if b.kind == "transcript"]) >= 3
    todo = steps(blocks(CLI_PRELUDE) + marked)
    log = run_steps(todo, clone, clean_env(tmp_path, free_port()), timeout=300)
    for step in todo:
        where = f"docs/cli.md line {step.block.line_no}: `{step.command}`"
        assert step.rc is not None, f"{where} did not run; the session said:\n{log[-3000:]}"
        if step.expected:
            assert find_run(step.expected, step.output.splitlines()) is not None, (
                f"{where}: its shown output is not what it prints.\n--- shown:\n"
                + "\n".join(step.expected) + "\n--- printed:\n" + step.output)
        else:
            assert step.rc in step.allowed, f"{where} exited {step.rc}:\n{step.output}"
