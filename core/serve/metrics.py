"""/metrics in the Prometheus text format: what an on-call alert watches.

Read from the store at each scrape (so they hold for every process that writes it: `flx
schedule`, workers, manual runs), except the dashboard's own request counter:

    flx_records{kind}                                   records imported
    flx_sync_records{connection,operation,status}       records per sync state
    flx_runs{connection,operation,status}               real runs so far
    flx_run_last_duration_seconds{connection,operation} the last finished real run
    flx_last_success_timestamp_seconds{connection,operation}
    flx_remote_writes{connection,method,status}         remote writes by HTTP status
    flx_remote_throttled{connection}                    of which answered 429
    flx_serve_requests_total{method,route,status}       requests to this dashboard
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flx.serve import queries

if TYPE_CHECKING:
    from flx.store.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreCollector(Collector):
    def __init__(self, store: Store, kinds: Iterable[str]) -> None:
        self.store, self.kinds = store, list(kinds)

    def collect(self) -> Iterator[Metric]:
        store = self.store
        records = GaugeMetricFamily("flx_records", "Records imported, per kind", labels=["kind"])
        for kind in self.kinds:
            records.add_metric([kind], store.count_records(kind))
        yield records
        sync = GaugeMetricFamily("flx_sync_records", "Records per sync state",
                                 labels=["connection", "operation", "status"])
        for row in store.sync_summary():
            sync.add_metric([row["connection"], row["operation"], row["status"]], row["count"])
        yield sync
        runs = GaugeMetricFamily("flx_runs", "Real runs so far, per outcome",
                                 labels=["connection", "operation", "status"])
        for row in queries.run_totals(store):
            runs.add_metric([row["connection"], row["operation"], row["status"]], row["count"])
        yield runs
        pair = ["connection", "operation"]
        took = GaugeMetricFamily("flx_run_last_duration_seconds",
                                 "How long the last finished real run took", labels=pair)
        success = GaugeMetricFamily("flx_last_success_timestamp_seconds",
                                    "When the last successful real run finished (Unix time)",
                                    labels=pair)
        for row in queries.last_runs(store):
            labels = [row["connection"], row["operation"]]
            if row["last_duration_seconds"] is not None:
                took.add_metric(labels, row["last_duration_seconds"])
            if row["last_success_at"] is not None:
                success.add_metric(labels, row["last_success_at"].timestamp())
        yield took
        yield success
        writes = GaugeMetricFamily("flx_remote_writes", "Remote writes by HTTP status",
                                   labels=["connection", "method", "status"])
        throttled = GaugeMetricFamily("flx_remote_throttled",
                                      "Remote writes answered 429 (throttled)",
                                      labels=["connection"])
        per_connection: dict[str, int] = {}
        for row in queries.remote_writes(store):
            writes.add_metric([row["connection"], row["method"], str(row["status"])],
                              row["count"])
            per_connection.setdefault(row["connection"], 0)
            if int(row["status"]) == 429:
                per_connection[row["connection"]] += int(row["count"])
        for name, count in sorted(per_connection.items()):
            throttled.add_metric([name], count)
        yield writes
        yield throttled


class Metrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, store: Store, kinds: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StoreCollector(store, kinds))
        self.requests = Counter("flx_serve_requests", "Requests to this dashboard",
                                ["method", "route", "status"], registry=self.registry)

    def count(self, method: str, route: str, status: int) -> None:
        self.requests.labels(method, route, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
