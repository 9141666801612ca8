"""One upstream deployment of a model group, as the inference path sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.settings import ModelDeployment, ModelMode, Settings


@dataclass(frozen=True, slots=True)
class Deployment:
    """A `model_list` entry with its defaults resolved. `id` is stable for a given config file."""

    id: str  # "<model_name>#<index in model_list>"
    model_name: str
    provider: str  # "openai", "hosted_vllm", "vllm", "openai_compatible" or "mock"
    upstream_model: str  # the model name the upstream expects
    mode: ModelMode
    api_base: str | None
    api_key: str | None = field(repr=False)  # never logged
    timeout_seconds: float  # the whole request, a stream to its last byte included
    stream_timeout_seconds: float  # longest silence between two stream chunks
    connect_timeout_seconds: float
    weight: float
    rpm: int | None  # requests per minute this deployment may take; None = unbounded
    tpm: int | None  # tokens (input + output) per minute; None = unbounded
    max_parallel_requests: int | None  # concurrent requests; None = the router's default
    extra_headers: tuple[tuple[str, str], ...] = field(repr=False)  # litellm_params.extra_headers
    config: ModelDeployment = field(repr=False, compare=False, hash=False)
    # Parameters the provider cannot take are dropped instead of refused (litellm_params.drop_params, else the
    # global drop_params); read by the adapters that translate requests (core.providers.anthropic).
    drop_params: bool = False

    @classmethod
    def from_config(cls, index: int, entry: ModelDeployment, settings: Settings) -> Deployment:
        params = entry.litellm_params
        timeout = params.timeout or settings.default_timeout_seconds
        weight = params.weight if params.weight is not None and params.weight > 0 else 1.0
        return cls(
            id=f"{entry.model_name}#{index}",
            model_name=entry.model_name,
            provider=params.provider,
            upstream_model=params.upstream_model,
            mode=entry.model_info.mode,
            api_base=params.api_base,
            api_key=params.api_key,
            timeout_seconds=timeout,
            stream_timeout_seconds=params.stream_timeout or settings.default_stream_timeout_seconds,
            connect_timeout_seconds=params.connect_timeout or settings.default_connect_timeout_seconds,
            weight=weight,
            rpm=params.rpm if params.rpm is not None and params.rpm > 0 else None,
            tpm=params.tpm if params.tpm is not None and params.tpm > 0 else None,
            max_parallel_requests=params.max_parallel_requests if (params.max_parallel_requests or 0) > 0 else None,
            extra_headers=_extra_headers(entry),
            config=entry,
            drop_params=params.drop_params if params.drop_params is not None else settings.drop_params,
        )


def _extra_headers(entry: ModelDeployment) -> tuple[tuple[str, str], ...]:
    """Static headers the operator adds to every upstream request of this deployment (LiteLLM's
    litellm_params.extra_headers), e.g. an org id some upstreams want; non-string values are ignored."""
    raw = (entry.litellm_params.model_extra or {}).get("extra_headers")
    if not isinstance(raw, dict):
        return ()
    return tuple((str(k).lower(), v) for k, v in raw.items() if isinstance(v, str))
