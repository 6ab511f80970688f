"""`account_concurrency`: the account's limit shared by every worker of a PostgreSQL store,
optional, checked like `concurrency`, and what reaches the shared budget."""

from __future__ import annotations

import pytest

from flx.errors import ConfigError
from flx_netsuite.connection import NetSuiteSettings

SECRETS = {"client_id": "a", "client_secret": "b", "token_id": "c", "token_secret": "d"}


def _settings(**overrides: object) -> NetSuiteSettings:
    return NetSuiteSettings.from_mapping({"account_id": "1234567", **SECRETS, **overrides},
                                         name="prod")


def test_it_is_optional_and_kept_apart_from_the_local_concurrency() -> None:
    assert _settings().account_concurrency is None
    both = _settings(concurrency=10, account_concurrency=4)
    assert (both.concurrency, both.account_concurrency) == (10, 4)


@pytest.mark.parametrize("bad", [0, 101, "5", 2.5, True])
def test_a_bad_value_names_the_key(bad: object) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(account_concurrency=bad)
    assert any("connections.prod.account_concurrency" in p for p in caught.value.problems)
