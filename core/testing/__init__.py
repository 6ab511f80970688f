"""flx.testing: what a connector package's own tests use, as flx's tests do.

- `ConnectorSuite`, `SourceSuite`: the standard tests, as pytest classes to subclass
  (flx/testing/suite.py, source_suite.py);
- `check_connector`: the conformance checks of a connector's declaration;
- `FakebooksConnector`, `Ledger`, `Harness`/`make_env`: the fake connector flx tests core
  with, its in-memory remote and a ready-made set-up around it; `Shop`, an in-memory shop
  API for a source to read.

Names load lazily: importing flx.testing.conformance does not import pytest."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flx.testing.conformance import check_connector
    from flx.testing.fake import FakebooksConnector
    from flx.testing.harness import Harness, make_env
    from flx.testing.ledger import Ledger
    from flx.testing.shop import Shop
    from flx.testing.source_suite import SourceSuite
    from flx.testing.suite import ConnectorSuite

__all__ = ["ConnectorSuite", "SourceSuite", "check_connector", "FakebooksConnector", "Ledger",
           "Harness", "make_env", "Shop"]

_SOURCES = {"ConnectorSuite": "flx.testing.suite", "SourceSuite": "flx.testing.source_suite",
            "Shop": "flx.testing.shop", "check_connector": "flx.testing.conformance",
            "FakebooksConnector": "flx.testing.fake", "Ledger": "flx.testing.ledger",
            "Harness": "flx.testing.harness", "make_env": "flx.testing.harness"}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'flx.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
