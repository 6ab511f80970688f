"""Every error flx raises, grouped by what the caller does with it.

    FlxError                      root; .message (what happened), .hint (what to do)
    ├── AbortError                stop the run: nothing else can succeed until a person acts
    │   ├── ConfigError           flx.toml, mapping profile or CLI input is wrong (.problems)
    │   ├── AuthenticationError   the remote refused the credentials
    │   ├── PermissionDeniedError the credentials work but the role may not do this
    │   └── PluginError           no plugin answers, or a plugin misbehaves
    ├── RetryableError            transient: try the same request again later
    │   ├── RateLimitError        the account's concurrency/rate limit was hit
    │   ├── RemoteUnavailableError  the remote answered 5xx
    │   ├── NetworkError          no answer: connect error, reset, timeout before sending
    │   └── OutcomeUnknownError   a write went out, no answer came: reconcile, never resend
    └── RecordError               this record cannot go now; skip it, go on with the others
        ├── RecordValidationError the input record is wrong (.path)
        ├── MappingError          a reference cannot be resolved (unknown SKU, unmapped vendor)
        ├── TemplateError         a template failed to render or rendered invalid JSON/payload
        ├── RemoteRejectedError   the remote refused the record (.code, .detail, .path)
        └── DuplicateError        the record exists remotely and cannot be linked safely

`error_class` is the short name shown in `flx errors` and used to filter retries.
"""

from __future__ import annotations

from typing import Any


class FlxError(Exception):
    """Root of every flx error. `str(err)` is the message plus the hint, ready to print."""

    error_class = "error"
    retryable = False

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"class": self.error_class, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        data["problems"] = list(getattr(self, "problems", None) or [])  # one shape for all
        return data


# --- abort the run ---------------------------------------------------------------------------


class AbortError(FlxError):
    error_class = "abort"


class ConfigError(AbortError):
    """One or more configuration problems; `problems` lists every one ("path: message")."""

    error_class = "config"

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        lines = [self.message] + [f"  - {p}" for p in self.problems]
        if self.hint:
            lines.append(f"  fix: {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": self.problems}


class AuthenticationError(AbortError):
    error_class = "authentication"


class PermissionDeniedError(AbortError):
    error_class = "permission"


class StoreUnavailableError(AbortError):
    """The store could not be reached or lost its connection: the run stops and its records
    stay as they were (reconciled by external id at the next run), never failed."""

    error_class = "store"


class PluginError(AbortError):
    error_class = "plugin"


# --- retry later -----------------------------------------------------------------------------


class RetryableError(FlxError):
    error_class = "transient"
    retryable = True

    def __init__(self, message: str, *, hint: str | None = None,
                 retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, hint=hint, **context)
        self.retry_after = retry_after


class RateLimitError(RetryableError):
    error_class = "rate_limit"


class RemoteUnavailableError(RetryableError):
    error_class = "outage"


class NetworkError(RetryableError):
    error_class = "network"


class OutcomeUnknownError(RetryableError):
    """A write went out and no answer came back. The caller must look the record up (by its
    external id) before it writes again, or it may create a duplicate."""

    error_class = "network"


# --- skip this record ------------------------------------------------------------------------


class RecordError(FlxError):
    error_class = "data"

    def __init__(self, message: str, *, hint: str | None = None, record_id: str | None = None,
                 path: str | None = None, **context: Any) -> None:
        super().__init__(message, hint=hint, **context)
        self.record_id = record_id
        self.path = path

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.path:
            data["path"] = self.path
        return data


class RecordValidationError(RecordError):
    error_class = "data"


class MappingError(RecordError):
    error_class = "reference"


class TemplateError(RecordError):
    error_class = "template"


class RemoteRejectedError(RecordError):
    """The remote system refused the record; `code`/`detail` are its own words."""

    error_class = "rejected"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None,
                 detail: str | None = None, status: int | None = None, **context: Any) -> None:
        super().__init__(message, hint=hint, **context)
        self.code = code
        self.detail = detail
        self.status = status

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        for key in ("code", "detail", "status"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


class DuplicateError(RecordError):
    error_class = "duplicate"


ERROR_CLASSES = sorted({
    c.error_class for c in (
        ConfigError, AuthenticationError, PermissionDeniedError, PluginError, RateLimitError,
        RemoteUnavailableError, NetworkError, RecordValidationError, MappingError, TemplateError,
        RemoteRejectedError, DuplicateError,
    )
})
