"""A store that fails during a batch (a PostgreSQL restart, a dropped connection) is not the
plugin's fault and not the records': the run stops with class `store`, the records stay as
they were, and the next run sends each exactly once (reconciled by external id)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flx.run.runtime import Runtime
from tests.fake_plugin.harness import make_env, make_order


def _store_dies_after_first_record(self: Runtime, fn: Callable[[Any], Any], items: Any,
                                   **kwargs: Any) -> list[Any]:
    items = list(items)
    fn(items[0])  # this one reached the remote
    raise sa.exc.OperationalError("UPDATE sync_state ...", {}, Exception(
        "terminating connection due to administrator command"))


def test_a_store_failure_mid_batch_leaves_every_record_for_the_next_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_env(tmp_path, batch_size=3)
    env.load(orders=[make_order(f"ORD-{i}") for i in range(6)])
    with monkeypatch.context() as patch:
        patch.setattr(Runtime, "map", _store_dies_after_first_record)
        report = env.run()
    assert report.exit_code == 1
    assert report.aborted_class == "store"
    assert "the store failed" in (report.aborted or "")
    assert report.counts["failed"] == 0  # nobody's record is blamed
    states = {s.record_id: s.status for s in env.store.iter_sync("prod", "send-orders")}
    assert "failed" not in states.values()
    assert len(env.ledger.records["orders"]) == 1
    again = env.run()
    assert again.exit_code == 0
    assert again.counts["sent"] + again.counts["linked"] == 6
    assert len(env.ledger.records["orders"]) == 6  # the first one was found, not sent twice
