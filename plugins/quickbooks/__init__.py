"""The QuickBooks Online connector (installs as `flx_quickbooks`)."""
