"""Handshake-era MCP sessions, kept in the database so any replica continues a session another one opened.

The client holds a random id; the table holds its SHA-256, the token and server it is bound to, and the
upstream's own session id (never shown to the client). A session used with another token or on another
server is NOT_FOUND exactly like an unknown one; so is one idle for longer than the idle timeout (deleted on
sight, and swept when sessions are opened). `last_used_at` is written at most once per touch interval, so a
busy session costs one indexed read per request, not a write."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.tables import McpSessionRow
from core.db.types import utcnow
from core.errors import NotFound

_TABLE = McpSessionRow.metadata.tables["mcp_sessions"]
# Longest a session id may be (the MCP transport allows visible ASCII; ours are 43 characters).
MAX_SESSION_ID_LENGTH = 128


@dataclass(frozen=True, slots=True)
class McpSession:
    digest: str
    server: str
    token_id: str
    upstream_session_id: str | None
    protocol_version: str | None


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_not_found() -> NotFound:
    return NotFound("Session not found: it is unknown, has expired or was deleted. Start a new session.")


class SessionStore:
    def __init__(self, engine: AsyncEngine, idle_timeout_seconds: float) -> None:
        self._engine = engine
        self._idle = timedelta(seconds=idle_timeout_seconds)
        self._touch_interval = min(timedelta(seconds=60), self._idle / 10)

    async def create(
        self, server: str, token_id: str, upstream_session_id: str | None, protocol_version: str | None
    ) -> str:
        """A new session id for the client (only its digest is stored)."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._engine.begin() as conn:
            await conn.execute(delete(_TABLE).where(_TABLE.c.last_used_at < now - self._idle))
            await conn.execute(
                _TABLE.insert().values(
                    id=_digest(session_id),
                    server=server,
                    token_id=token_id,
                    upstream_session_id=upstream_session_id,
                    protocol_version=protocol_version,
                    created_at=now,
                    last_used_at=now,
                )
            )
        return session_id

    async def get(self, session_id: str, server: str, token_id: str) -> McpSession:
        """The live session for this token on this server, else NotFound."""
        if not session_id or len(session_id) > MAX_SESSION_ID_LENGTH:
            raise session_not_found()
        digest = _digest(session_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(_TABLE).where(_TABLE.c.id == digest))).first()
        if row is None or row.server != server or row.token_id != token_id:
            raise session_not_found()
        now = utcnow()
        last_used: datetime = row.last_used_at
        if last_used < now - self._idle:
            async with self._engine.begin() as conn:
                await conn.execute(delete(_TABLE).where(_TABLE.c.id == digest))
            raise session_not_found()
        if now - last_used >= self._touch_interval:
            async with self._engine.begin() as conn:
                await conn.execute(update(_TABLE).where(_TABLE.c.id == digest).values(last_used_at=now))
        return McpSession(digest, row.server, row.token_id, row.upstream_session_id, row.protocol_version)

    async def delete(self, session: McpSession) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(_TABLE).where(_TABLE.c.id == session.digest))

    async def open_sessions(self, server: str) -> tuple[int, list[str]]:
        """(sessions open on `server`, their protocol versions newest first)."""
        live = (_TABLE.c.server == server, _TABLE.c.last_used_at >= utcnow() - self._idle)
        async with self._engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(_TABLE).where(*live))).scalar_one()
            versions = (await conn.execute(select(_TABLE.c.protocol_version).where(*live).distinct())).scalars()
            found = sorted({v for v in versions if v}, reverse=True)
        return int(count), found
