"""The hostile-tenant tests: one real `aqueduct serve` (SQLite file) with the fake upstream behind it, tenants
made through core's tenancy services, and rows written into its database the way the gateway's own usage
writer writes them (or, for rows from before today's caps, as raw inserts)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aqueduct.v1 import org_service_pb2, team_pb2, team_service_pb2
from sqlalchemy import insert

from core.db.engine import create_engine
from core.settings import Settings
from core.usage.events import UsageEvent
from core.usage.recorder import UsageRecorder
from core.usage.retention import RECORDS_TABLE
from tests.integration.governance.conftest import Tenant, governance_config
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ADMIN_TOKEN, Gateway

ADMIN_MD = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="session")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("gw-security")
    db_url = f"sqlite:///{workdir / 'aqueduct.db'}"
    gw = Gateway(governance_config(upstream.url, db_url), workdir)
    gw.db_url = db_url  # type: ignore[attr-defined]
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def new_tenant(gateway: Gateway) -> Tenant:
    org = f"org{uuid.uuid4().hex[:8]}"
    gateway.admin().orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id=org), metadata=ADMIN_MD)
    return Tenant(gateway, org)


def add_member(tenant: Tenant, team: str, email: str) -> None:
    request = team_service_pb2.CreateTeamMemberRequest(
        parent=f"orgs/{tenant.org}/teams/{team}", team_member=team_pb2.TeamMember(user=f"users/{email}")
    )
    tenant.gateway.admin().teams.CreateTeamMember(request, metadata=ADMIN_MD)


def record_events(gateway: Gateway, events: Iterable[UsageEvent]) -> None:
    """Writes events into the gateway's database with the gateway's own usage writer (raw rows and rollups)."""

    async def write() -> None:
        engine = create_engine(gateway.db_url)  # type: ignore[attr-defined]
        recorder = UsageRecorder(engine, Settings())
        try:
            for event in events:
                recorder.record(event)
            assert await recorder.flush()
        finally:
            await engine.dispose()

    asyncio.run(write())


def insert_raw_records(gateway: Gateway, rows: list[dict[str, Any]]) -> None:
    """Rows as written before the recorder capped text (what an upgraded database still holds)."""

    async def write() -> None:
        engine = create_engine(gateway.db_url)  # type: ignore[attr-defined]
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(RECORDS_TABLE), rows)
        finally:
            await engine.dispose()

    asyncio.run(write())
