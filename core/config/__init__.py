"""flx.config: see docs/architecture.md."""
