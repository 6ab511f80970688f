"""The built-in webhook notifier: after a run that went wrong, POST a JSON summary to the URL
in flx.toml.

```toml
[alerts]
webhook_url = "${FLX_ALERT_WEBHOOK_URL}"   # a secret: webhook URLs usually embed a token
on = ["failures", "auth", "outage"]         # the default when `on` is left out
```

Events: `failures` (records failed, or the run was aborted), `auth` (the run was aborted
because the credentials or the role were refused), `outage` (records failed because the
remote system was down or unreachable). Dry runs never alert.

Delivery never hurts the run: it happens on a background thread after the run is recorded,
each attempt has a short timeout, 5xx/429/network failures are retried a few times with
tenacity, and every failure is logged (without the URL) and swallowed. The body is the run
report with only its failed rows, passed through a Redactor that knows every secret of the
configuration, the webhook URL included.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)
from tenacity.wait import wait_base

from flx.config.redact import Redactor
from flx.hookspecs import hookimpl

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.model import Connection

__all__ = ["ALERTS_PLUGIN_NAME", "EVENTS", "AlertSettings", "WebhookNotifier", "alert_events",
           "alert_payload", "alert_settings"]

log = logging.getLogger("flx.alerts")

ALERTS_PLUGIN_NAME = "flx.alerts"
EVENTS = ("failures", "auth", "outage")
# Other spellings people (and the config schema's example) use for the same events.
_ALIASES = {"failure": "failures", "failed": "failures", "run_failed": "failures",
            "record_failed": "failures", "authentication": "auth", "permission": "auth",
            "outages": "outage", "network": "outage"}
MAX_ROWS = 50  # failed rows carried in one alert; the rest are counted
TIMEOUT = 5.0  # seconds per attempt
ATTEMPTS = 3
MAX_DELAY = 20.0  # seconds spent on one alert, all attempts together

_AUTH_CLASSES = frozenset({"authentication", "permission"})
_OUTAGE_CLASSES = frozenset({"outage", "network"})
# Used only when the report does not say which error class aborted the run.
_AUTH_WORDS = re.compile(r"credential|authenticat|permission|unauthori[sz]ed|forbidden|"
                         r"\b40[13]\b|token|may not|refused the", re.IGNORECASE)


@dataclass
class AlertSettings:
    url: str | None = None
    events: frozenset[str] = frozenset(EVENTS)
    secrets: list[str] = field(default_factory=list, repr=False)
    unknown: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.url)


def alert_settings(config: Config) -> AlertSettings:
    """The [alerts] table, normalised. Unknown event names are kept in `unknown` (and
    logged), never fatal: a typo must not stop the runs themselves."""
    table = config.alerts or {}
    url = table.get("webhook_url")
    raw = table.get("on")
    names = [str(n) for n in raw] if isinstance(raw, list) else list(EVENTS)
    events: set[str] = set()
    unknown: list[str] = []
    for name in names:
        key = _ALIASES.get(name.strip().lower(), name.strip().lower())
        if key in ("all", "always"):
            events.update(EVENTS)
        elif key in EVENTS:
            events.add(key)
        else:
            unknown.append(name)
    problem = webhook_problem(url) if isinstance(url, str) and url else None
    if problem:  # flx.toml's schema refuses these; a Config built otherwise gets here
        log.error("[alerts] webhook_url %s; no alert is sent", problem)
    return AlertSettings(url=url if isinstance(url, str) and url and not problem else None,
                         events=frozenset(events), secrets=list(config.secrets()),
                         unknown=unknown)


_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def webhook_problem(url: str) -> str | None:
    """Why `url` cannot take alerts (said without the URL, a secret), or None."""
    if _CONTROL_OR_SPACE.search(url):
        return "holds a space or a control character"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https"):
        return "is not an http(s) URL"
    if not parts.hostname:
        return "names no host"
    return None


def alert_events(report: dict[str, Any]) -> list[str]:
    """Which events a run report (RunReport.to_dict()) raises, in EVENTS order."""
    if report.get("dry_run"):
        return []
    counts = report.get("counts") or {}
    aborted = report.get("aborted")
    aborted_class = report.get("aborted_class")
    failed_classes = {row.get("error_class") for row in report.get("rows") or []
                      if row.get("status") == "failed"}
    found = set()
    if int(counts.get("failed") or 0) > 0 or aborted:
        found.add("failures")
    if aborted and (aborted_class in _AUTH_CLASSES
                    or (aborted_class is None and _AUTH_WORDS.search(str(aborted)))):
        found.add("auth")
    if failed_classes & _OUTAGE_CLASSES or aborted_class in _OUTAGE_CLASSES:
        found.add("outage")
    return [e for e in EVENTS if e in found]


def _summary(report: dict[str, Any]) -> str:
    counts = report.get("counts") or {}
    parts = [f"{n} {k}" for k, n in counts.items() if n and k != "out_of_scope"]
    text = (f"flx: {report.get('operation')} on {report.get('connection')}: "
            f"{', '.join(parts) or 'nothing done'}")
    if report.get("aborted"):
        text += f"; aborted: {report['aborted']}"
    return text


def alert_payload(report: dict[str, Any], connection: Connection, events: list[str],
                  redactor: Redactor) -> dict[str, Any]:
    """The JSON body: `text` (a one-line summary, which chat webhooks such as Slack show as
    is), the events, the connection's name and plugin (never its settings) and the report
    with its failed rows only."""
    rows = [r for r in report.get("rows") or [] if r.get("status") == "failed"]
    body = {
        "text": _summary(report),
        "source": "flx",
        "event": "run_finished",
        "events": events,
        "connection": {"name": connection.name, "plugin": connection.plugin},
        "report": {**{k: v for k, v in report.items() if k != "rows"},
                   "rows": rows[:MAX_ROWS], "rows_omitted": max(len(rows) - MAX_ROWS, 0)},
    }
    return dict(redactor.data(body))


class _Retry(Exception):
    """A delivery attempt that may succeed later (5xx, 429, no answer)."""


def _version() -> str:
    try:
        return metadata.version("flx")
    except metadata.PackageNotFoundError:
        return "unknown"


class WebhookNotifier:
    """The `run_finished` implementation registered by flx.plugins.build_plugins.

    `transport` replaces the network (tests); `wait` replaces tenacity's back-off between
    attempts; `background=False` delivers before returning (tests, scripts)."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None,
                 wait: wait_base | None = None, background: bool = True) -> None:
        self.settings = AlertSettings(events=frozenset())
        self.transport = transport
        self.wait = wait if wait is not None else wait_exponential(multiplier=0.5, max=4)
        self.background = background
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.delivered = 0  # successful deliveries, for `flush` callers and tests

    def configure(self, settings: AlertSettings) -> None:
        if settings.unknown != self.settings.unknown:  # say it once, not after every run
            for name in settings.unknown:
                log.warning("alerts.on: unknown event %r ignored (known: %s)", name,
                            ", ".join(EVENTS))
        self.settings = settings

    @hookimpl
    def run_finished(self, report: dict[str, Any], connection: Connection,
                     config: Config) -> None:
        try:
            self.configure(alert_settings(config))  # [alerts] as this run's flx.toml says
            settings = self.settings
            if not settings.enabled:
                return
            events = [e for e in alert_events(report) if e in settings.events]
            if not events:
                return
            redactor = Redactor([*settings.secrets, *connection.secrets()])
            body = alert_payload(report, connection, events, redactor)
            if not self.background:
                self._deliver(settings.url or "", body, redactor)
                return
            thread = threading.Thread(target=self._deliver,
                                      args=(settings.url or "", body, redactor),
                                      name="flx-alert", daemon=False)
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        except Exception as exc:  # an alert must never break or hide the run
            log.error("could not prepare the alert: %s: %s", type(exc).__name__, exc)

    def _deliver(self, url: str, body: dict[str, Any], redactor: Redactor) -> None:
        content = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        headers = {"content-type": "application/json", "user-agent": f"flx/{_version()}"}
        try:
            with httpx.Client(timeout=TIMEOUT, transport=self.transport,
                              follow_redirects=False) as client:
                for attempt in Retrying(
                        stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(MAX_DELAY),
                        wait=self.wait, retry=retry_if_exception_type(_Retry), reraise=True):
                    with attempt:
                        self._post(client, url, content, headers)
            self.delivered += 1
        except _Retry as exc:
            log.error("alert not delivered after %d attempts: %s (the [alerts] webhook_url "
                      "is not shown)", ATTEMPTS, redactor.text(str(exc)))
        except Exception as exc:
            log.error("alert not delivered: %s", redactor.text(str(exc)))

    @staticmethod
    def _post(client: httpx.Client, url: str, content: bytes,
              headers: dict[str, str]) -> None:
        try:
            response = client.post(url, content=content, headers=headers)
        except httpx.TransportError as exc:  # the URL is not part of these messages
            raise _Retry(f"no answer from the webhook ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retry(f"the webhook answered {response.status_code}")
        if response.status_code >= 300:
            raise RuntimeError(f"the webhook answered {response.status_code}; check "
                               "[alerts] webhook_url in flx.toml")

    def flush(self, timeout: float | None = None) -> None:
        """Wait for alerts still being delivered."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
