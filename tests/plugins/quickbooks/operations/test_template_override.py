"""A client's own templates replace the shipped ones; one that renders an unusable payload fails
the record naming the field, before anything is sent."""

from __future__ import annotations

from importlib import resources

from .conftest import Workspace, order


def override(workspace: Workspace, text: str) -> None:
    folder = workspace.path / "my-templates"
    folder.mkdir(exist_ok=True)
    (folder / "sale.json.j2").write_text(text)
    workspace.profile["templates"] = "my-templates"


def test_an_override_changes_the_sale(workspace: Workspace) -> None:
    shipped = resources.files("flx_quickbooks").joinpath("templates/sale.json.j2").read_text()
    override(workspace, shipped.replace('"DocNumber": {{ doc_number | json }},',
                                        '"DocNumber": {{ doc_number | json }},\n'
                                        '  "CustomerMemo": {"value": "Thank you!"},'))
    workspace.import_records(orders=[order("1001", ("SKU001", 1, "9.95"))])
    assert workspace.run("send-orders")["by_id"]["ORD-1001"]["status"] == "sent"
    [receipt] = workspace.objects("SalesReceipt")
    assert receipt["CustomerMemo"] == {"value": "Thank you!"}


def test_an_override_without_the_customer_fails_before_sending(workspace: Workspace) -> None:
    override(workspace, '{"DocNumber": {{ doc_number | json }}, "Line": {{ lines | json }}, '
                        '"PrivateNote": {{ private_note | json }}}')
    workspace.import_records(orders=[order("1002", ("SKU001", 1, "9.95"))])
    row = workspace.run("send-orders")["by_id"]["ORD-1002"]
    assert row["status"] == "failed" and "CustomerRef" in row["message"], row
    assert not [w for w in workspace.emulator.writes() if "salesreceipt" in w]
