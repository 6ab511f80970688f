"""NetSuite-shaped errors. Every refusal the emulator makes travels as an `NsError` and leaves
as NetSuite's error document, so flx's error parsing is exercised exactly as in production."""

from __future__ import annotations

from typing import Any

ERROR_CONTENT_TYPE = "application/vnd.oracle.resource+json; type=error"

_TYPES = {
    400: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "Bad Request"),
    401: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2", "Unauthorized"),
    404: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5", "Not Found"),
    405: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6", "Method Not Allowed"),
    415: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.16",
          "Unsupported Media Type"),
    429: ("https://www.rfc-editor.org/rfc/rfc6585.html#section-4", "Too Many Requests"),
    500: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1", "Internal Server Error"),
    503: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4", "Service Unavailable"),
}

LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)
CONCURRENCY_DETAIL = "Concurrent request limit exceeded. Request blocked."
NONEXISTENT_ID_DETAIL = "The record instance does not exist. Provide a valid record instance ID."


class NsError(Exception):
    """One NetSuite error answer. `path` is the JSON path into the request body (o:errorPath);
    `header`/`query_param` name the offending header or query parameter when that is the cause."""

    def __init__(self, status: int, code: str, detail: str, *, path: str | None = None,
                 header: str | None = None, query_param: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.header = header
        self.query_param = query_param

    def body(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"detail": self.detail, "o:errorCode": self.code}
        if self.path is not None:
            entry["o:errorPath"] = self.path
        if self.header is not None:
            entry["o:errorHeader"] = self.header
        if self.query_param is not None:
            entry["o:errorQueryParam"] = self.query_param
        type_url, title = _TYPES.get(self.status, _TYPES[400])
        return {"type": type_url, "title": title, "status": self.status,
                "o:errorDetails": [entry]}


def user_error(detail: str, path: str | None = None) -> NsError:
    return NsError(400, "USER_ERROR", detail, path=path)


def invalid_ref(value: object, field: str, path: str) -> NsError:
    # NetSuite names the field by its lowercase internal id in this message.
    return NsError(400, "INVALID_KEY_OR_REF",
                   f"Invalid Field Value {value} for the following field: {field.lower()}",
                   path=path)


def invalid_value(value: object, field: str, path: str, why: str = "") -> NsError:
    detail = f"You have entered an Invalid Field Value {value} for the following field: {field}"
    return NsError(400, "INVALID_FIELD_VALUE", detail + (f" ({why})" if why else ""), path=path)


def missing_fields(labels: list[str], path: str | None = None) -> NsError:
    return NsError(400, "USER_ERROR", "Please enter value(s) for: " + ", ".join(labels),
                   path=path)


def nonexistent_field(name: str, path: str) -> NsError:
    return NsError(400, "NONEXISTENT_FIELD",
                   f"Unknown field name {name}. The field does not exist on this record "
                   "instance.", path=path)


def read_only_field(name: str, path: str) -> NsError:
    return NsError(400, "USER_ERROR",
                   f"The field {name} is read-only and cannot be set in a request body.",
                   path=path)


def not_found() -> NsError:
    return NsError(404, "NONEXISTENT_ID", NONEXISTENT_ID_DETAIL)


def invalid_login() -> NsError:
    return NsError(401, "INVALID_LOGIN", LOGIN_DETAIL)


def concurrency_exceeded() -> NsError:
    return NsError(429, "CONCURRENCY_LIMIT_EXCEEDED", CONCURRENCY_DETAIL)


def invalid_parameter(detail: str, *, query_param: str | None = None,
                      header: str | None = None, path: str | None = None) -> NsError:
    return NsError(400, "INVALID_PARAMETER", detail, query_param=query_param, header=header,
                   path=path)
