"""QuickBooks Online's two error shapes.

The accounting service answers `{"Fault": {"Error": [...], "type": ...}}`; the gateway in front
of it (authentication, authorization, throttling) answers the same thing in lower case with the
code wrapped in a `message=...; errorCode=...` string. Clients must read both."""

from __future__ import annotations

from typing import Any


class QboFault(Exception):
    """A fault of the accounting service (HTTP 400 unless said otherwise)."""

    def __init__(self, code: str, message: str, detail: str = "", *, element: str = "",
                 kind: str = "ValidationFault", status: int = 400) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code, self.message, self.detail = code, message, detail
        self.element, self.kind, self.status = element, kind, status

    def body(self, time: str) -> dict[str, Any]:
        error: dict[str, Any] = {"Message": self.message, "Detail": self.detail,
                                 "code": self.code}
        if self.element:
            error["element"] = self.element
        return {"Fault": {"Error": [error], "type": self.kind}, "time": time}


class GatewayError(Exception):
    """An answer of the gateway: 401, 403, 429 in the lower-case envelope."""

    def __init__(self, status: int, name: str, code: str, kind: str, detail: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {name}")
        self.status, self.name, self.code, self.kind = status, name, code, kind
        self.detail = detail or name
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        message = f"message={self.name}; errorCode={self.code.zfill(6)}; statusCode={self.status}"
        return {"fault": {"error": [{"message": message, "detail": self.detail,
                                     "code": self.code}], "type": self.kind}}


def authentication_failed(detail: str) -> GatewayError:
    return GatewayError(401, "AuthenticationFailed", "3200", "AUTHENTICATION", detail)


def authorization_failed(detail: str) -> GatewayError:
    return GatewayError(403, "AuthorizationFailed", "3100", "AUTHORIZATION", detail)


def throttled(detail: str, retry_after: int | None) -> GatewayError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return GatewayError(429, "ThrottleExceeded", "3001", "SERVICE", detail, headers)


def not_found(entity: str, ident: str) -> QboFault:
    return QboFault("610", "Object Not Found",
                    f"Object Not Found : Something you're trying to use has been made inactive "
                    f"or deleted. {entity} Id={ident}", element=f"{entity}Ref")


def required(element: str) -> QboFault:
    return QboFault("2020", "Required param missing, need to supply the required value for the "
                    "API", f"Required parameter {element} is missing in the request",
                    element=element)


def invalid(element: str, detail: str) -> QboFault:
    return QboFault("2050", "Invalid String Length or value", detail, element=element)
