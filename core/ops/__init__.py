"""flx.ops: see docs/architecture.md."""
