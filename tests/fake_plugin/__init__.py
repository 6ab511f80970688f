"""The "fakebooks" test connector, shipped as flx.testing (flx/testing/fake.py, ledger.py,
harness.py, and its templates and profile in flx.testing.fakebooks). These modules keep the
names flx's own tests import."""

from flx.testing.fake import NAME, PACKAGE
from flx.testing.ledger import Ledger

__all__ = ["NAME", "PACKAGE", "Ledger"]
