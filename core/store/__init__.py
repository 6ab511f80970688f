"""flx.store: see docs/architecture.md."""
