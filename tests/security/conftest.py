"""The hardening tests (issue 16): real `aqueduct serve` processes with the fake upstream behind them, tenants made
through core's tenancy services, and usage rows written into a gateway's database the way its own usage writer
writes them (or, for rows from before today's caps, as raw inserts)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from aqueduct.v1 import org_service_pb2, team_pb2, team_service_pb2
from sqlalchemy import insert

from core.db.engine import create_engine
from core.settings import Settings
from core.usage.events import UsageEvent
from core.usage.recorder import UsageRecorder
from core.usage.retention import RECORDS_TABLE

# The governance tests' fake upstream and gateway (SQLite, no Redis), as fixtures of these tests too.
from tests.integration.governance.conftest import Tenant, gateway, governance_config, upstream
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ADMIN_TOKEN, Gateway

__all__ = ["gateway", "upstream"]

ADMIN_MD = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


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


@pytest.fixture(scope="module")
def fake_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def start_gateway(
    upstream: FakeUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    env: dict[str, str] | None = None,
    **settings: Any,
) -> Gateway:
    """A gateway on its own SQLite file (stop it); `settings` go into its config file."""
    workdir = tmp_path_factory.mktemp(name)
    db_url = f"sqlite:///{workdir / 'aqueduct.db'}"
    gw = Gateway(governance_config(upstream.url, db_url, **settings), workdir, env=env)
    gw.db_url = db_url  # type: ignore[attr-defined]
    return gw.start()


def fresh_user_token(gw: Gateway) -> str:
    return gw.create_user_token("sec", f"u{uuid.uuid4().hex[:10]}@example.com")
