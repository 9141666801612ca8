"""The hostile-tenant tests: one real `aqueduct serve` (SQLite file) with the fake upstream behind it, tenants
made through core's tenancy services, and rows written into its database the way the gateway's own usage
writer writes them (or, for rows from before today's caps, as raw inserts)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

from aqueduct.v1 import org_service_pb2, team_pb2, team_service_pb2
from sqlalchemy import insert

from core.db.engine import create_engine
from core.settings import Settings
from core.usage.events import UsageEvent
from core.usage.recorder import UsageRecorder
from core.usage.retention import RECORDS_TABLE

# The governance tests' fake upstream and gateway (SQLite, no Redis), as fixtures of these tests too.
from tests.integration.governance.conftest import Tenant, gateway, upstream
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
