"""The wheel `pip install flx` gets: only flx's own top-level names, every package and its data
inside, and a build that prints no warning."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_flx_names_and_data_and_builds_without_warnings(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    # pip's own notes about this machine's package indexes are not the build's.
    said = [line for line in (built.stdout + built.stderr).splitlines()
            if re.search(r"warn", line, re.I) and "Location 'file:" not in line]
    assert said == []
    (wheel,) = tmp_path.glob("flx-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"flx", "flx_netsuite", "flx_quickbooks", "flx_flxpoint"}
    for data in ("flx/schemas/order.schema.json", "flx/serve/static/flx.css",
                 "flx_netsuite/templates/salesOrder.json.j2",
                 "flx_netsuite/mappings/default.json", "flx_netsuite/emulator/seed.json",
                 "flx/testing/fakebooks/templates/order.json.j2"):
        assert data in names, data
