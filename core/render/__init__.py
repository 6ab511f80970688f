"""flx.render: see docs/architecture.md."""
