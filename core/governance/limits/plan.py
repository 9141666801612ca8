"""Which limits apply to one request: the checks it must pass, built from the cached limit table, the
caller's principal and the model's configured limits. Pure and cheap (a few dict lookups)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from core.auth.principal import Principal
from core.governance.limits.model import NONE, REQUEST_UNITS, Check, Dimension, Level, LimitValues, ScopeKind
from core.governance.limits.store import LimitTable
from core.mcp.registry import limit_key
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class ModelLimit:
    """A model group's capacity (sum over its deployments) and how much one request to it weighs."""

    rpm: int | None = None
    tpm: int | None = None
    request_multiplier: float = 1.0


def model_limits_from_settings(settings: Settings) -> dict[str, ModelLimit]:
    """rpm / tpm of a group are the sums over its deployments when every deployment sets them (one
    deployment without a cap leaves the group uncapped); the multiplier is the first one configured."""
    rpms: dict[str, list[int | None]] = {}
    tpms: dict[str, list[int | None]] = {}
    multipliers: dict[str, float] = {}
    for entry in settings.model_list:
        name = entry.model_name
        params = entry.litellm_params
        rpms.setdefault(name, []).append(params.rpm if params.rpm and params.rpm > 0 else None)
        tpms.setdefault(name, []).append(params.tpm if params.tpm and params.tpm > 0 else None)
        multiplier = entry.model_info.request_limit_multiplier
        if multiplier is not None and multiplier > 0 and name not in multipliers:
            multipliers[name] = multiplier
    limits = {name: ModelLimit(_sum_all(rpms[name]), _sum_all(tpms[name]), multipliers.get(name, 1.0)) for name in rpms}
    # An MCP server's own rpm caps all traffic to it, like a model's (core.mcp.registry.limit_key).
    for server_name, server in settings.mcp_servers.items():
        if server.rpm:
            limits[limit_key(server_name)] = ModelLimit(rpm=server.rpm)
    return limits


def _sum_all(values: list[int | None]) -> int | None:
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def _limit(value: int | None, scale: int = 1) -> int:
    return NONE if value is None else value * scale


def _limits(values: LimitValues) -> tuple[int, int, int, int]:
    return (_limit(values.rpm, REQUEST_UNITS), _limit(values.input_tpm), _limit(values.output_tpm), NONE)


def _check(
    key: str, level: Level, subject: str, limits: LimitValues, costs: tuple[int, int, int, int], source: str
) -> Check:
    return Check(key, level, subject, _limits(limits), costs, (source, source, source, ""))


def member_limits(p: Principal, table: LimitTable) -> tuple[LimitValues, tuple[str, str, str]]:
    """The per-member limits of the caller and, per dimension, where each was set. A personal token's member
    is its user (own limit over the org's member limit); a service account's is itself (its team's member
    limit over the org's)."""
    org = table.get(ScopeKind.ORG, p.org_id)
    org_source = f"org {p.org_name}'s per-member limit"
    if p.service_account_id is not None:
        own = table.get(ScopeKind.TEAM, p.team_id)
        own_source = f"team {p.team_name}'s per-member limit"
    else:
        own = table.get(ScopeKind.USER, p.user_id)
        own_source = f"user {p.user_email}'s own limit"
    values = own.over(org)
    sources = tuple(
        own_source if own_value is not None else org_source for own_value in (own.rpm, own.input_tpm, own.output_tpm)
    )
    return values, (sources[0], sources[1], sources[2])


def member_key(p: Principal) -> str | None:
    if p.service_account_id is not None:
        return f"m:sa:{p.service_account_id}"
    return f"m:u:{p.user_id}" if p.user_id is not None else None


def member_subject(p: Principal) -> str:
    if p.service_account_id is not None:
        return f"service account {p.service_account_name}"
    return f"user {p.user_email}"


