"""flx.testing.harness under its old name."""

from flx.testing.harness import (
    TOML,
    Env,
    Harness,
    make_bill,
    make_env,
    make_order,
    make_shipment,
)

__all__ = ["TOML", "Env", "Harness", "make_bill", "make_env", "make_order", "make_shipment"]
