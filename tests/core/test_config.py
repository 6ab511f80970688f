import json
import os
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from flx.config.load import Config, load_config, toml_path
from flx.connector import Connector
from flx.errors import ConfigError
from flx.plugins import build_plugins, hookimpl

SCHEMA = {
    "type": "object",
    "required": ["account_id", "token_secret"],
    "additionalProperties": False,
    "properties": {
        "account_id": {"type": "string", "pattern": "^[0-9]+(_SB[0-9]+)?$",
                       "examples": ["1234567", "1234567_SB1"]},
        "token_secret": {"type": "string", "minLength": 12, "x-secret": True},
        "concurrency": {"type": "integer", "minimum": 1, "default": 5},
        "base_url": {"type": "string"},
    },
}


class FakeBooks:
    @hookimpl
    def register_connectors(self, register):
        register(Connector(name="fakebooks", connection_schema=SCHEMA,
                           operations=("send-orders", "send-shipments"),
                           # Operation keys of its own must be declared to be accepted.
                           extra={"operation_schema": {"properties": {
                               "shop_option": {"type": "string"}}}}))


@pytest.fixture
def plugins():
    return build_plugins(FakeBooks(), autoload=False)


def write(tmp_path: Path, text: str, mode: int = 0o600, name: str = "flx.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


GOOD = """
[connections.prod]
plugin = "fakebooks"
account_id = "1234567_SB1"
token_secret = "${FB_TOKEN_SECRET}"

[connections.prod.operations.send-orders]
channels = ["shopify"]
shop_option = "kept for the plugin"

[connections.prod.operations.send-shipments]
enabled = false
"""
ENV = {"FB_TOKEN_SECRET": "tok-secret-value-123"}


def problems_of(excinfo) -> str:
    return "\n".join(excinfo.value.problems)


def test_schema_file_is_a_valid_draft_2020_12_schema():
    text = resources.files("flx.schemas").joinpath("config.schema.json").read_text()
    Draft202012Validator.check_schema(json.loads(text))


def test_valid_file_loads_with_values_resolved_and_defaults_filled(tmp_path, plugins):
    cfg = load_config(write(tmp_path, GOOD), plugins=plugins, env=ENV)
    assert isinstance(cfg, Config)
    assert cfg.store_url == f"sqlite:///{tmp_path / 'flx.db'}"  # relative to the file, not cwd
    conn = cfg.connection("prod")
    assert conn.plugin == "fakebooks"
    assert conn.settings == {"account_id": "1234567_SB1", "token_secret": "tok-secret-value-123",
                             "concurrency": 5}
    assert conn.secret_keys == {"token_secret"}
    assert conn.redacted()["token_secret"] == "********"
    orders = cfg.operation_settings("prod", "send-orders")
    assert orders == {"enabled": True, "mapping": "default", "channels": ["shopify"],
                      "sources": [], "link_existing": True, "batch_size": 250,
                      "shop_option": "kept for the plugin"}
    assert cfg.operation_settings(conn, "send-shipments") is None  # enabled = false
    assert cfg.operation_settings("prod", "send-vendor-bills") is None  # no table
    assert cfg.raw["connections"]["prod"]["token_secret"] == "${FB_TOKEN_SECRET}"
    assert "tok-secret-value-123" in cfg.secrets()


def test_search_order_is_explicit_path_then_env_then_current_folder(tmp_path, plugins,
                                                                    monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    explicit = write(tmp_path / "a", GOOD)
    from_env = write(tmp_path / "b", GOOD)
    here = write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    env = {**ENV, "FLX_CONFIG": str(from_env)}
    assert load_config(explicit, plugins=plugins, env=env).path == explicit.resolve()
    assert load_config(None, plugins=plugins, env=env).path == from_env.resolve()
    assert load_config(None, plugins=plugins, env=ENV).path == here.resolve()


def test_no_file_anywhere_names_the_three_places_and_flx_init(tmp_path, plugins, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as excinfo:
        load_config(None, plugins=plugins, env={})
    text = str(excinfo.value)
    assert "--config" in text and "$FLX_CONFIG" in text and "./flx.toml" in text
    assert "flx init" in text


def test_named_file_that_does_not_exist_is_named(tmp_path, plugins):
    with pytest.raises(ConfigError, match="nope.toml.*does not exist"):
        load_config(tmp_path / "nope.toml", plugins=plugins, env={})


def test_toml_syntax_error_gives_line_and_column(tmp_path, plugins):
    path = write(tmp_path, '[store]\nurl = "sqlite:///x.db"\nbroken line\n')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env={})
    assert "line 3, column" in str(excinfo.value)


def test_every_problem_is_reported_at_once_with_its_toml_path(tmp_path, plugins):
    path = write(tmp_path, """
[stor]
url = "sqlite:///x.db"

[connections.prod]
plugin = "fakebooks"
account_id = "12-34"
token_secret = "${FB_TOKEN_SECRET}"
concurency = 3

[connections.prod.operations.send-orders]
enabled = "yes"
batch_size = 0
channels = "shopify"

[connections.prod.operations.send-vendor-bills]

[connections.prod.operations.send-order]

[connections.other]
plugin = "fakebook"

[connections.third]
account_id = "1"
""")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env=ENV)
    text = problems_of(excinfo)
    expected = [
        "(top level): unknown key 'stor' (did you mean 'store'?)",
        "connections.prod.account_id: '12-34' is not in the expected form (for example: "
        "1234567, 1234567_SB1)",
        "connections.prod: unknown key 'concurency' (did you mean 'concurrency'?)",
        "connections.prod.operations.send-orders.enabled: 'yes' is not of type 'boolean'",
        "connections.prod.operations.send-orders.batch_size: 0 is less than the minimum of 1",
        "connections.prod.operations.send-orders.channels: 'shopify' is not of type 'array'",
        "connections.prod.operations.send-vendor-bills: the 'fakebooks' plugin does not "
        "provide 'send-vendor-bills'",
        "connections.prod.operations: 'send-order' is not one of ['send-orders',",
        "connections.other.plugin: no installed plugin provides 'fakebook' (installed: "
        "fakebooks); did you mean 'fakebooks'?",
        "connections.third: 'plugin' is a required property",
    ]
    for line in expected:
        assert line in text
    assert len(excinfo.value.problems) == len(expected)
    assert str(path) in excinfo.value.message and "10 problems" in excinfo.value.message


def test_missing_environment_variable_names_path_and_variable(tmp_path, plugins):
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env={})
    assert excinfo.value.problems == [
        "connections.prod.token_secret: environment variable FB_TOKEN_SECRET is not set"]
    assert "minLength" not in str(excinfo.value)  # no follow-on schema noise for that key


