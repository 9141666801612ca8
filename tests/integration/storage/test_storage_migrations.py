"""Migrations: upgrade from empty on both backends, idempotence, concurrent starts, and no drift between the
models and the migrations (an autogenerate diff must be empty)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from core.db.migrate import alembic_config, current_revision, upgrade
from core.db.tables import metadata
from core.db.urls import sync_url
from tests.support.databases import fresh_postgres_database, postgres_url_or_skip

EXPECTED_TABLES = {"orgs", "users", "teams", "team_members", "service_accounts", "api_tokens", "usage_records"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/not/yet/there/aqueduct.db"
        return
    with fresh_postgres_database(postgres_url_or_skip()) as url:
        yield url


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_chain_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def test_upgrade_from_empty_is_idempotent_and_matches_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)  # a restart: nothing to do
    assert current_revision(empty_database_url) == _head()
    engine = create_engine(sync_url(empty_database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) >= EXPECTED_TABLES
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
        with engine.connect() as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("usage_records")}
        assert {
            "ix_usage_records_created_at",
            "ix_usage_records_token_id_created_at",
            "ix_usage_records_org_id_created_at",
            "ix_usage_records_user_id_created_at",
        } <= indexes
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_replicas_starting_at_once_migrate_once() -> None:
    with fresh_postgres_database(postgres_url_or_skip()) as url:
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def replica() -> None:
            start.wait()
            try:
                upgrade(url)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=replica) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert current_revision(url) == _head()


def test_processes_sharing_a_sqlite_file_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def replica() -> None:
        start.wait()
        try:
            upgrade(url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert current_revision(url) == _head()
