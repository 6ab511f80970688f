"""flx.run: see docs/architecture.md."""