def plan_checks(
    p: Principal,
    model: str | None,
    table: LimitTable,
    models: Mapping[str, ModelLimit],
    estimated_input_tokens: int,
    max_output_tokens: int | None = None,
    default_output_reservation: int = 0,
) -> list[Check]:
    """Every limit that applies to this request; the request must fit into all of them. The output tokens
    are reserved too (see `with_output_reservation`)."""
    checks = _input_checks(p, model, table, models, estimated_input_tokens)
    if checks:
        return with_output_reservation(checks, max_output_tokens, default_output_reservation)
    return checks


def output_reservation(checks: list[Check], max_output_tokens: int | None, default: int) -> int:
    """How many output tokens the request reserves: its max_tokens when it says, else the default capped so
    that it fits every output and total limit by itself (a request without max_tokens is never too large for
    that reason alone); 0 when no limit counts output tokens."""
    caps = []
    for check in checks:
        if check.has_limit(Dimension.OUTPUT_TOKENS):
            caps.append(check.limits[Dimension.OUTPUT_TOKENS])
        if check.has_limit(Dimension.TOTAL_TOKENS):
            caps.append(check.limits[Dimension.TOTAL_TOKENS] - check.costs[Dimension.INPUT_TOKENS])
    if not caps:
        return 0
    if max_output_tokens is not None:
        return max(0, max_output_tokens)
    return max(0, min(default, *caps))


def with_output_reservation(checks: list[Check], max_output_tokens: int | None, default: int) -> list[Check]:
    """The checks with the output reservation added to their output and total costs. It must not fit, only
    find the window below its limit: admitted output exceeds a limit by less than one request's reservation."""
    reserved = output_reservation(checks, max_output_tokens, default)
    if reserved == 0:
        return checks
    return [
        replace(c, costs=(c.costs[0], c.costs[1], c.costs[2] + reserved, c.costs[3] + reserved), needs=c.costs)
        for c in checks
    ]


def _input_checks(
    p: Principal,
    model: str | None,
    table: LimitTable,
    models: Mapping[str, ModelLimit],
    estimated_input_tokens: int,
) -> list[Check]:
    model_limit = models.get(model) if model is not None else None
    multiplier = model_limit.request_multiplier if model_limit is not None else 1.0
    request_cost = max(1, round(REQUEST_UNITS / multiplier))
    tokens = max(0, estimated_input_tokens)
    costs = (request_cost, tokens, 0, tokens)
    checks: list[Check] = []

    key = member_key(p)
    if key is not None:
        values, sources = member_limits(p, table)
        if not values.is_empty():
            checks.append(Check(key, Level.MEMBER, member_subject(p), _limits(values), costs, (*sources, "")))
    if p.token_id is not None:
        own = table.get(ScopeKind.TOKEN, p.token_id)
        if not own.is_empty():
            name = f"token {p.token_name!r}" if p.token_name else f"token {p.token_id}"
            checks.append(_check(f"t:{p.token_id}", Level.TOKEN, name, own, costs, f"{name}'s own limit"))
    if p.org_id is not None:
        pool = table.get(ScopeKind.ORG, p.org_id, pool=True)
        if not pool.is_empty():
            subject = f"org {p.org_name}"
            checks.append(_check(f"o:{p.org_id}", Level.ORG_POOL, subject, pool, costs, f"{subject}'s total"))
    if p.team_id is not None:
        pool = table.get(ScopeKind.TEAM, p.team_id, pool=True)
        if not pool.is_empty():
            subject = f"team {p.team_name}"
            checks.append(_check(f"tm:{p.team_id}", Level.TEAM_POOL, subject, pool, costs, f"{subject}'s total"))
    if model is not None and model_limit is not None and (model_limit.rpm or model_limit.tpm):
        source = f"model {model}'s configured capacity"
        checks.append(
            Check(
                key=f"model:{model}",
                level=Level.MODEL,
                subject=f"model {model}",
                limits=(_limit(model_limit.rpm, REQUEST_UNITS), NONE, NONE, _limit(model_limit.tpm)),
                # The model's capacity counts real upstream requests: the multiplier is a quota weight only.
                costs=(REQUEST_UNITS, tokens, 0, tokens),
                sources=(source, "", "", source),
            )
        )
    return checks
