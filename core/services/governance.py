"""GovernanceService servicer: proto in, LimitsAdmin / ExclusionsAdmin call with the current principal, proto out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from aqueduct.v1 import governance_pb2 as gpb
from aqueduct.v1 import governance_service_pb2 as pb
from aqueduct.v1 import governance_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from core.auth.principal import current_principal
from core.errors import InvalidRequest
from core.governance.access.admin import ExclusionsAdmin, ExclusionView, PolicyView
from core.governance.access.exclusions import ExclusionKind
from core.governance.limits.admin import DIMENSIONS, LimitsAdmin, RateLimitView, Source
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


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _effective(value: int | None, source: Source | None) -> gpb.EffectiveLimit:
    if value is None or source is None:
        return gpb.EffectiveLimit()
    return gpb.EffectiveLimit(value=value, source=gpb.RateLimitSource(level=_LEVELS[source.level], scope=source.scope))


def _rate_limit(view: RateLimitView) -> gpb.RateLimit:
    message = gpb.RateLimit(
        name=view.name,
        level=_LEVELS[view.level],
        effective_rpm=_effective(view.effective.rpm, view.sources[0]),
        effective_input_tpm=_effective(view.effective.input_tpm, view.sources[1]),
        effective_output_tpm=_effective(view.effective.output_tpm, view.sources[2]),
    )
    for name in DIMENSIONS:
        value = getattr(view.own, name)
        if value is not None:
            setattr(message, name, value)
    if view.usage is not None:
        message.window.CopyFrom(
            gpb.RateLimitWindow(
                used_requests=view.used_requests,
                used_input_tokens=view.usage.used[1],
                used_output_tokens=view.usage.used[2],
                reset_ms=view.usage.reset_ms,
            )
        )
    return message


def _values(message: gpb.RateLimit) -> LimitValues:
    return LimitValues(
        rpm=message.rpm if message.HasField("rpm") else None,
        input_tpm=message.input_tpm if message.HasField("input_tpm") else None,
        output_tpm=message.output_tpm if message.HasField("output_tpm") else None,
    )


def _exclusion(view: ExclusionView) -> gpb.Exclusion:
    return gpb.Exclusion(
        name=view.name, kind=_KINDS_TO_PROTO[view.kind], target=view.target, create_time=_ts(view.create_time)
    )


def _policy(view: PolicyView) -> gpb.ExclusionPolicy:
    return gpb.ExclusionPolicy(
        name=view.name,
        merge_models=view.merge[ExclusionKind.MODEL],
        merge_mcp_servers=view.merge[ExclusionKind.MCP_SERVER],
        effective_excluded_models=view.effective[ExclusionKind.MODEL],
        effective_excluded_mcp_servers=view.effective[ExclusionKind.MCP_SERVER],
    )


class GovernanceServicer(governance_service_pb2_grpc.GovernanceServiceServicer):
    def __init__(self, limits: LimitsAdmin, exclusions: ExclusionsAdmin) -> None:
        self._limits = limits
        self._exclusions = exclusions

    async def GetRateLimit(self, request: pb.GetRateLimitRequest, context: Context) -> pb.GetRateLimitResponse:
        view = await self._limits.get(current_principal(), request.name)
        return pb.GetRateLimitResponse(rate_limit=_rate_limit(view))

    async def ListRateLimits(self, request: pb.ListRateLimitsRequest, context: Context) -> pb.ListRateLimitsResponse:
        views, next_token = await self._limits.list_limits(
            current_principal(), request.parent, request.page_size, request.page_token
        )
        return pb.ListRateLimitsResponse(rate_limits=[_rate_limit(v) for v in views], next_page_token=next_token)

    async def UpdateRateLimit(self, request: pb.UpdateRateLimitRequest, context: Context) -> pb.UpdateRateLimitResponse:
        view = await self._limits.update(
            current_principal(),
            request.rate_limit.name,
            _values(request.rate_limit),
            list(request.update_mask.paths),
            allow_missing=request.allow_missing,
        )
        return pb.UpdateRateLimitResponse(rate_limit=_rate_limit(view))

    async def DeleteRateLimit(self, request: pb.DeleteRateLimitRequest, context: Context) -> pb.DeleteRateLimitResponse:
        await self._limits.delete(current_principal(), request.name)
        return pb.DeleteRateLimitResponse()

    async def CreateExclusion(self, request: pb.CreateExclusionRequest, context: Context) -> pb.CreateExclusionResponse:
        kind = _KINDS_FROM_PROTO.get(request.exclusion.kind)
        if kind is None:
            raise InvalidRequest("exclusion.kind must be model or MCP server", field="exclusion.kind")
        view = await self._exclusions.create(current_principal(), request.parent, kind, request.exclusion.target)
        return pb.CreateExclusionResponse(exclusion=_exclusion(view))

    async def DeleteExclusion(self, request: pb.DeleteExclusionRequest, context: Context) -> pb.DeleteExclusionResponse:
        await self._exclusions.delete(current_principal(), request.name)
        return pb.DeleteExclusionResponse()

    async def ListExclusions(self, request: pb.ListExclusionsRequest, context: Context) -> pb.ListExclusionsResponse:
        views, next_token = await self._exclusions.list_exclusions(
            current_principal(), request.parent, request.page_size, request.page_token
        )
        return pb.ListExclusionsResponse(exclusions=[_exclusion(v) for v in views], next_page_token=next_token)

    async def GetExclusionPolicy(
        self, request: pb.GetExclusionPolicyRequest, context: Context
    ) -> pb.GetExclusionPolicyResponse:
        view = await self._exclusions.get_policy(current_principal(), request.name)
        return pb.GetExclusionPolicyResponse(exclusion_policy=_policy(view))

    async def UpdateExclusionPolicy(
        self, request: pb.UpdateExclusionPolicyRequest, context: Context
    ) -> pb.UpdateExclusionPolicyResponse:
        policy = request.exclusion_policy
        flags = {"merge_models": policy.merge_models, "merge_mcp_servers": policy.merge_mcp_servers}
        view = await self._exclusions.update_policy(
            current_principal(), policy.name, flags, list(request.update_mask.paths)
        )
        return pb.UpdateExclusionPolicyResponse(exclusion_policy=_policy(view))
