"""The distribution's shape: four import packages from one root, data found as package data,
core independent of any connector, and an explicit public API."""

from __future__ import annotations

import importlib
import json
import re
from importlib import resources
from pathlib import Path

import core

PACKAGES = ("core", "plugins", "schemas", "mappings")


def test_the_four_packages_load_from_one_root() -> None:
    roots = {name: Path(importlib.import_module(name).__file__).resolve().parent.parent
             for name in PACKAGES}
    assert len(set(roots.values())) == 1, roots


def test_schemas_and_profiles_are_package_data() -> None:
    for name in ("mapping", "config", "order", "shipment", "vendor_bill"):
        text = resources.files("schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
        assert json.loads(text)["$schema"].endswith("2020-12/schema"), name
    assert resources.files("mappings").joinpath("netsuite", "default.json").is_file()


def test_core_never_imports_a_connector() -> None:
    root = Path(core.__file__).resolve().parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+plugins\b", p.read_text(), re.M)]
    assert offenders == []


def test_core_reads_no_data_relative_to_its_source_files() -> None:
    # Data comes through importlib.resources, so an installed or zipped flx works too.
    root = Path(core.__file__).resolve().parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "__file__" in p.read_text()]
    assert offenders == []


def test_public_api_names_exist() -> None:
    assert len(core.__all__) == len(set(core.__all__))
    missing = [name for name in core.__all__ if not hasattr(core, name)]
    assert missing == []
    assert core.errors.FlxError is core.FlxError
    assert callable(core.hookimpl) and callable(core.run_operation)
    assert "Renderer" in dir(core)
