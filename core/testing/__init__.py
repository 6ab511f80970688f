"""flx.testing: see docs/architecture.md."""
