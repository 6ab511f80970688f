"""Run the shell blocks of a markdown page as a reader would type them.

A fenced block runs only when the comment line right above it says how:

    <!-- doc-test: run -->              every line, in one shell session; each must exit 0
    <!-- doc-test: run exit=0,3 -->     the same, with the exit codes a line may end with
    <!-- doc-test: background -->       started and left running (`flx emulator &`); the
                                        runner waits until the emulator's port answers
    <!-- doc-test: transcript -->       `$ command` lines run; the lines under each are its
                                        expected output
    <!-- doc-test: output-of CMD -->    the block is a part of CMD's output, in one piece
    <!-- doc-test: skip (why) -->       not run; the reason is required

In README.md every block carries a marker (an unmarked one fails the test, so a new example
cannot drift unnoticed); elsewhere only marked blocks run. Commands run exactly as written,
in one bash session (so `. .venv/bin/activate`, `export` and `&` behave as in a terminal),
from a folder that holds the repository's files as a fresh clone would.

Expected output is compared after `normalise`: what changes from run to run (durations,
timestamps, the ids NetSuite hands out, whose order depends on concurrency) is masked; the
counts, statuses, messages and table layout are compared as they are.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"^<!--\s*doc-test:\s*(?P<kind>[a-z-]+)\s*(?P<arg>.*?)\s*-->\s*$")
FENCE = re.compile(r"^```")


@dataclass
class Block:
    kind: str  # run, background, transcript, output-of, skip, or "" (unmarked)
    arg: str
    lines: list[str]
    line_no: int  # where the block starts in the page, for messages


def blocks(text: str) -> list[Block]:
    """Every fenced block of a markdown text, with the doc-test marker above it (if any)."""
    out: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            start = i
            marker = MARKER.match(lines[i - 1]) if i and lines[i - 1].strip() else None
            if marker is None and i >= 2 and not lines[i - 1].strip():
                marker = MARKER.match(lines[i - 2])
            body = []
            i += 1
            while i < len(lines) and not FENCE.match(lines[i]):
                body.append(lines[i])
                i += 1
            out.append(Block(marker["kind"] if marker else "", marker["arg"] if marker else "",
                             body, start + 1))
        i += 1
    return out


# --- comparing output ------------------------------------------------------------------------

_VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( UTC|Z)?"), "<time>"),
    (re.compile(r"\bin \d+(\.\d+)?s\b"), "in <t>s"),
    (re.compile(r"finished in \d+(\.\d+)?s"), "finished in <t>s"),
    (re.compile(r"\b\d{3,}\b"), "<id>"),  # ids (801, 107): their order follows concurrency
    (re.compile(r"/tmp/[^\s)`]+"), "<tmp>"),
]


def normalise(line: str) -> str:
    for pattern, repl in _VOLATILE:
        line = pattern.sub(repl, line)
    return line.rstrip()


def find_run(expected: list[str], actual: list[str]) -> int | None:
    """Where `expected` occurs in `actual` as consecutive lines (after normalising)."""
    want = [normalise(x) for x in expected]
    have = [normalise(x) for x in actual]
    for start in range(len(have) - len(want) + 1):
        if have[start:start + len(want)] == want:
            return start
    return None


# --- the session -----------------------------------------------------------------------------


def clone_like(repo: Path, dest: Path) -> Path:
    """The repository's tracked files (as they are in the work tree) under `dest`, with the
    repository's installed `.venv` linked in, as after `git clone` and `make demo`."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = repo / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    (dest / ".venv").symlink_to(repo / ".venv")
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(home: Path, port: int) -> dict[str, str]:
    """A new user's terminal: no flx on PATH, no flx settings; the emulator's port is the
    only thing the runner chooses (FLX_EMULATOR_PORT, so parallel runs do not collide)."""
    path = [p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
            if not (Path(p) / "flx").exists()]
    return {"PATH": os.pathsep.join(path), "HOME": str(home), "LANG": "C.UTF-8",
            "COLUMNS": "100", "TERM": "dumb", "FLX_EMULATOR_PORT": str(port),
            "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Step:
    command: str
    block: Block
    allowed: tuple[int, ...] = (0,)
    expected: list[str] = field(default_factory=list)  # transcript output
    rc: int | None = None
    output: str = ""


def steps(page: list[Block]) -> list[Step]:
    out: list[Step] = []
    for block in page:
        if block.kind == "run":
            codes = re.search(r"exit=([\d,]+)", block.arg)
            allowed = tuple(int(c) for c in codes[1].split(",")) if codes else (0,)
            out += [Step(line, block, allowed) for line in block.lines
                    if line.strip() and not line.lstrip().startswith("#")]
        elif block.kind == "background":
            out += [Step(line, block) for line in block.lines if line.strip()]
        elif block.kind == "transcript":
            for line in block.lines:
                if line.startswith("$ "):
                    out.append(Step(line[2:], block))
                elif out:
                    out[-1].expected.append(line)
        elif block.kind == "output-of":
            out.append(Step(block.arg, block, expected=block.lines))
    return out


def script(todo: list[Step], token: str) -> str:
    """One bash script: each step's output between sentinels, with its exit code."""
    parts = ["trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT"]
    for index, step in enumerate(todo):
        if step.block.kind == "background":
            parts.append(f"{step.command.rstrip().rstrip('&')} > background-{index}.log 2>&1 &")
            parts.append(  # until the port answers (a condition, not a fixed sleep)
                "for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$FLX_EMULATOR_PORT) "
                "2>/dev/null && break; sleep 0.1; done")
            parts.append(f"echo '{token} {index} 0'")
            continue
        parts.append(f"{{ {step.command}\n}} 2>&1; echo \"{token} {index} $?\"")
    return "\n".join(parts) + "\n"


def run_steps(todo: list[Step], cwd: Path, env: dict[str, str], timeout: float) -> str:
    token = f"@@doc-test-{uuid.uuid4().hex}@@"
    done = subprocess.run(["bash", "--noprofile", "--norc", "-s"], input=script(todo, token),
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    chunk: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith(token):
            _, index, rc = line.split()
            todo[int(index)].rc, todo[int(index)].output = int(rc), "\n".join(chunk)
            chunk = []
        else:
            chunk.append(line)
    return done.stdout + done.stderr