def test_lenient_load_keeps_going_but_the_connection_refuses_use(tmp_path, plugins):
    cfg = load_config(write(tmp_path, GOOD), plugins=plugins, env={}, strict_env=False)
    assert cfg.connections["prod"].settings["token_secret"] is None
    with pytest.raises(ConfigError) as excinfo:
        cfg.connection("prod")
    assert "FB_TOKEN_SECRET" in str(excinfo.value)


def test_interpolation_escape_and_bad_reference(tmp_path, plugins):
    path = write(tmp_path, GOOD.replace('account_id = "1234567_SB1"',
                                        'account_id = "${ACCOUNT}"\nbase_url = "a$${b}c $ d"'))
    cfg = load_config(path, plugins=plugins, env={**ENV, "ACCOUNT": "42"})
    assert cfg.connection("prod").settings["account_id"] == "42"
    assert cfg.connection("prod").settings["base_url"] == "a${b}c $ d"
    bad = write(tmp_path, GOOD.replace('"1234567_SB1"', '"${1X}"'), name="bad.toml")
    with pytest.raises(ConfigError, match="not a valid variable reference"):
        load_config(bad, plugins=plugins, env=ENV)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_literal_secret_in_a_readable_file_is_refused_with_the_fix(tmp_path, plugins):
    literal = GOOD.replace('"${FB_TOKEN_SECRET}"', '"literal-secret-xyz"')
    path = write(tmp_path, literal, mode=0o644)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env={})
    text = str(excinfo.value)
    assert "connections.prod.token_secret" in text
    assert "chmod 600 flx.toml" in text and "${PROD_TOKEN_SECRET}" in text
    assert "literal-secret-xyz" not in text
    os.chmod(path, 0o600)
    assert load_config(path, plugins=plugins, env={}).connection("prod").settings[
        "token_secret"] == "literal-secret-xyz"
    # A ${VAR} secret is fine in a readable file: the file holds no secret.
    assert load_config(write(tmp_path, GOOD, mode=0o644, name="ok.toml"),
                       plugins=plugins, env=ENV).connection("prod")


