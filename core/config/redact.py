"""Keep secrets out of everything flx prints, logs or stores.

A `Redactor` knows the secret values of the loaded configuration and replaces each of them,
wherever it appears, with `********`. It also catches the forms a secret takes on its way
through HTTP: percent-encoded (as in an OAuth header or a query string, upper- or lowercase
hex), form-encoded (`+` for space) and JSON-escaped.

Secrets shorter than `MIN_SECRET_LENGTH` (4) characters are NOT redacted: masking every "1" or
"ab" in the output would destroy it, and a secret that short protects nothing anyway.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_SECRET_LENGTH = 4

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor", "RedactingFilter", "install_log_redaction"]


def _variants(secret: str) -> set[str]:
    """The secret as it may appear in text: raw, URL-encoded and JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret, safe="/"), quote_plus(secret)}
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=True)[1:-1])
    # Some encoders write lowercase hex (%2f); match those too.
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(forms)}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces known secret values with `********` in text and in nested data."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Learn more secrets (e.g. a token obtained at run time)."""
        for secret in secrets:
            if secret is not None and len(str(secret)) >= MIN_SECRET_LENGTH:
                self._secrets.add(str(secret))
        forms: set[str] = set()
        for secret in self._secrets:
            forms |= _variants(secret)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(forms, key=lambda f: (-len(f), f))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, s: str) -> str:
        if self._pattern is None or not s:
            return s
        return self._pattern.sub(MASK, s)

    def data(self, obj: Any) -> Any:
        """A copy of `obj` (dicts, lists, tuples, strings, nested) with secrets masked."""
        if self._pattern is None:
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.data(k): self.data(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.data(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.data(v) for v in obj)
        return obj


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message, its arguments and the traceback.

    Attach it to a *handler* to cover records from child loggers too (`flx.netsuite`...):
    a filter on a logger only sees records logged on that very logger."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor:
            return True
        # Format once and drop the args: a secret may hide in any of them.
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True


def install_log_redaction(redactor: Redactor,
                          logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach a RedactingFilter to the `flx` logger and each of its handlers (once)."""
    logger = logger or logging.getLogger("flx")
    for target in [logger, *logger.handlers]:
        for existing in target.filters:
            if isinstance(existing, RedactingFilter):
                target.removeFilter(existing)
    flt = RedactingFilter(redactor)
    logger.addFilter(flt)
    for handler in logger.handlers:
        handler.addFilter(flt)
    return flt
