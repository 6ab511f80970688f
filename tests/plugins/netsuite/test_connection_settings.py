"""Connection settings: the account ID forms users paste, defaults, and the schema."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from flx.connector import Connector
from flx.errors import ConfigError
from flx.model import Connection
from flx_netsuite.connection import NetSuiteSettings, normalize_account_id

SECRETS = {"client_id": "cid-0a9f8e7d6c", "client_secret": "csec-1b2c3d4e5f",
           "token_id": "tid-6a7b8c9d0e", "token_secret": "tsec-f0e1d2c3b4"}


def settings(**overrides) -> NetSuiteSettings:
    return NetSuiteSettings.from_mapping({"account_id": "1234567", **SECRETS, **overrides},
                                         name="prod")


def schema() -> dict:
    text = resources.files("flx_netsuite").joinpath("schemas/connection.schema.json")
    return json.loads(text.read_text())


@pytest.mark.parametrize(("pasted", "account", "host", "sandbox"), [
    ("1234567", "1234567", "1234567", False),
    (" 1234567 ", "1234567", "1234567", False),
    (1234567, "1234567", "1234567", False),
    ("1234567_SB1", "1234567_SB1", "1234567-sb1", True),
    ("1234567-sb1", "1234567_SB1", "1234567-sb1", True),
    ("1234567_sb1", "1234567_SB1", "1234567-sb1", True),
    ("1234567-SB12", "1234567_SB12", "1234567-sb12", True),
])
def test_pasted_account_ids_are_normalised(pasted, account, host, sandbox):
    s = settings(account_id=pasted)
    assert (s.account_id, s.realm, s.host, s.is_sandbox) == (account, account, host, sandbox)
    assert s.base_url == f"https://{host}.suitetalk.api.netsuite.com"


@pytest.mark.parametrize("bad", ["abc", "1234567_SB", "1234567 SB1", "1234567_XY1",
                                 "1234567.app.netsuite.com", "TSTDRV_x", "12 34"])
def test_other_account_ids_are_refused_with_a_pointer_to_the_right_value(bad):
    with pytest.raises(ConfigError) as caught:
        settings(account_id=bad)
    text = str(caught.value)
    assert "connections.prod.account_id" in text
    assert "Company Information" in text and "1234567_SB1" in text


def test_defaults():
    s = settings()
    assert (s.concurrency, s.timeout) == (5, 60.0)


def test_configured_base_url_wins_over_the_account_host():
    s = settings(base_url="http://127.0.0.1:8765/")
    assert s.base_url == "http://127.0.0.1:8765"
    assert s.realm == "1234567"


def test_every_problem_is_reported_at_once_and_no_secret_value_is_shown():
    raw = {"account_id": "nope", "client_id": "", "client_secret": "${NS_CLIENT_SECRET}",
           "token_id": SECRETS["token_id"], "token_secret": SECRETS["token_secret"],
           "concurrency": 0, "timeout": -1, "base_url": "ftp://x"}
    with pytest.raises(ConfigError) as caught:
        NetSuiteSettings.from_mapping(raw, name="prod")
    problems = "\n".join(caught.value.problems)
    for key in ("account_id", "client_id", "client_secret", "concurrency", "timeout",
                "base_url"):
        assert f"connections.prod.{key}:" in problems
    assert "NS_CLIENT_SECRET is not set" in problems
    for value in SECRETS.values():
        assert value not in str(caught.value)


@pytest.mark.parametrize("concurrency", [0, 101, True, "5", 2.5])
def test_concurrency_must_be_a_whole_number_from_1_to_100(concurrency):
    with pytest.raises(ConfigError, match="concurrency"):
        settings(concurrency=concurrency)


def test_secrets_are_stripped_and_never_in_repr():
    s = settings(client_secret="  csec-1b2c3d4e5f \n")
    assert s.client_secret == "csec-1b2c3d4e5f"
    for value in SECRETS.values():
        assert value not in repr(s)
    assert sorted(s.secrets()) == sorted(SECRETS.values())


def test_from_connection_uses_the_connection_name_in_messages():
    conn = Connection(name="sandbox", plugin="netsuite", settings={"account_id": "x"})
    with pytest.raises(ConfigError) as caught:
        NetSuiteSettings.from_connection(conn)
    assert "connections.sandbox.token_secret" in "\n".join(caught.value.problems)


def test_schema_is_valid_and_marks_exactly_the_four_credentials_secret():
    data = schema()
    jsonschema.Draft202012Validator.check_schema(data)
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    connector = Connector(name="netsuite", connection_schema=data, operations=())
    assert connector.secret_keys == frozenset(SECRETS)
    for name, prop in data["properties"].items():
        assert prop.get("description"), f"{name} has no description"


@pytest.mark.parametrize(("account", "ok"), [
    ("1234567", True), (" 1234567 ", True), ("1234567_SB1", True), ("1234567-sb1", True),
    ("1234567_sb1", True), ("${NS_ACCOUNT}", True), (1234567, True),
    ("abc", False), ("1234567_SB", False), ("1234567_XY1", False),
])
def test_schema_account_pattern_accepts_the_pasted_forms(account, ok):
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors({"account_id": account, **SECRETS}))
    assert (not errors) is ok, [e.message for e in errors]


def test_schema_refuses_unknown_keys_so_typos_are_caught():
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors({"account_id": "1234567", **SECRETS,
                                         "concurency": 3}))
    assert any("concurency" in e.message for e in errors)


@pytest.mark.parametrize(("pasted", "realm", "host"), [
    ("TSTDRV1234567", "TSTDRV1234567", "tstdrv1234567"),
    ("tstdrv1234567", "TSTDRV1234567", "tstdrv1234567"),
    ("1234567_RP1", "1234567_RP1", "1234567-rp1"),
])
def test_test_drive_and_release_preview_accounts_are_accepted(pasted: str, realm: str,
                                                              host: str) -> None:
    account = normalize_account_id(pasted)
    assert account == realm
    assert account.lower().replace("_", "-") == host
