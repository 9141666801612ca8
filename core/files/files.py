"""The files domain: upload (streamed to storage), metadata, listing, content, deletion and expiry.

Ownership and visibility are asked of core.governance.authorization; rows are written only after their bytes
are stored, so a file that can be seen can always be read."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from core.auth.principal import Principal
from core.db.tables import FileRow
from core.db.types import utcnow
from core.errors import InvalidRequest
from core.files.model import (
    EXPIRY_ANCHOR,
    MAX_EXPIRY_SECONDS,
    MAX_FILENAME_CHARS,
    MIN_EXPIRY_SECONDS,
    UPLOAD_PURPOSES,
    FileView,
    new_file_id,
)
from core.files.owners import owner_names
from core.files.storage import FileStorage
from core.governance.authorization import not_found, owner_of_new, require_list_all, require_owned
from core.pagination import Page, paginate
from core.settings import Settings

log = logging.getLogger("aqueduct.core.files")

_FILES = FileRow.__table__  # type: ignore[attr-defined]
_ORDERS = ("", "asc", "desc")


@dataclass(frozen=True, slots=True)
class UploadMeta:
    filename: str
    purpose: str
    expires_after_anchor: str
    expires_after_seconds: int | None
    declared_bytes: int


@dataclass(frozen=True, slots=True)
class Owner:
    org_id: str | None
    user_id: str | None
    team_id: str | None


def _filename(raw: str) -> str:
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise InvalidRequest("The file must have a file name.", field="file")
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidRequest(f"The file name is longer than {MAX_FILENAME_CHARS} characters.", field="file")
    return name


class Files:
    def __init__(self, engine: AsyncEngine, storage: FileStorage, settings: Settings) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._storage = storage
        self._settings = settings

    def sessions(self) -> AsyncSession:
        return self._sessions()

    @property
    def storage(self) -> FileStorage:
        return self._storage

    def size_limit(self, purpose: str) -> int:
        limit = self._settings.max_file_bytes
        return min(limit, self._settings.max_batch_input_bytes) if purpose == "batch" else limit

    def check_upload(self, meta: UploadMeta) -> tuple[str, datetime | None]:
        """(file name, expiry) for acceptable metadata; INVALID_ARGUMENT naming the field otherwise."""
        if meta.purpose not in UPLOAD_PURPOSES:
            allowed = ", ".join(sorted(UPLOAD_PURPOSES))
            raise InvalidRequest(f"Invalid purpose {meta.purpose!r}: expected one of {allowed}.", field="purpose")
        expires_at = None
        if meta.expires_after_anchor or meta.expires_after_seconds is not None:
            if meta.expires_after_anchor != EXPIRY_ANCHOR:
                raise InvalidRequest("expires_after[anchor] must be 'created_at'.", field="expires_after[anchor]")
            seconds = meta.expires_after_seconds
            if seconds is None or not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
                raise InvalidRequest(
                    f"expires_after[seconds] must be between {MIN_EXPIRY_SECONDS} and {MAX_EXPIRY_SECONDS}.",
                    field="expires_after[seconds]",
                )
            expires_at = utcnow() + timedelta(seconds=seconds)
        limit = self.size_limit(meta.purpose)
        if meta.declared_bytes > limit:
            raise _too_large(limit)
        return _filename(meta.filename), expires_at

    async def create(self, p: Principal, meta: UploadMeta, chunks: AsyncIterable[bytes]) -> FileView:
        org_id, user_id, team_id = owner_of_new(p)
        filename, expires_at = self.check_upload(meta)
        limit = self.size_limit(meta.purpose)
        file_id = new_file_id()

        async def bounded() -> AsyncIterator[bytes]:
            size = 0
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                yield chunk

        size = await self._storage.write(file_id, bounded())
        row: dict[str, object] = {
            "id": file_id,
            "org_id": org_id,
            "user_id": user_id,
            "team_id": team_id,
            "filename": filename,
            "purpose": meta.purpose,
            "bytes": size,
            "storage_key": file_id,
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
        await self._insert(row)
        return await self._view_of(row)

    def output_row(self, owner: Owner, file_id: str, filename: str, size: int, purpose: str) -> dict[str, object]:
        """The row of a file the gateway wrote (core.batches inserts it with the batch's final status)."""
        now = utcnow()
        return {
            "id": file_id,
            "org_id": owner.org_id,
            "user_id": owner.user_id,
            "team_id": owner.team_id,
            "filename": filename,
            "purpose": purpose,
            "bytes": size,
            "storage_key": file_id,
            "created_at": now,
            "expires_at": now + timedelta(seconds=self._settings.batch_output_expiry_seconds),
        }

    async def _insert(self, row: dict[str, object]) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_FILES.insert(), [row])
        except BaseException:
            await self._storage.delete(str(row["storage_key"]))
            raise

    async def row(self, p: Principal, file_id: str, field: str = "name") -> FileRow:
        """The file's row if the caller may see it (expired ones are gone), NOT_FOUND otherwise."""
        async with self._sessions() as session:
            row = await session.get(FileRow, file_id)
        if row is None or (row.expires_at is not None and row.expires_at <= utcnow()):
            raise not_found(f"files/{file_id}", field)
        require_owned(p, row.user_id, row.team_id, f"files/{file_id}", field)
        return row

    async def get(self, p: Principal, file_id: str) -> FileView:
        return await self._view_of(_as_dict(await self.row(p, file_id)))

    async def list_files(
        self,
        p: Principal,
        *,
        purpose: str,
        page_size: int,
        page_token: str,
        order: str,
        after: str,
        all_orgs: bool,
    ) -> Page[FileView]:
        if order not in _ORDERS:
            raise InvalidRequest("order must be 'asc' or 'desc'.", field="order")
        descending = order != "asc"
        stmt = select_rows(FileRow).where((col(FileRow.expires_at).is_(None)) | (col(FileRow.expires_at) > utcnow()))
        if all_orgs:
            require_list_all(p)
        elif p.service_account_id is not None:
            stmt = stmt.where(col(FileRow.team_id) == p.team_id)
        else:
            stmt = stmt.where(col(FileRow.user_id) == (p.user_id or ""))
        if purpose:
            stmt = stmt.where(col(FileRow.purpose) == purpose)
        if after and not page_token:
            after_id = after.removeprefix("files/")
            stmt = stmt.where(col(FileRow.id) < after_id if descending else col(FileRow.id) > after_id)
        async with self._sessions() as session:
            page = await paginate(
                session,
                stmt,
                key=col(FileRow.id),
                key_of=lambda row: row.id,
                page_size=page_size,
                page_token=page_token,
                scope=f"files|{purpose}|{order}|{after}|{all_orgs}",
                descending=descending,
            )
        views = await self._views([_as_dict(row) for row in page.items])
        return Page(views, page.next_page_token)

    async def delete(self, p: Principal, file_id: str) -> str:
        row = await self.row(p, file_id)
        await self._remove(row.id, row.storage_key)
        return row.id

    async def _remove(self, file_id: str, storage_key: str) -> None:
        # Row first: once it is gone nobody can read the file; bytes left by a crash here are only space.
        async with self._engine.begin() as connection:
            await connection.execute(delete(_FILES).where(_FILES.c.id == file_id))
        await self._storage.delete(storage_key)

    async def content(self, p: Principal, file_id: str) -> AsyncIterator[bytes]:
        """Checks visibility before the first byte; then the bytes in chunks of at most 1 MiB."""
        row = await self.row(p, file_id)
        return self._storage.read(row.storage_key)

    def read_unchecked(self, storage_key: str) -> AsyncIterator[bytes]:
        """For core.batches, which checked ownership when the batch was created."""
        return self._storage.read(storage_key)

    async def sweep_expired(self, limit: int = 500) -> int:
        """Deletes up to `limit` expired files (rows, then bytes); returns how many."""
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(_FILES.c.id, _FILES.c.storage_key)
                    .where(_FILES.c.expires_at.is_not(None), _FILES.c.expires_at <= utcnow())
                    .limit(limit)
                )
            ).all()
        for row in rows:
            await self._remove(row.id, row.storage_key)
        if rows:
            log.info("deleted %d expired files", len(rows))
        return len(rows)

    async def _view_of(self, row: dict[str, object]) -> FileView:
        return (await self._views([row]))[0]

    async def _views(self, rows: list[dict[str, object]]) -> list[FileView]:
        async with self._engine.connect() as connection:
            names = await owner_names(connection, [(_opt(r["user_id"]), _opt(r["team_id"])) for r in rows])
        views = []
        for r in rows:
            user, team = names[(_opt(r["user_id"]), _opt(r["team_id"]))]
            views.append(
                FileView(
                    id=str(r["id"]),
                    filename=str(r["filename"]),
                    purpose=str(r["purpose"]),
                    bytes=int(str(r["bytes"])),
                    created_at=cast(datetime, r["created_at"]),
                    expires_at=cast(datetime | None, r["expires_at"]),
                    user=user,
                    team=team,
                    storage_key=str(r["storage_key"]),
                )
            )
        return views


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _as_dict(row: FileRow) -> dict[str, object]:
    return row.model_dump()


def _too_large(limit: int) -> InvalidRequest:
    return InvalidRequest(f"The file is larger than the limit of {limit} bytes.", field="file")
