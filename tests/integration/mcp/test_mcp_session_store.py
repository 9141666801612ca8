"""The session store on SQLite and PostgreSQL: binding, expiry after the idle timeout, deletion, counts."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import NotFound
from core.mcp.sessions import SessionStore
from tests.support.migrated_db import database_url, engine, postgres_session_url, sqlite_template
from tests.support.waiting import async_wait_until

__all__ = ["database_url", "engine", "postgres_session_url", "sqlite_template"]


async def test_sessions_bind_expire_and_delete(engine: AsyncEngine) -> None:
    store = SessionStore(engine, idle_timeout_seconds=0.5)
    sid = await store.create("ev", "tok1", "upstream-1", "2025-11-25")
    session = await store.get(sid, "ev", "tok1")
    assert (session.upstream_session_id, session.protocol_version) == ("upstream-1", "2025-11-25")
    for server, token, given in (
        ("ev", "tok2", sid),
        ("other", "tok1", sid),
        ("ev", "tok1", "x" * 200),
        ("ev", "tok1", ""),
    ):
        with pytest.raises(NotFound):
            await store.get(given, server, token)
    assert await store.open_sessions("ev") == (1, ["2025-11-25"])

    async def idle_long_enough() -> bool:
        # open_sessions does not touch the session (a get would: the timeout counts from the last use).
        return (await store.open_sessions("ev"))[0] == 0

    await async_wait_until(idle_long_enough, within=5, interval=0.1, what="the session to expire")
    with pytest.raises(NotFound):
        await store.get(sid, "ev", "tok1")
    assert await store.open_sessions("ev") == (0, [])
    other = await store.create("ev", "tok1", None, None)
    await store.delete(await store.get(other, "ev", "tok1"))
    with pytest.raises(NotFound):
        await store.get(other, "ev", "tok1")
