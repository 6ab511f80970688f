"""Mapping profiles of the Flxpoint source (JSON; see docs/flxpoint.md)."""
