"""The settings of one NetSuite connection, checked and normalised once.

A NetSuite account ID is written two ways, and mixing them up is the most common cause of a
401 (netsuite-rest.md §1.1, §2, §8.1):

    realm (signature header)   1234567      1234567_SB1    digits, `_SB<n>`, upper case
    host  (URL)                1234567      1234567-sb1    lower case, `-`

Users paste whatever their screen shows, so `account_id` accepts `1234567`, `1234567_SB1`,
`1234567-sb1`, `1234567_sb1` (and surrounding spaces) and derives both forms; anything else is
refused with a ConfigError that says where to find the right value.

Secrets are kept out of `repr()` and every error message names keys, never values.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flx import ConfigError, Connection

SECRET_KEYS = ("client_id", "client_secret", "token_id", "token_secret")
DEFAULT_CONCURRENCY = 5
MAX_CONCURRENCY = 100
DEFAULT_TIMEOUT = 60.0
# NetSuite ends any REST request after 15 minutes (netsuite-rest.md §2); waiting longer is moot.
MAX_TIMEOUT = 900.0

# Digits, optionally after letters (test-drive and developer accounts: TSTDRV1234567), and a
# sandbox (_SB1) or release-preview (_RP1) suffix.
_ACCOUNT_RE = re.compile(
    r"^(?P<digits>[A-Za-z]*[0-9]+)(?:[_-](?P<kind>[Ss][Bb]|[Rr][Pp])(?P<sandbox>[0-9]+))?$")
_UNRESOLVED_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

ACCOUNT_HINT = (
    "use the Account ID shown under Setup > Company > Company Information, e.g. 1234567 for "
    "production or 1234567_SB1 for a sandbox (1234567-sb1 is accepted too)"
)


@dataclass(frozen=True)
class NetSuiteSettings:
    """One `[connections.NAME]` table of a NetSuite connection, validated."""

    account_id: str  # canonical: "1234567" or "1234567_SB1"
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    token_id: str = field(repr=False)
    token_secret: str = field(repr=False)
    base_url: str = ""  # "" means the account's own SuiteTalk host
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    name: str = ""
    account_concurrency: int | None = None  # shared by all workers of a PostgreSQL store

    def __post_init__(self) -> None:
        if not self.base_url:
            object.__setattr__(self, "base_url", f"https://{self.host}.suitetalk.api.netsuite.com")

    @property
    def realm(self) -> str:
        """The account ID as the OAuth `realm`: upper case with `_` (1234567_SB1)."""
        return self.account_id

    @property
    def host(self) -> str:
        """The account ID as a host label: lower case with `-` (1234567-sb1)."""
        return self.account_id.lower().replace("_", "-")

    @property
    def is_sandbox(self) -> bool:
        return "_SB" in self.account_id

    def secrets(self) -> list[str]:
        """The four credential values, for scrubbing text before it is shown or logged."""
        return [v for v in (self.client_id, self.client_secret, self.token_id,
                            self.token_secret) if v]

    @classmethod
    def from_connection(cls, connection: Connection) -> NetSuiteSettings:
        return cls.from_mapping(connection.settings, name=connection.name)

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], *, name: str = "") -> NetSuiteSettings:
        """Check every key and report all problems at once (ConfigError.problems)."""
        where = f"connections.{name}" if name else "connection"
        problems: list[str] = []

        account_id = ""
        raw_account = settings.get("account_id")
        if raw_account is None or (isinstance(raw_account, str) and not raw_account.strip()):
            problems.append(f"{where}.account_id: missing; {ACCOUNT_HINT}")
        else:
            try:
                account_id = normalize_account_id(raw_account)
            except ValueError as exc:
                problems.append(f"{where}.account_id: {exc}")

        secrets: dict[str, str] = {}
        for key in SECRET_KEYS:
            value = settings.get(key)
            problem = _secret_problem(value)
            if problem:
                problems.append(f"{where}.{key}: {problem}")
            else:
                # Stray whitespace from copy-paste breaks the signature and is never meaningful.
                secrets[key] = str(value).strip()

        concurrency = _int_setting(settings, "concurrency", DEFAULT_CONCURRENCY, 1,
                                   MAX_CONCURRENCY, where, problems)
        timeout = _float_setting(settings, "timeout", DEFAULT_TIMEOUT, MAX_TIMEOUT,
                                 where, problems)
        account_concurrency = (None if settings.get("account_concurrency") is None else
                               _int_setting(settings, "account_concurrency", DEFAULT_CONCURRENCY,
                                            1, MAX_CONCURRENCY, where, problems))
        base_url = _base_url_setting(settings.get("base_url"), where, problems)

        if problems:
            raise ConfigError(
                f"the NetSuite connection {name!r} is not set up correctly" if name
                else "the NetSuite connection is not set up correctly",
                problems=problems,
                hint="correct these keys in flx.toml (secrets usually come from ${ENV_VARS}); "
                     "docs/netsuite.md explains each one",
            )
        return cls(account_id=account_id, base_url=base_url, concurrency=concurrency,
                   timeout=timeout, name=name, account_concurrency=account_concurrency,
                   **secrets)


def normalize_account_id(value: object) -> str:
    """`1234567`, ` 1234567 `, `1234567_sb1`, `1234567-SB1` ... -> `1234567` / `1234567_SB1`.

    Raises ValueError (message safe to show) for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be text such as \"1234567_SB1\", not {type(value).__name__}")
    text = str(value).strip()
    match = _ACCOUNT_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a NetSuite account ID; {ACCOUNT_HINT}")
    base, kind, number = match.group("digits"), match.group("kind"), match.group("sandbox")
    return f"{base.upper()}_{kind.upper()}{number}" if kind else base.upper()


def _secret_problem(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "missing (copy it from NetSuite; keep it in an environment variable)"
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    unresolved = _UNRESOLVED_RE.match(value.strip())
    if unresolved:
        return f"the environment variable {unresolved.group(1)} is not set"
    return None


def _int_setting(settings: Mapping[str, Any], key: str, default: int, low: int, high: int,
                 where: str, problems: list[str]) -> int:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where}.{key}: must be a whole number from {low} to {high} "
                        f"(the account's share of NetSuite's concurrency limit), got {value!r}")
        return default
    return value


def _float_setting(settings: Mapping[str, Any], key: str, default: float, high: float,
                   where: str, problems: list[str]) -> float:
    value = settings.get(key, default)
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not 0 < value <= high):
        problems.append(f"{where}.{key}: must be a number of seconds above 0 and at most "
                        f"{high:g}, got {value!r}")
        return default
    return float(value)


def _base_url_setting(value: object, where: str, problems: list[str]) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}.base_url: must be a URL such as http://127.0.0.1:8765")
        return ""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        problems.append(f"{where}.base_url: {text!r} is not an http(s) URL without a query, "
                        f"such as http://127.0.0.1:8765 (leave it out to use NetSuite itself)")
        return ""
    if parts.scheme == "http" and not _loopback(parts.hostname):
        # Bodies and answers are not covered by the OAuth signature: customer data and
        # token-signed requests must not cross a network in clear text.
        problems.append(f"{where}.base_url: {text!r} uses plain http, which only a local "
                        "emulator may (127.0.0.1, ::1, localhost); use https:// for anything "
                        "else (leave base_url out to use NetSuite itself)")
        return ""
    return text


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
