"""Builds and closes everything governance needs at run time: the Redis client (when configured), the
limiter with its fallback, the in-memory copies of limits and exclusions, the admission and the policies.

core/server.py awaits `start_governance(engine, settings)` before serving and `runtime.aclose()` after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.governance.access.admin import ExclusionsAdmin
from core.governance.access.exclusions import ExclusionPolicy, ExclusionTable, load_exclusion_table
from core.governance.limits.admin import LimitsAdmin
from core.governance.limits.admission import Admission
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.hooks import InferenceGovernance
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.plan import model_limits_from_settings
from core.governance.limits.redis_backend import RedisBackend
from core.governance.limits.snapshot import RefreshingSnapshot
from core.governance.limits.store import LimitTable, load_limit_table
from core.redis_connection import redis_client
from core.settings import Settings

log = logging.getLogger("aqueduct.core.governance.limits")


def model_name_resolver(settings: Settings) -> Callable[[str], str | None]:
    """Model name or alias -> the model's name (None for unknown names), from the config's model_list."""
    names: dict[str, str] = {}
    for entry in settings.model_list:
        names[entry.model_name] = entry.model_name
    for entry in settings.model_list:
        for alias in entry.model_info.aliases:
            names.setdefault(alias, entry.model_name)
    return names.get


@dataclass(slots=True)
class GovernanceRuntime:
    admission: Admission
    limiter: FailoverLimiter
    limits: RefreshingSnapshot[LimitTable]
    exclusions: ExclusionPolicy
    limits_admin: LimitsAdmin
    exclusions_admin: ExclusionsAdmin
    redis: Redis | None

    @property
    def inference(self) -> InferenceGovernance:
        """What the inference path calls (exclusion checks and admission)."""
        return InferenceGovernance(self.admission, self.exclusions)

    async def aclose(self) -> None:
        await self.admission.drain()
        await self.limits.aclose()
        await self.exclusions.snapshot.aclose()
        await self.limiter.aclose()
        if self.redis is not None:
            await self.redis.aclose()


async def start_governance(
    engine: AsyncEngine, settings: Settings, *, on_redis_status: Callable[[bool], None] | None = None
) -> GovernanceRuntime:
    """Loads limits and exclusions (a database failure here fails startup) and connects the limiter."""
    client: Redis | None = None
    redis_backend: RedisBackend | None = None
    if settings.redis_url:
        # The URL was checked when the settings were loaded (core.settings), so this does not raise.
        client = redis_client(settings.redis_url, timeout=settings.redis_socket_timeout_seconds)
        redis_backend = RedisBackend(
            client, settings.rate_limit_redis_prefix, timeout=settings.redis_socket_timeout_seconds
        )
    limiter = FailoverLimiter(
        MemoryBackend(), redis_backend, retry_interval=settings.redis_retry_interval_seconds, on_status=on_redis_status
    )
    await limiter.check_redis()
    ttl = settings.governance_cache_ttl_seconds
    limits: RefreshingSnapshot[LimitTable] = RefreshingSnapshot(
        "rate limits", lambda: load_limit_table(engine), LimitTable(), ttl=ttl
    )
    exclusion_snapshot: RefreshingSnapshot[ExclusionTable] = RefreshingSnapshot(
        "exclusions", lambda: load_exclusion_table(engine), ExclusionTable(), ttl=ttl
    )
    await limits.start()
    await exclusion_snapshot.start()
    policy = ExclusionPolicy(
        exclusion_snapshot,
        global_models=settings.global_model_exclusions,
        global_mcp_servers=settings.global_mcp_exclusions,
        canonical=model_name_resolver(settings),
    )
    return GovernanceRuntime(
        admission=Admission(
            limiter,
            limits,
            model_limits_from_settings(settings),
            settle_interval=settings.rate_limit_settle_interval_seconds,
            default_output_reservation=settings.default_output_token_reservation,
        ),
        limiter=limiter,
        limits=limits,
        exclusions=policy,
        limits_admin=LimitsAdmin(engine, limits, limiter),
        exclusions_admin=ExclusionsAdmin(engine, policy),
        redis=client,
    )
