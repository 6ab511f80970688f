"""SuiteQL text literals with a control character are refused with a 400, as NetSuite does;
tab, newline and carriage return are ordinary text."""

from __future__ import annotations

import pytest

from .helpers import NS, error


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f"])
def test_a_control_character_in_a_text_literal_is_a_400(ns: NS, char: str) -> None:
    response = ns.suiteql(f"SELECT id FROM item WHERE itemid IN ('SKU001', 'A{char}B')")
    assert response.status_code == 400
    detail = error(response)
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert "invalid character in a text literal" in detail["detail"]


def test_tabs_and_newlines_in_text_are_not_refused(ns: NS) -> None:
    response = ns.suiteql("SELECT id FROM item WHERE itemid IN ('SKU001', 'A\tB\nC')")
    assert response.status_code == 200, response.text
