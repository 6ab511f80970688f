"""`flx connections test` for a QuickBooks connection: token, company, preferences, entities."""

from __future__ import annotations

from .conftest import Workspace


def test_a_healthy_connection_passes_every_check(workspace: Workspace) -> None:
    code, output = workspace.flx("connections", "test", "qb")
    assert code == 0, output
    assert "flx Sandbox Company US" in output and "read Bill" in output


def test_a_preference_turned_off_names_where_to_turn_it_on(workspace: Workspace) -> None:
    books = workspace.emulator.company(next(iter(workspace.emulator.companies)))
    books.preferences["SalesFormsPrefs"]["CustomTxnNumbers"] = False
    code, output = workspace.flx("connections", "test", "qb")
    assert code != 0 and "Custom transaction numbers" in output, output


def test_a_revoked_connection_says_to_authorize_again(workspace: Workspace) -> None:
    oauth = workspace.emulator.oauth
    revoked = list(oauth.refresh_tokens)
    oauth.refresh_tokens.clear()  # the user disconnected the app in QuickBooks
    oauth.access_tokens.clear()
    code, output = workspace.flx("connections", "test", "qb")
    assert code != 0 and "flx connections authorize qb" in output.replace("\n", " "), output
    assert not any(token in output for token in revoked)


def test_an_unmapped_dropship_vendor_is_named_before_any_run(workspace: Workspace) -> None:
    from .conftest import dropship, order

    frs = [dropship("FR-1-Z", "V-Z", ("L1", "VB-SKU500", 1, "12.00"))]
    workspace.import_records(orders=[order("1", ("VB-SKU500", 1, "29.00"), frs=frs)])
    code, output = workspace.flx("connections", "test", "qb")
    assert code != 0 and "tables.vendors has no 'V-Z'" in output, output
    report = workspace.run("send-orders", "--dry-run")
    assert "V-Z" in str(report), report
