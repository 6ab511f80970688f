"""flx.records: see docs/architecture.md."""
