"""Store fixtures: every store test runs on a SQLite file and on PostgreSQL.

PostgreSQL is found through FLX_TEST_POSTGRES_URL (default: the project machines' server on
loopback). Each PostgreSQL test gets its own fresh schema, dropped afterwards, so tests never
see each other's rows and several test runs may share the database. When the server does not
answer, the PostgreSQL variants are skipped with the reason, unless FLX_REQUIRE_POSTGRES=1
(CI sets it): then they fail, so a missing server can never pass unnoticed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from flx.store.store import Store

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_url() -> str:
    return os.environ.get("FLX_TEST_POSTGRES_URL") or DEFAULT_PG_URL


def postgres_required() -> bool:
    return os.environ.get("FLX_REQUIRE_POSTGRES", "").strip() not in ("", "0")


def _libpq_url(url: str) -> str:
    """The URL psycopg itself accepts (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The admin URL of the test PostgreSQL server; when it is down, skip (with the reason), or
    fail under FLX_REQUIRE_POSTGRES=1."""
    import psycopg

    url = _pg_url()
    try:
        psycopg.connect(_libpq_url(url), connect_timeout=3).close()
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if postgres_required():
            pytest.fail(f"PostgreSQL at {shown} does not answer ({reason}) and "
                        "FLX_REQUIRE_POSTGRES is set: start the server or unset it",
                        pytrace=False)
        pytest.skip(f"PostgreSQL at {shown} does not answer ({reason}); "
                    "set FLX_TEST_POSTGRES_URL to run these variants")
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A store URL whose search_path is a brand-new schema, dropped after the test."""
    import psycopg

    schema = f"flx_test_{uuid.uuid4().hex[:12]}"
    admin = _libpq_url(postgres_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flx.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened
