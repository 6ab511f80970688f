"""QuickBooks Online mapping profiles shipped with the connector."""
