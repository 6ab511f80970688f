"""flx.operations: see docs/architecture.md."""
