"""The Flxpoint source plugin: reads orders, shipments and source invoices (docs/flxpoint.md)."""