def test_a_secret_value_is_never_quoted_in_a_problem(tmp_path, plugins):
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env={"FB_TOKEN_SECRET": "short-sec"})
    text = str(excinfo.value)
    assert "connections.prod.token_secret: '********' is too short" in text
    assert "short-sec" not in text


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_store_url_password_is_a_secret(tmp_path, plugins):
    text = '[store]\nurl = "postgresql://flx:${PGPW}@db.example/flx"\n'
    cfg = load_config(write(tmp_path, text, mode=0o644), plugins=plugins, env={"PGPW": "pg-pass-1"})
    assert cfg.store_url == "postgresql://flx:pg-pass-1@db.example/flx"
    assert "pg-pass-1" in cfg.secrets()
    literal = write(tmp_path, '[store]\nurl = "postgresql://flx:pw-lit-1@db/flx"\n', mode=0o640,
                    name="lit.toml")
    with pytest.raises(ConfigError) as excinfo:
        load_config(literal, plugins=plugins, env={})
    assert "store.url: a secret is written" in str(excinfo.value)
    assert "pw-lit-1" not in str(excinfo.value)


def test_absolute_and_memory_sqlite_urls_are_kept(tmp_path, plugins):
    absolute = write(tmp_path, f'[store]\nurl = "sqlite:///{tmp_path}/data/x.db"\n')
    assert load_config(absolute, plugins=plugins, env={}).store_url == \
        f"sqlite:///{tmp_path}/data/x.db"
    memory = write(tmp_path, '[store]\nurl = "sqlite:///:memory:"\n', name="m.toml")
    assert load_config(memory, plugins=plugins, env={}).store_url == "sqlite:///:memory:"


def test_unknown_connection_lists_known_names_and_suggests(tmp_path, plugins):
    cfg = load_config(write(tmp_path, GOOD), plugins=plugins, env=ENV)
    with pytest.raises(ConfigError) as excinfo:
        cfg.connection("prd")
    assert "known connections: prod" in str(excinfo.value)
    assert "did you mean 'prod'" in str(excinfo.value)


def test_toml_path_quotes_keys_that_need_it():
    assert toml_path(["connections", "my shop", "channels", 2]) == \
        'connections."my shop".channels[2]'
    assert toml_path([]) == "(top level)"


def test_tables_of_the_wrong_type_are_problems_not_crashes(tmp_path, plugins):
    path = write(tmp_path, 'store = "sqlite:///x.db"\nalerts = ["x"]\nconnections = 5\n')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env={})
    assert excinfo.value.problems == ["alerts: ['x'] is not of type 'object'",
                                      "connections: 5 is not of type 'object'",
                                      "store: 'sqlite:///x.db' is not of type 'object'"]


# --- operation tables: typos, cadences and mapping profiles are checked at load --------------


OPS = """
[connections.prod]
plugin = "fakebooks"
account_id = "1234567"
token_secret = "${FB_TOKEN_SECRET}"

[connections.prod.operations.send-orders]
%s
"""


