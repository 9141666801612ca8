"""Exclusions (`{scope}/exclusions/{id}`) and exclusion policies (`{scope}/exclusionPolicy`: the merge flags)
as resources. Writes reload this replica's copy at once; other replicas follow within
governance_cache_ttl_seconds."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.tables import ExclusionMergeRow, ExclusionRow
from core.db.tables.governance import EXCLUDED_NAME_LENGTH
from core.db.types import utcnow
from core.errors import AlreadyExists, InvalidRequest
from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy, ExclusionTable, effective_names
from core.governance.access.scope import Scope, resolve_scope, split_child, split_singleton
from core.governance.authorization import not_found, require_manage_scope, require_read_scope
from core.governance.limits.model import ScopeKind
from core.pagination import paginate_items

_LISTS = ExclusionRow.metadata.tables["exclusions"]
_FLAGS = ExclusionMergeRow.metadata.tables["exclusion_merge_flags"]
COLLECTION = "exclusions"
POLICY = "exclusionPolicy"
# The prefix of an exclusion's id per kind; the id is `{prefix}.{percent-encoded target}`.
ID_PREFIXES = {ExclusionKind.MODEL: "model", ExclusionKind.MCP_SERVER: "mcpServer"}
_KINDS_BY_PREFIX = {prefix: kind for kind, prefix in ID_PREFIXES.items()}
# The policy's merge flag per kind, by the field name an update mask uses.
MERGE_FIELDS = {"merge_models": ExclusionKind.MODEL, "merge_mcp_servers": ExclusionKind.MCP_SERVER}


@dataclass(frozen=True, slots=True)
class ExclusionView:
    name: str
    kind: ExclusionKind
    target: str
    create_time: datetime


@dataclass(frozen=True, slots=True)
class PolicyView:
    name: str
    merge: dict[ExclusionKind, bool]
    effective: dict[ExclusionKind, list[str]]  # sorted


def exclusion_name(scope: Scope, kind: ExclusionKind, target: str) -> str:
    return f"{scope.name}/{COLLECTION}/{ID_PREFIXES[kind]}.{quote(target, safe='')}"


def _target(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > EXCLUDED_NAME_LENGTH or not value.isprintable():
        raise InvalidRequest(f"the target must be 1-{EXCLUDED_NAME_LENGTH} printable characters", field=field)
    return value


def _parse_id(exclusion_id: str, field: str) -> tuple[ExclusionKind, str]:
    prefix, dot, encoded = exclusion_id.partition(".")
    kind = _KINDS_BY_PREFIX.get(prefix)
    if kind is None or not dot:
        raise InvalidRequest(f"an exclusion id is model.NAME or mcpServer.NAME, got {exclusion_id!r}", field=field)
    return kind, _target(unquote(encoded), field)


class ExclusionsAdmin:
    def __init__(self, engine: AsyncEngine, policy: ExclusionPolicy) -> None:
        self._engine = engine
        self._policy = policy

    async def _scope(self, p: Principal, name: str, field: str, *, manage: bool) -> Scope:
        async with self._engine.connect() as conn:
            scope = await resolve_scope(conn, name, field)
        (require_manage_scope if manage else require_read_scope)(p, scope, field)
        if scope.kind is ScopeKind.TOKEN:
            raise InvalidRequest("exclusions are set on an org, a team or a user, not on a token", field=field)
        return scope

    async def create(self, p: Principal, parent: str, kind: ExclusionKind, target: str) -> ExclusionView:
        target = _target(target, "exclusion.target")
        scope = await self._scope(p, parent, "parent", manage=True)
        name = exclusion_name(scope, kind, target)
        created = utcnow()
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    _LISTS.insert().values(
                        scope_kind=scope.kind.value, scope_id=scope.id, kind=kind.value, name=target, created_at=created
                    )
                )
        except IntegrityError:
            raise AlreadyExists(f"{name} already exists", field="exclusion.target") from None
        await self._policy.snapshot.refresh()
        return ExclusionView(name, kind, target, created)

    async def delete(self, p: Principal, name: str) -> None:
        scope_name, exclusion_id = split_child(name, COLLECTION, "name")
        kind, target = _parse_id(exclusion_id, "name")
        scope = await self._scope(p, scope_name, "name", manage=True)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(_LISTS).where(
                    _LISTS.c.scope_kind == scope.kind.value,
                    _LISTS.c.scope_id == scope.id,
                    _LISTS.c.kind == kind.value,
                    _LISTS.c.name == target,
                )
            )
        if not result.rowcount:
            raise not_found(exclusion_name(scope, kind, target), "name")
        await self._policy.snapshot.refresh()

    async def list_exclusions(
        self, p: Principal, parent: str, page_size: int, page_token: str
    ) -> tuple[list[ExclusionView], str]:
        scope = await self._scope(p, parent, "parent", manage=False)
        # A scope's exclusions are few (a list an operator keeps by hand): paged in memory.
        stmt = (
            select(_LISTS.c.kind, _LISTS.c.name, _LISTS.c.created_at)
            .where(_LISTS.c.scope_kind == scope.kind.value, _LISTS.c.scope_id == scope.id)
            .order_by(_LISTS.c.kind, _LISTS.c.name)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        views = [ExclusionView(exclusion_name(scope, ExclusionKind(k), n), ExclusionKind(k), n, t) for k, n, t in rows]
        page = paginate_items(
            views, key_of=lambda view: view.name, page_size=page_size, page_token=page_token, scope=scope.name
        )
        return page.items, page.next_page_token

    async def get_policy(self, p: Principal, name: str) -> PolicyView:
        scope = await self._scope(p, split_singleton(name, POLICY, "name"), "name", manage=False)
        return self._policy_view(scope)

    async def update_policy(
        self, p: Principal, name: str, flags: Mapping[str, bool], mask: Collection[str]
    ) -> PolicyView:
        """Sets the merge flags the mask names (by field, see MERGE_FIELDS); an empty mask or `*` means both,
        the policy having no other writable field."""
        paths = set(MERGE_FIELDS) if not mask or "*" in mask else set(mask)
        unknown = sorted(paths - set(MERGE_FIELDS))
        if unknown:
            names = ", ".join(MERGE_FIELDS)
            raise InvalidRequest(f"update_mask may name {names} only, not {unknown}", field="update_mask")
        merge = {MERGE_FIELDS[path]: flags[path] for path in paths}
        field = "exclusion_policy.name"
        scope = await self._scope(p, split_singleton(name, POLICY, field), field, manage=True)
        async with self._engine.begin() as conn:
            for kind, flag in merge.items():
                where = (
                    _FLAGS.c.scope_kind == scope.kind.value,
                    _FLAGS.c.scope_id == scope.id,
                    _FLAGS.c.kind == kind.value,
                )
                exists = (await conn.execute(select(_FLAGS.c.merge).where(*where))).first() is not None
                if exists:
                    await conn.execute(_FLAGS.update().where(*where).values(merge=flag, updated_at=utcnow()))
                else:
                    await conn.execute(
                        _FLAGS.insert().values(
                            scope_kind=scope.kind.value,
                            scope_id=scope.id,
                            kind=kind.value,
                            merge=flag,
                            updated_at=utcnow(),
                        )
                    )
        await self._policy.snapshot.refresh()
        return self._policy_view(scope)

    def _policy_view(self, scope: Scope) -> PolicyView:
        table: ExclusionTable = self._policy.snapshot.value
        specific = None if scope.kind is ScopeKind.ORG else (scope.kind, scope.id)
        return PolicyView(
            f"{scope.name}/{POLICY}",
            {kind: table.merges(scope.kind, scope.id, kind) for kind in ExclusionKind},
            {
                kind: sorted(effective_names(table, kind, specific, scope.org_id, self._policy.global_names(kind)))
                for kind in ExclusionKind
            },
        )
