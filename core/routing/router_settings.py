"""`router_settings` from the config file, validated into one typed object with documented defaults.

Key names follow LiteLLM's router_settings so existing router_config.yaml files load unchanged; keys this
router does not use (redis_host, enable_pre_call_checks, ...) are accepted and ignored, and logged once."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.settings import ConfigError, Settings

log = logging.getLogger("aqueduct.core.routing")

RoutingStrategy = Literal["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2"]


class RouterSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # How a request picks among a model group's deployments: weighted random (litellm_params.weight),
    # fewest in-flight requests, lowest recent latency (with exploration), or the most rpm/tpm headroom in
    # the current minute (usage-based-routing-v2: counted in the rate limiter's windows, so shared by every
    # replica on the same Redis).
    routing_strategy: RoutingStrategy = "simple-shuffle"
    # Extra attempts after the first one inside a model group (then fallbacks are tried).
    num_retries: int = Field(default=2, ge=0, le=20)
    # Backoff before retrying a deployment already tried by this request: base * 2^(retry-1), capped at
    # the max, with jitter (half fixed, half random). A retry on another deployment goes at once.
    retry_backoff_seconds: float = Field(default=0.1, ge=0)
    retry_backoff_max_seconds: float = Field(default=2.0, ge=0)
    # An upstream `retry-after` up to this long is waited for before retrying that deployment; a longer one
    # takes the deployment out (cooldown, capped at cooldown_time) and the request moves on.
    max_retry_after_seconds: float = Field(default=5.0, ge=0)
    # A deployment that fails this many times within failure_window_seconds cools down for cooldown_time.
    allowed_fails: int = Field(default=3, ge=1)
    cooldown_time: float = Field(default=30.0, ge=0)
    failure_window_seconds: float = Field(default=60.0, gt=0)
    # [{model: [fallback, ...]}]: tried in order when every deployment of `model` failed or is unavailable.
    fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    # The same for context-length errors (a prompt too long for the model): usually bigger-context models.
    context_window_fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    # Fallbacks for every model that has no entry of its own in `fallbacks`.
    default_fallbacks: list[str] = Field(default_factory=list)
    # latency-based-routing: share of requests that take a weighted-random order instead, so a deployment
    # that was slow is measured again once it recovers.
    latency_exploration: float = Field(default=0.1, ge=0, le=1)
    # Weight of the newest latency sample in the moving average.
    latency_ewma_alpha: float = Field(default=0.3, gt=0, le=1)
    # A latency measured longer ago than this is forgotten (the deployment counts as unmeasured: tried first).
    latency_stale_seconds: float = Field(default=300.0, gt=0)
    # Bound on concurrent requests per deployment when litellm_params.max_parallel_requests is not set;
    # None means unbounded (the HTTP pool's upstream_max_connections still applies).
    max_parallel_requests: int | None = Field(default=None, ge=1)

    @field_validator("fallbacks", "context_window_fallbacks", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value

    @field_validator("default_fallbacks", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: object) -> object:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value


def router_settings_of(settings: Settings) -> RouterSettings:
    """Validates `settings.router_settings`; a bad value is a ConfigError naming the key."""
    raw = settings.router_settings or {}
    try:
        parsed = RouterSettings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config: router_settings.{loc}: {first['msg']}") from exc
    ignored = sorted(set(raw) - set(RouterSettings.model_fields))
    if ignored:
        log.info("router_settings keys not used by Aqueduct's router (ignored): %s", ", ".join(ignored))
    return parsed
