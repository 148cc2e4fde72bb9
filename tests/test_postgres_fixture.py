"""The throwaway PostgreSQL server of tests/fixtures/postgres.py works: connect, query, fresh databases."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres


def _dsn(url: str) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port} user={u.username} dbname={u.database}"


def test_select_one(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://vms@127.0.0.1:")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
            version = conn.execute(text("show server_version_num")).scalar_one()
            assert int(version) // 10000 == 15
            # UTF-8 with a Unicode-aware ctype: Chinese text round-trips and upper() works beyond ASCII
            assert conn.execute(text("select :s"), {"s": "集装箱查验"}).scalar_one() == "集装箱查验"
            assert conn.execute(text("select upper('ä')")).scalar_one() == "Ä"
    finally:
        engine.dispose()


def test_fresh_databases_are_isolated(fresh_postgres_database: Callable[..., str]) -> None:
    a = fresh_postgres_database("isolation a")
    b = fresh_postgres_database("isolation a")
    assert a != b
    with psycopg.connect(_dsn(a), autocommit=True) as conn:
        conn.execute("create table t (x int)")
        conn.execute("insert into t values (42)")
        assert conn.execute("select x from t").fetchone() == (42,)
    with psycopg.connect(_dsn(b), autocommit=True) as conn:
        exists = conn.execute("select to_regclass('public.t')").fetchone()
        assert exists == (None,)


def test_module_database(postgres_module_url: str, postgres_url: str) -> None:
    name = make_url(postgres_module_url).database
    assert name is not None and name.startswith("test_postgres_fixture_")
    assert name != make_url(postgres_url).database
    with psycopg.connect(_dsn(postgres_module_url)) as conn:
        assert conn.execute("select current_database()").fetchone() == (name,)
