"""Model and MCP-server exclusion lists with Aqueduct's inheritance, answered from memory.

For a personal token: the user's list; if the user's merge flag is on, plus the org's list; if the org's
flag is on too, plus the global list from the config. For a service-account token the same with the team in
place of the user. Merge flags default to on. Excluded model names may be aliases: every name is mapped to
its model's canonical name, so a model is hidden by name and by alias alike."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal
from core.db.tables import ExclusionMergeRow, ExclusionRow
from core.governance.limits.model import ScopeKind
from core.governance.limits.snapshot import RefreshingSnapshot


class ExclusionKind(enum.StrEnum):
    MODEL = "model"
    MCP_SERVER = "mcp_server"


ListKey = tuple[ScopeKind, str, ExclusionKind]


@dataclass(frozen=True, slots=True)
class ExclusionTable:
    lists: Mapping[ListKey, frozenset[str]] = field(default_factory=dict)
    merge_flags: Mapping[ListKey, bool] = field(default_factory=dict)

    def names(self, kind: ScopeKind, scope_id: str | None, what: ExclusionKind) -> frozenset[str]:
        if scope_id is None:
            return frozenset()
        return self.lists.get((kind, scope_id, what), frozenset())

    def merges(self, kind: ScopeKind, scope_id: str | None, what: ExclusionKind) -> bool:
        if scope_id is None:
            return True
        return self.merge_flags.get((kind, scope_id, what), True)


async def load_exclusion_table(engine: AsyncEngine) -> ExclusionTable:
    lists: dict[ListKey, set[str]] = {}
    flags: dict[ListKey, bool] = {}
    async with engine.connect() as conn:
        for r in await conn.execute(select(ExclusionRow.metadata.tables["exclusions"])):
            lists.setdefault((ScopeKind(r.scope_kind), r.scope_id, ExclusionKind(r.kind)), set()).add(r.name)
        for r in await conn.execute(select(ExclusionMergeRow.metadata.tables["exclusion_merge_flags"])):
            flags[(ScopeKind(r.scope_kind), r.scope_id, ExclusionKind(r.kind))] = bool(r.merge)
    return ExclusionTable({k: frozenset(v) for k, v in lists.items()}, flags)


def specific_scope(p: Principal) -> tuple[ScopeKind, str | None]:
    """The level below the org: the team for a service account's token, else the user."""
    if p.service_account_id is not None:
        return ScopeKind.TEAM, p.team_id
    return ScopeKind.USER, p.user_id


def effective_names(
    table: ExclusionTable,
    what: ExclusionKind,
    specific: tuple[ScopeKind, str | None] | None,
    org_id: str | None,
    global_names: Iterable[str],
) -> frozenset[str]:
    """The inherited list below `specific` (None: starting at the org)."""
    names: set[str] = set()
    if specific is not None:
        names |= table.names(specific[0], specific[1], what)
        if not table.merges(specific[0], specific[1], what):
            return frozenset(names)
    names |= table.names(ScopeKind.ORG, org_id, what)
    if table.merges(ScopeKind.ORG, org_id, what):
        names |= set(global_names)
    return frozenset(names)


class ExclusionPolicy:
    """`canonical` maps a model name or alias to its model's name (None for names no model has)."""

    def __init__(
        self,
        snapshot: RefreshingSnapshot[ExclusionTable],
        *,
        global_models: Iterable[str],
        global_mcp_servers: Iterable[str],
        canonical: Callable[[str], str | None],
    ) -> None:
        self.snapshot = snapshot
        self._globals = {
            ExclusionKind.MODEL: frozenset(global_models),
            ExclusionKind.MCP_SERVER: frozenset(global_mcp_servers),
        }
        self._canonical = canonical
        self._cache: dict[tuple[object, ...], frozenset[str]] = {}
        self._cached_table: ExclusionTable | None = None

    def global_names(self, what: ExclusionKind) -> frozenset[str]:
        return self._globals[what]

    def _effective(self, p: Principal, what: ExclusionKind) -> frozenset[str]:
        table = self.snapshot.value
        if table is not self._cached_table:
            # A reload replaced the table: everything derived from the old one is stale.
            self._cache.clear()
            self._cached_table = table
        specific = specific_scope(p)
        key = (what, specific, p.org_id)
        cached = self._cache.get(key)
        if cached is None:
            names = effective_names(table, what, specific, p.org_id, self._globals[what])
            if what is ExclusionKind.MODEL:
                names = frozenset(self._canonical(n) or n for n in names)
            cached = self._cache[key] = names
        return cached

    def excluded_models(self, p: Principal) -> frozenset[str]:
        """Canonical names of the models hidden from this caller."""
        return self._effective(p, ExclusionKind.MODEL)

    def is_model_excluded(self, p: Principal, model: str) -> bool:
        """`model` is a canonical model name (resolve aliases first)."""
        excluded = self._effective(p, ExclusionKind.MODEL)
        return bool(excluded) and model in excluded

    def excluded_mcp_servers(self, p: Principal) -> frozenset[str]:
        return self._effective(p, ExclusionKind.MCP_SERVER)

    def is_mcp_server_excluded(self, p: Principal, server: str) -> bool:
        return server in self._effective(p, ExclusionKind.MCP_SERVER)
