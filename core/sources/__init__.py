"""flx.sources: see docs/architecture.md."""