def test_typos_in_an_operation_table_are_problems_with_a_suggestion(tmp_path, plugins):
    path = write(tmp_path, OPS % 'maping = "acme.json"\nchanels = ["shopify"]\nfoo = 1')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env=ENV)
    assert excinfo.value.problems == [
        "connections.prod.operations.send-orders: unknown key 'chanels' (did you mean "
        "'channels'?)",
        "connections.prod.operations.send-orders: unknown key 'foo' (known keys: enabled, "
        "mapping, channels, sources, link_existing, schedule, batch_size, shop_option)",
        "connections.prod.operations.send-orders: unknown key 'maping' (did you mean "
        "'mapping'?)",
    ]


def test_keys_a_connector_declares_are_accepted_and_checked(tmp_path, plugins):
    cfg = load_config(write(tmp_path, OPS % 'shop_option = "x"'), plugins=plugins, env=ENV)
    assert cfg.operation_settings("prod", "send-orders")["shop_option"] == "x"
    bad = write(tmp_path, OPS % "shop_option = 5", name="bad.toml")
    with pytest.raises(ConfigError) as excinfo:
        load_config(bad, plugins=plugins, env=ENV)
    assert excinfo.value.problems == [
        "connections.prod.operations.send-orders.shop_option: 5 is not of type 'string'"]


def test_a_cadence_flx_cannot_read_is_a_config_problem(tmp_path, plugins):
    path = write(tmp_path, OPS % 'schedule = "every fortnight"\nbatch_size = 0')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env=ENV)
    problems = excinfo.value.problems
    assert len(problems) == 2  # reported together with the other problems
    assert "connections.prod.operations.send-orders.batch_size: 0 is less than" in problems[0]
    assert problems[1].startswith("connections.prod.operations.send-orders.schedule: "
                                  "'every fortnight' is not a cadence; write \"every 30 "
                                  "minutes\"")


def test_a_mapping_that_names_no_profile_is_a_config_problem(tmp_path, plugins, monkeypatch):
    for value, expected in [
        ("defualt", "'defualt' is not a mapping profile the 'fakebooks' connector ships "
                    "(shipped: none) nor a file"),
        ("clients/acme.json", f"mapping profile file {tmp_path / 'clients/acme.json'} does "
                              "not exist (a relative path is read from the folder of flx.toml)"),
    ]:
        path = write(tmp_path, OPS % f'mapping = "{value}"')
        with pytest.raises(ConfigError) as excinfo:
            load_config(path, plugins=plugins, env=ENV)
        assert excinfo.value.problems == [
            f"connections.prod.operations.send-orders.mapping: {expected}"
            + ("; a profile of your own is a path ending in .json" if value == "defualt"
               else "")]
    # A relative path is read from the config file's folder, wherever flx was started.
    (tmp_path / "clients").mkdir()
    (tmp_path / "clients" / "acme.json").write_text("{}")
    monkeypatch.chdir(tmp_path.parent)
    cfg = load_config(write(tmp_path, OPS % 'mapping = "clients/acme.json"'), plugins=plugins,
                      env=ENV)
    assert cfg.operation_settings("prod", "send-orders")["mapping"] == "clients/acme.json"
    # "default" needs no shipped file: the connector's defaults are used.
    assert load_config(write(tmp_path, OPS % 'mapping = "default"'), plugins=plugins, env=ENV)


def test_a_bad_reference_in_a_secret_is_shown_and_reported_once(tmp_path, plugins):
    path = write(tmp_path, GOOD.replace('"${FB_TOKEN_SECRET}"', '"${1X}"'), mode=0o644)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env=ENV)
    # A ${...} reference holds a variable name, not a secret: no '********' in its place.
    assert excinfo.value.problems == [
        "connections.prod.token_secret: '${1X}' is not a valid variable reference (write "
        "${NAME} with letters, digits and _, or $${ for a literal ${)"]

    path = write(tmp_path, GOOD.replace('"${FB_TOKEN_SECRET}"', '"${FB_TOKEN_SECRET"'),
                 mode=0o644, name="unclosed.toml")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, plugins=plugins, env=ENV)
    # Once, as what it is; not also as a literal secret in a world-readable file.
    assert excinfo.value.problems == [
        "connections.prod.token_secret: '${FB_TOKEN_SECRET' is missing its closing '}' "
        "(write ${FB_TOKEN_SECRET})"]
