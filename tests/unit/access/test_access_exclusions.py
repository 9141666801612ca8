"""Exclusion inheritance, Aqueduct's way, for every merge-flag combination: the user's (or, for a service
account, the team's) list, then the org's if the first level merges, then the global list if the org merges
too. Model names are matched by canonical name, so excluding an alias hides the model and vice versa."""

from __future__ import annotations

import itertools

import pytest

from core.auth.principal import Principal, Role
from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy, ExclusionTable, ListKey
from core.governance.limits.model import ScopeKind
from core.governance.limits.snapshot import RefreshingSnapshot

PERSON = Principal(role=Role.USER, token_id="t", user_id="u1", org_id="o1")
ROBOT = Principal(role=Role.USER, token_id="t2", user_id="u1", org_id="o1", team_id="team1", service_account_id="sa")
M = ExclusionKind.MODEL
ALIASES = {"gpt-4o": "gpt-4o", "main": "gpt-4o", "small": "small", "big": "big", "global-one": "global-one"}


async def _never() -> ExclusionTable:
    raise AssertionError("not reloaded in these tests")


def policy(table: ExclusionTable, globals_: list[str] | None = None) -> ExclusionPolicy:
    snapshot: RefreshingSnapshot[ExclusionTable] = RefreshingSnapshot("x", _never, table, ttl=60)
    return ExclusionPolicy(
        snapshot, global_models=globals_ or ["global-one"], global_mcp_servers=["fs"], canonical=ALIASES.get
    )


def build(specific: tuple[ScopeKind, str], specific_merge: bool, org_merge: bool) -> ExclusionTable:
    lists: dict[ListKey, frozenset[str]] = {
        (specific[0], specific[1], M): frozenset({"small"}),
        (ScopeKind.ORG, "o1", M): frozenset({"big"}),
    }
    flags: dict[ListKey, bool] = {(specific[0], specific[1], M): specific_merge, (ScopeKind.ORG, "o1", M): org_merge}
    return ExclusionTable(lists, flags)


@pytest.mark.parametrize(("specific_merge", "org_merge"), list(itertools.product([True, False], repeat=2)))
@pytest.mark.parametrize(
    ("principal", "specific"), [(PERSON, (ScopeKind.USER, "u1")), (ROBOT, (ScopeKind.TEAM, "team1"))]
)
def test_every_merge_flag_combination(
    principal: Principal, specific: tuple[ScopeKind, str], specific_merge: bool, org_merge: bool
) -> None:
    excluded = policy(build(specific, specific_merge, org_merge)).excluded_models(principal)
    expected = {"small"}
    if specific_merge:
        expected.add("big")
        if org_merge:
            expected.add("global-one")
    assert excluded == expected


def test_a_service_account_ignores_its_owners_user_list() -> None:
    table = ExclusionTable({(ScopeKind.USER, "u1", M): frozenset({"small"})})
    assert policy(table).excluded_models(ROBOT) == {"global-one"}
    assert policy(table).excluded_models(PERSON) == {"small", "global-one"}


def test_defaults_merge_everything() -> None:
    assert policy(ExclusionTable()).excluded_models(PERSON) == {"global-one"}
    assert policy(ExclusionTable()).excluded_mcp_servers(PERSON) == {"fs"}


def test_aliases_are_resolved_both_ways() -> None:
    by_alias = policy(ExclusionTable({(ScopeKind.USER, "u1", M): frozenset({"main"})}))
    assert by_alias.is_model_excluded(PERSON, "gpt-4o")
    by_name = policy(ExclusionTable({(ScopeKind.ORG, "o1", M): frozenset({"gpt-4o"})}))
    assert by_name.excluded_models(PERSON) >= {"gpt-4o"}
    assert not by_name.is_model_excluded(PERSON, "small")


def test_model_and_mcp_lists_are_separate() -> None:
    table = ExclusionTable(
        {(ScopeKind.USER, "u1", ExclusionKind.MCP_SERVER): frozenset({"github"})},
        {(ScopeKind.USER, "u1", ExclusionKind.MCP_SERVER): False},
    )
    p = policy(table)
    assert p.excluded_mcp_servers(PERSON) == {"github"}
    assert p.is_mcp_server_excluded(PERSON, "github") and not p.is_mcp_server_excluded(PERSON, "fs")
    assert p.excluded_models(PERSON) == {"global-one"}


def test_a_reload_invalidates_cached_answers() -> None:
    p = policy(ExclusionTable())
    assert p.excluded_models(PERSON) == {"global-one"}
    p.snapshot.value = ExclusionTable({(ScopeKind.USER, "u1", M): frozenset({"big"})})
    assert p.excluded_models(PERSON) == {"global-one", "big"}
