"""flx.testing.ledger under its old name."""

from flx.testing.ledger import COLLECTIONS, Ledger

__all__ = ["COLLECTIONS", "Ledger"]
