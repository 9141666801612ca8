"""GovernanceService servicer: proto in, LimitsAdmin / ExclusionsAdmin call with the current principal, proto out."""

from __future__ import annotations

from typing import Any

import grpc
from aqueduct.v1 import governance_pb2 as gpb
from aqueduct.v1 import governance_service_pb2 as pb
from aqueduct.v1 import governance_service_pb2_grpc

from core.auth.principal import current_principal
from core.errors import InvalidRequest
from core.governance.access.admin import ExclusionsAdmin, ExclusionsView
from core.governance.access.exclusions import ExclusionKind
from core.governance.access.scope import ScopeRef
from core.governance.limits.admin import LimitEntry, LimitsAdmin, LimitsView
from core.governance.limits.model import Level, LimitValues

Context = grpc.aio.ServicerContext[Any, Any]

_LEVELS = {
    Level.MEMBER: gpb.RATE_LIMIT_LEVEL_MEMBER,
    Level.TOKEN: gpb.RATE_LIMIT_LEVEL_TOKEN,
    Level.ORG_POOL: gpb.RATE_LIMIT_LEVEL_ORG_POOL,
    Level.TEAM_POOL: gpb.RATE_LIMIT_LEVEL_TEAM_POOL,
}
_KINDS_TO_PROTO = {
    ExclusionKind.MODEL: gpb.EXCLUSION_KIND_MODEL,
    ExclusionKind.MCP_SERVER: gpb.EXCLUSION_KIND_MCP_SERVER,
}
_KINDS_FROM_PROTO = {value: kind for kind, value in _KINDS_TO_PROTO.items()}


def scope_ref(scope: gpb.GovernanceScope) -> ScopeRef:
    return ScopeRef(org=scope.org, team=scope.team, user=scope.user, token_id=scope.token_id)


def _values(message: gpb.RateLimitValues) -> LimitValues:
    return LimitValues(
        rpm=message.rpm if message.HasField("rpm") else None,
        input_tpm=message.input_tpm if message.HasField("input_tpm") else None,
        output_tpm=message.output_tpm if message.HasField("output_tpm") else None,
    )


def _limit(entry: LimitEntry) -> gpb.RateLimit:
    limits = gpb.RateLimitValues()
    for name in ("rpm", "input_tpm", "output_tpm"):
        value = getattr(entry.limits, name)
        if value is not None:
            setattr(limits, name, value)
    message = gpb.RateLimit(
        level=_LEVELS[entry.level],
        subject=entry.subject,
        pool=entry.pool,
        limits=limits,
        rpm_source=entry.sources[0],
        input_tpm_source=entry.sources[1],
        output_tpm_source=entry.sources[2],
    )
    if entry.usage is not None:
        message.window.CopyFrom(
            gpb.RateLimitWindow(
                used_requests=entry.used_requests,
                used_input_tokens=entry.usage.used[1],
                used_output_tokens=entry.usage.used[2],
                reset_ms=entry.usage.reset_ms,
            )
        )
    return message


def _limits(view: LimitsView) -> list[gpb.RateLimit]:
    return [_limit(e) for e in view.entries]


def _lists(view: ExclusionsView) -> list[gpb.ExclusionList]:
    return [
        gpb.ExclusionList(kind=_KINDS_TO_PROTO[x.kind], names=x.names, merge=x.merge, effective_names=x.effective)
        for x in view.lists
    ]


def _kind(value: gpb.ExclusionKind.ValueType) -> ExclusionKind:
    kind = _KINDS_FROM_PROTO.get(value)
    if kind is None:
        raise InvalidRequest("kind must be model or mcp_server", field="kind")
    return kind


class GovernanceServicer(governance_service_pb2_grpc.GovernanceServiceServicer):
    def __init__(self, limits: LimitsAdmin, exclusions: ExclusionsAdmin) -> None:
        self._limits = limits
        self._exclusions = exclusions

    async def SetRateLimit(self, request: pb.SetRateLimitRequest, context: Context) -> pb.SetRateLimitResponse:
        view = await self._limits.set_limits(
            current_principal(), scope_ref(request.scope), pool=request.total, values=_values(request.limits)
        )
        return pb.SetRateLimitResponse(scope=view.scope, limits=_limits(view))

    async def ClearRateLimit(self, request: pb.ClearRateLimitRequest, context: Context) -> pb.ClearRateLimitResponse:
        await self._limits.clear_limits(current_principal(), scope_ref(request.scope), pool=request.total)
        return pb.ClearRateLimitResponse()

    async def GetRateLimits(self, request: pb.GetRateLimitsRequest, context: Context) -> pb.GetRateLimitsResponse:
        view = await self._limits.show_limits(current_principal(), scope_ref(request.scope))
        return pb.GetRateLimitsResponse(scope=view.scope, limits=_limits(view))

    async def AddExclusion(self, request: pb.AddExclusionRequest, context: Context) -> pb.AddExclusionResponse:
        view = await self._exclusions.add(
            current_principal(), scope_ref(request.scope), _kind(request.kind), request.name
        )
        return pb.AddExclusionResponse(scope=view.scope, lists=_lists(view))

    async def RemoveExclusion(self, request: pb.RemoveExclusionRequest, context: Context) -> pb.RemoveExclusionResponse:
        view = await self._exclusions.remove(
            current_principal(), scope_ref(request.scope), _kind(request.kind), request.name
        )
        return pb.RemoveExclusionResponse(scope=view.scope, lists=_lists(view))

    async def SetExclusionMerge(
        self, request: pb.SetExclusionMergeRequest, context: Context
    ) -> pb.SetExclusionMergeResponse:
        kinds = list(ExclusionKind) if request.kind == gpb.EXCLUSION_KIND_UNSPECIFIED else [_kind(request.kind)]
        view = await self._exclusions.set_merge(current_principal(), scope_ref(request.scope), kinds, request.merge)
        return pb.SetExclusionMergeResponse(scope=view.scope, lists=_lists(view))

    async def GetExclusions(self, request: pb.GetExclusionsRequest, context: Context) -> pb.GetExclusionsResponse:
        view = await self._exclusions.show(current_principal(), scope_ref(request.scope))
        return pb.GetExclusionsResponse(scope=view.scope, lists=_lists(view))
