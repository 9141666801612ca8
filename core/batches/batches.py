"""The batches domain as callers see it: create (checks, then `validating` for the worker), get, list and
cancel, with ownership asked of core.governance.authorization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as select_rows

from core.auth.principal import Principal
from core.batches.execution import principal_to_json
from core.batches.model import (
    ACTIVE,
    COMPLETION_WINDOWS,
    ENDED,
    ENDPOINTS,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_CHARS,
    BatchView,
    Counts,
    LineError,
    Status,
    new_batch_id,
)
from core.batches.store import BATCHES, BatchStore
from core.db.tables import BatchRow
from core.db.types import utcnow
from core.errors import InvalidRequest, PermissionDenied
from core.files.files import Files
from core.files.model import file_id_of, new_file_id
from core.files.owners import owner_names
from core.governance.authorization import not_found, owner_of_new, owns, require_list_all, require_owned
from core.pagination import Page, paginate
from core.settings import Settings

_TIMES = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def _check_metadata(metadata: dict[str, str]) -> None:
    if len(metadata) > MAX_METADATA_PAIRS:
        raise InvalidRequest(f"metadata may have at most {MAX_METADATA_PAIRS} pairs.", field="metadata")
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY_CHARS or len(value) > MAX_METADATA_VALUE_CHARS:
            raise InvalidRequest(
                f"metadata keys are at most {MAX_METADATA_KEY_CHARS} characters, values {MAX_METADATA_VALUE_CHARS}.",
                field="metadata",
            )


class Batches:
    def __init__(self, store: BatchStore, files: Files, settings: Settings, on_created: Any = None) -> None:
        self._store = store
        self._files = files
        self._settings = settings
        self._on_created = on_created

    async def create(
        self, p: Principal, input_file: str, endpoint: str, window: str, metadata: dict[str, str]
    ) -> BatchView:
        org_id, user_id, team_id = owner_of_new(p)
        if endpoint not in ENDPOINTS:
            allowed = ", ".join(ENDPOINTS)
            raise InvalidRequest(f"Invalid endpoint {endpoint!r}: expected one of {allowed}.", field="endpoint")
        if window not in COMPLETION_WINDOWS:
            raise InvalidRequest("completion_window must be '24h'.", field="completion_window")
        _check_metadata(metadata)
        file_row = await self._files.row(p, file_id_of(input_file), "input_file_id")
        if not owns(p, file_row.user_id, file_row.team_id):
            # Admins may read any file, but a batch runs only its creator's own input.
            raise not_found(f"files/{file_row.id}", "input_file_id")
        if file_row.purpose != "batch":
            raise InvalidRequest(
                f"The input file must have purpose 'batch', not {file_row.purpose!r}.", field="input_file_id"
            )
        await self._check_active_cap(p)
        now = utcnow()
        batch_id = new_batch_id()
        row = {
            "id": batch_id,
            "org_id": org_id,
            "user_id": user_id,
            "team_id": team_id,
            "creator_json": principal_to_json(p),
            "endpoint": endpoint,
            "input_file_id": file_row.id,
            "completion_window": window,
            "status": Status.VALIDATING.value,
            "metadata_json": orjson.dumps(metadata).decode(),
            "errors_json": "[]",
            "output_file_id": new_file_id(),
            "error_file_id": new_file_id(),
            "created_at": now,
            "expires_at": now + timedelta(seconds=self._settings.batch_completion_window_seconds),
        }
        async with self._store.engine.begin() as connection:
            await connection.execute(BATCHES.insert(), [row])
        if self._on_created is not None:
            self._on_created()
        return await self.get(p, batch_id)

    async def _check_active_cap(self, p: Principal) -> None:
        if p.service_account_id is not None:
            cap, column, owner, what = self._settings.max_active_batches_per_team, BATCHES.c.team_id, p.team_id, "team"
        else:
            cap, column, owner, what = self._settings.max_active_batches_per_user, BATCHES.c.user_id, p.user_id, "user"
        if not cap:
            return
        async with self._store.engine.connect() as connection:
            active = (
                await connection.execute(
                    select(func.count()).where(column == owner, BATCHES.c.status.in_([s.value for s in ACTIVE]))
                )
            ).scalar_one()
        if active >= cap:
            raise PermissionDenied(
                f"This {what} already has {active} active batches, the maximum; wait for one to end or cancel one."
            )

    async def _row(self, p: Principal, batch_id: str) -> Any:
        row = await self._store.batch(batch_id)
        if row is None:
            raise not_found(f"batches/{batch_id}", "name")
        require_owned(p, row.user_id, row.team_id, f"batches/{batch_id}", "name")
        return row

    async def get(self, p: Principal, batch_id: str) -> BatchView:
        return (await self._views([await self._row(p, batch_id)]))[0]

    async def list_batches(
        self, p: Principal, *, page_size: int, page_token: str, after: str, all_orgs: bool
    ) -> Page[BatchView]:
        stmt = select_rows(BatchRow)
        if all_orgs:
            require_list_all(p)
        elif p.service_account_id is not None:
            stmt = stmt.where(col(BatchRow.team_id) == p.team_id)
        else:
            stmt = stmt.where(col(BatchRow.user_id) == (p.user_id or ""))
        if after and not page_token:
            stmt = stmt.where(col(BatchRow.id) < after.removeprefix("batches/"))
        async with self._files.sessions() as session:
            page = await paginate(
                session,
                stmt,
                key=col(BatchRow.id),
                key_of=lambda row: row.id,
                page_size=page_size,
                page_token=page_token,
                scope=f"batches|{after}|{all_orgs}",
                descending=True,
            )
        return Page(await self._views(list(page.items)), page.next_page_token)

    async def cancel(self, p: Principal, batch_id: str) -> BatchView:
        row = await self._row(p, batch_id)
        if Status(row.status) not in ENDED and Status(row.status) is not Status.CANCELLING:
            await self._store.set_batch(
                batch_id,
                (Status.VALIDATING, Status.IN_PROGRESS),
                status=Status.CANCELLING.value,
                cancelling_at=utcnow(),
            )
            if self._on_created is not None:
                self._on_created()
        return await self.get(p, batch_id)

    async def _views(self, rows: list[Any]) -> list[BatchView]:
        async with self._store.engine.connect() as connection:
            names = await owner_names(connection, [(r.user_id, r.team_id) for r in rows])
        views = []
        for r in rows:
            status = Status(r.status)
            if status in ENDED:
                counts = Counts(r.total, r.completed, r.failed)
            else:
                counts = await self._store.counts(r.id, r.total)
            user, team = names[(r.user_id, r.team_id)]
            # Files exist only for batches that ran (a failed validation wrote none).
            ended = status in ENDED and status is not Status.FAILED
            views.append(
                BatchView(
                    id=r.id,
                    endpoint=r.endpoint,
                    input_file_id=r.input_file_id,
                    completion_window=r.completion_window,
                    status=status,
                    output_file_id=r.output_file_id if ended else None,
                    error_file_id=r.error_file_id if ended else None,
                    errors=[LineError(**e) for e in orjson.loads(r.errors_json)],
                    counts=counts,
                    metadata=orjson.loads(r.metadata_json),
                    user=user,
                    team=team,
                    times={name: getattr(r, name) for name in _TIMES},
                )
            )
        return views
