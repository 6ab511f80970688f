"""The distribution's shape: flx and its NetSuite connector installed under names of their own,
every package listed for the wheel, data found as package data, core independent of any
connector, and an explicit public API."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import flx

REPO = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_installed_names_are_flx_own() -> None:
    # Folders keep the product's layout; the import names cannot collide with other
    # distributions' `core`, `plugins`, `schemas` or `mappings`.
    assert Path(flx.__file__).resolve().parent == REPO / "core"
    netsuite = importlib.import_module("flx_netsuite")
    assert Path(str(netsuite.__file__)).resolve().parent == REPO / "plugins" / "netsuite"
    tops = {name.split(".")[0] for name in _pyproject()["tool"]["setuptools"]["packages"]}
    assert tops <= {"flx"} | {n for n in tops if n.startswith("flx_")}


def test_every_package_folder_is_in_the_wheel() -> None:
    # The editable install finds a new sub-package by itself; the wheel only when it is listed.
    tool = _pyproject()["tool"]["setuptools"]
    folders = {name: REPO / path for name, path in tool["package-dir"].items()}
    listed = set(tool["packages"])
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            rel = init.parent.relative_to(folder)
            dotted = ".".join((name, *rel.parts))
            inner = any(other != name and other.startswith(name + ".")
                        and (REPO / folders[other]) == init.parent for other in folders)
            assert dotted in listed or inner, f"{dotted} ({init.parent}) is not in packages"


def test_schemas_and_profiles_are_package_data() -> None:
    for name in ("mapping", "config", "order", "shipment", "vendor_bill"):
        text = resources.files("flx.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
        assert json.loads(text)["$schema"].endswith("2020-12/schema"), name
    assert resources.files("flx_netsuite.mappings").joinpath("default.json").is_file()


def test_core_never_imports_a_connector() -> None:
    root = Path(flx.__file__).resolve().parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+(flx_\w+|plugins)\b", p.read_text(), re.M)]
    assert offenders == []


def test_core_reads_no_data_relative_to_its_source_files() -> None:
    # Data comes through importlib.resources, so an installed or zipped flx works too.
    root = Path(flx.__file__).resolve().parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "__file__" in p.read_text()]
    assert offenders == []


def test_public_api_names_exist() -> None:
    assert len(flx.__all__) == len(set(flx.__all__))
    missing = [name for name in flx.__all__ if not hasattr(flx, name)]
    assert missing == []
    assert flx.errors.FlxError is flx.FlxError
    assert callable(flx.hookimpl) and callable(flx.run_operation)
    assert "Renderer" in dir(flx)
