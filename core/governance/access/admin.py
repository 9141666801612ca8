"""Changing and showing exclusion lists and merge flags (the `aqueduct exclusions` verbs). Writes reload this
replica's copy at once; other replicas follow within governance_cache_ttl_seconds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.tables import ExclusionMergeRow, ExclusionRow
from core.db.tables.governance import EXCLUDED_NAME_LENGTH
from core.db.types import utcnow
from core.errors import InvalidRequest, NotFound
from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy, ExclusionTable, effective_names
from core.governance.access.scope import Scope, ScopeRef, require_manage, require_read, resolve_scope
from core.governance.limits.model import ScopeKind

_LISTS = ExclusionRow.metadata.tables["exclusions"]
_FLAGS = ExclusionMergeRow.metadata.tables["exclusion_merge_flags"]


@dataclass(frozen=True, slots=True)
class ExclusionList:
    kind: ExclusionKind
    names: list[str]  # this scope's own list, sorted
    merge: bool
    effective: list[str]  # what applies to members of this scope after inheritance, sorted


@dataclass(frozen=True, slots=True)
class ExclusionsView:
    scope: str
    lists: list[ExclusionList]


def _name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > EXCLUDED_NAME_LENGTH or not value.isprintable():
        raise InvalidRequest(f"name must be 1-{EXCLUDED_NAME_LENGTH} printable characters", field="name")
    return value


class ExclusionsAdmin:
    def __init__(self, engine: AsyncEngine, policy: ExclusionPolicy) -> None:
        self._engine = engine
        self._policy = policy

    async def _scope(self, p: Principal, ref: ScopeRef, *, manage: bool) -> Scope:
        async with self._engine.connect() as conn:
            scope = await resolve_scope(conn, ref)
        if scope.kind is ScopeKind.TOKEN:
            raise InvalidRequest("exclusions are set on an org, a team or a user, not on a token", field="scope")
        (require_manage if manage else require_read)(p, scope)
        return scope

    async def add(self, p: Principal, ref: ScopeRef, kind: ExclusionKind, name: str) -> ExclusionsView:
        name = _name(name)
        scope = await self._scope(p, ref, manage=True)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    _LISTS.insert().values(
                        scope_kind=scope.kind.value, scope_id=scope.id, kind=kind.value, name=name, created_at=utcnow()
                    )
                )
        except IntegrityError:
            pass  # already excluded: adding is idempotent
        await self._policy.snapshot.refresh()
        return self._view(scope)

    async def remove(self, p: Principal, ref: ScopeRef, kind: ExclusionKind, name: str) -> ExclusionsView:
        name = _name(name)
        scope = await self._scope(p, ref, manage=True)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(_LISTS).where(
                    _LISTS.c.scope_kind == scope.kind.value,
                    _LISTS.c.scope_id == scope.id,
                    _LISTS.c.kind == kind.value,
                    _LISTS.c.name == name,
                )
            )
        if not result.rowcount:
            raise NotFound(f"{name!r} is not on the {kind.value} exclusion list of {scope.label}", field="name")
        await self._policy.snapshot.refresh()
        return self._view(scope)

    async def set_merge(self, p: Principal, ref: ScopeRef, kinds: list[ExclusionKind], merge: bool) -> ExclusionsView:
        scope = await self._scope(p, ref, manage=True)
        async with self._engine.begin() as conn:
            for kind in kinds:
                where = (
                    _FLAGS.c.scope_kind == scope.kind.value,
                    _FLAGS.c.scope_id == scope.id,
                    _FLAGS.c.kind == kind.value,
                )
                exists = (await conn.execute(select(_FLAGS.c.merge).where(*where))).first() is not None
                if exists:
                    await conn.execute(_FLAGS.update().where(*where).values(merge=merge, updated_at=utcnow()))
                else:
                    await conn.execute(
                        _FLAGS.insert().values(
                            scope_kind=scope.kind.value,
                            scope_id=scope.id,
                            kind=kind.value,
                            merge=merge,
                            updated_at=utcnow(),
                        )
                    )
        await self._policy.snapshot.refresh()
        return self._view(scope)

    async def show(self, p: Principal, ref: ScopeRef) -> ExclusionsView:
        return self._view(await self._scope(p, ref, manage=False))

    def _view(self, scope: Scope) -> ExclusionsView:
        table: ExclusionTable = self._policy.snapshot.value
        lists = []
        for kind in ExclusionKind:
            own = table.names(scope.kind, scope.id, kind)
            merge = table.merges(scope.kind, scope.id, kind)
            specific = None if scope.kind is ScopeKind.ORG else (scope.kind, scope.id)
            effective = effective_names(table, kind, specific, scope.org_id, self._policy.global_names(kind))
            lists.append(ExclusionList(kind, sorted(own), merge, sorted(effective)))
        return ExclusionsView(scope.label, lists)
