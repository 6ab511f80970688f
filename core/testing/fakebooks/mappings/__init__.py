"""Mapping profiles shipped with the fake connector (package data)."""
