"""One settings object, read from a YAML file and AQUEDUCT_* environment variables.

The model list uses the LiteLLM router format (`model_list` with `litellm_params` / `model_info`) so existing
router_config.yaml files load unchanged. Every knob has a documented default here."""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from aqueduct_contract import DEFAULT_MAX_REQUEST_BODY_BYTES
from core.redis_connection import parse_redis_url

log = logging.getLogger("aqueduct.core.settings")

ModelMode = Literal["chat", "completion", "embedding", "audio_speech", "image_generation"]

# Provider prefixes of litellm_params.model that speak the OpenAI HTTP API; `mock` is the built-in demo.
OPENAI_COMPATIBLE_PROVIDERS = frozenset({"openai", "hosted_vllm", "vllm", "openai_compatible"})
KNOWN_PROVIDERS = OPENAI_COMPATIBLE_PROVIDERS | {"mock"}
DEFAULT_API_BASES = {"openai": "https://api.openai.com/v1"}

# Top-level sections of a LiteLLM proxy config.yaml that Aqueduct accepts so the file loads unchanged, and
# ignores (each named once in the log at startup). Any other unknown top-level key is an error.
IGNORED_LITELLM_SETTINGS = frozenset(
    {
        "litellm_settings",
        "general_settings",
        "environment_variables",
        "callback_settings",
        "credential_list",
        "guardrails",
        "mcp_servers",
        "search_tools",
        "vector_store_registry",
    }
)


class ConfigError(Exception):
    """The configuration is unusable; the message names the offending entry."""


class LiteLLMParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str  # "provider/upstream-model"
    api_base: str | None = None
    api_key: str | None = None
    timeout: float | None = None  # total seconds per upstream request
    stream_timeout: float | None = None  # longest gap between stream chunks
    connect_timeout: float | None = None
    # TLS to an https:// api_base, with LiteLLM's names: ssl_verify is true (the system CA store), false (no
    # verification) or the path of a CA bundle; ssl_certificate is a client certificate (PEM, with its private
    # key unless ssl_certificate_key names the key's file).
    ssl_verify: bool | str | None = None
    ssl_certificate: str | None = None
    ssl_certificate_key: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    weight: float | None = None
    max_parallel_requests: int | None = None

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"

    @property
    def upstream_model(self) -> str:
        return self.model.split("/", 1)[1] if "/" in self.model else self.model


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    mode: ModelMode = "chat"
    aliases: list[str] = Field(default_factory=list)
    request_limit_multiplier: float | None = None


class ModelDeployment(BaseModel):
    """One `model_list` entry. Entries sharing a model_name form a model group."""

    model_config = ConfigDict(extra="allow")

    model_name: str
    litellm_params: LiteLLMParams
    model_info: ModelInfo = Field(default_factory=ModelInfo)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = "sqlite:///var/aqueduct.db"
    # redis://, rediss://, unix:// or redis+sentinel:// (core.redis_connection lists the forms).
    redis_url: str | None = None
    data_dir: str = "var"
    admin_token: str | None = None
    model_list: list[ModelDeployment] = Field(default_factory=list)
    router_settings: dict[str, Any] = Field(default_factory=dict)

    # Listening addresses for `aqueduct serve` / `aqueduct core` / `aqueduct facade`.
    host: str = "127.0.0.1"
    port: int = 8000
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051

    # HTTP edge bounds (the façade's listener), checked before any work is done for a request. A JSON body
    # above max_request_body_bytes is answered 413 (from Content-Length before it is read, or while it
    # arrives); a request head above max_request_header_bytes 431. A head not received within
    # http_header_timeout_seconds, or a body within http_body_timeout_seconds, closes the connection (408).
    # Connections beyond max_connections are answered 503 and closed (keep `ulimit -n` above it plus the
    # upstream pool). An idle keep-alive connection is closed after http_keepalive_timeout_seconds.
    max_request_body_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BODY_BYTES, ge=1024)
    max_request_header_bytes: int = Field(default=64 * 1024, ge=1024)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=60.0, gt=0)
    max_connections: int = Field(default=4096, ge=1)
    http_keepalive_timeout_seconds: float = Field(default=5.0, gt=0)

    # Auth: how long a token lookup is trusted before the database is asked again. Bounds how long a deleted
    # or regenerated token keeps working on other replicas.
    token_cache_ttl_seconds: float = 3.0
    negative_token_cache_ttl_seconds: float = 1.0
    # Bound on cached token hashes (positive and negative maps each): ~1 KB per entry.
    token_cache_max_entries: int = Field(default=10_000, ge=1)
    max_tokens_per_user: int = 10
    # Failed authentications (unknown or expired tokens) from one client address: after this many within the
    # window, that address gets 429 for auth_failure_block_seconds without any token lookup. 0 turns it off.
    auth_failure_limit: int = Field(default=20, ge=0)
    auth_failure_window_seconds: float = 60.0
    auth_failure_block_seconds: float = 60.0
    # The façade's credential: core trusts the forwarded client address, user agent and endpoint metadata only
    # from a caller presenting it (`aqueduct serve` makes a random one per process when unset; a separate
    # `aqueduct facade` and `aqueduct core` must share one, e.g. AQUEDUCT_FACADE_SECRET).
    facade_secret: str | None = None
    # Addresses (or "*") whose X-Forwarded-For / X-Forwarded-Proto the HTTP server believes; none by default.
    forwarded_allow_ips: list[str] = Field(default_factory=list)

    # Upstream defaults when a deployment does not say.
    default_timeout_seconds: float = 600.0
    default_connect_timeout_seconds: float = 10.0
    # Longest silence between two chunks of an upstream stream (per deployment: litellm_params.stream_timeout).
    default_stream_timeout_seconds: float = 120.0
    # Upstream HTTP connections (one pool shared by every deployment): at most this many to one host and port;
    # an idle keep-alive connection is closed after the expiry instead of reused.
    upstream_max_connections: int = 1000
    upstream_keepalive_expiry_seconds: float = 30.0
    # Streams: most upstream chunks carried by one gRPC message (chunks already received are coalesced).
    stream_max_chunks_per_message: int = 64

    # Usage writer: records are written in batches off the request path.
    usage_flush_interval_seconds: float = 0.5
    usage_batch_size: int = 500
    # Journal usage on local disk (<data_dir>/usage-spool) so a crash loses no answered request (core.usage.spool).
    usage_spool: bool = True
    usage_retention_days: int = 30
    usage_rollup_retention_days: int = 400
    # Per-minute rollups are large; they serve minute buckets and the unaligned ends of a range, and are kept
    # this long (hour rollups: usage_rollup_retention_days).
    usage_minute_rollup_retention_days: int = 30
    # Retention purge: runs this often on every replica, deleting at most usage_purge_batch_size rows per short
    # transaction (so the table is never locked for long) and pausing between batches.
    usage_purge_interval_seconds: float = 3600.0
    usage_purge_batch_size: int = 5000
    usage_purge_pause_seconds: float = 0.05
    # Raw records per message of `aqueduct usage export` (one short query each, keyset-paginated).
    usage_export_batch_size: int = 1000

    # Rate limits and exclusions are read from the database into memory and re-read this often, so a change
    # made through another replica applies everywhere within this many seconds (at once on the replica that
    # made it). Requests never wait for the database.
    governance_cache_ttl_seconds: float = 2.0
    # Redis (when redis_url is set) holds the shared rate-limit windows. Keys start with this prefix.
    rate_limit_redis_prefix: str = "aqueduct:rl:"
    # Longest wait for one Redis call on the request path; after a failure the in-process limiter is used and
    # Redis is probed every redis_retry_interval_seconds until it answers again. Generous on purpose: a busy
    # event loop can delay reading a healthy Redis's answer, and falling back loosens limits across replicas.
    redis_socket_timeout_seconds: float = 1.0
    redis_retry_interval_seconds: float = 1.0
    # Settlements (a request's actual input and output tokens, known after it finished) are summed per window
    # key for this long and sent to Redis together: one script per user-and-key combination instead of one per
    # request. Windows see the correction this much later. 0 sends each at once.
    rate_limit_settle_interval_seconds: float = 0.01
    # Output tokens a chat or completion request reserves in output / total token limits when it sets no
    # max_tokens (max_completion_tokens); capped at the smallest such limit that applies. The real count replaces
    # the reservation when the request ends.
    default_output_token_reservation: int = Field(default=1024, ge=0)
    # Exclusion lists applied to everyone whose org (and user/team) merge flags are on: model names (or aliases)
    # and MCP server names.
    global_model_exclusions: list[str] = Field(default_factory=list)
    global_mcp_exclusions: list[str] = Field(default_factory=list)

    # Files (/v1/files) and batches (/v1/batches); see core/files and core/batches.
    # Where file bytes live: a directory path (the default with SQLite: <data_dir>/files), `database` (chunks in
    # the database; the default with PostgreSQL, so every replica sees every file), or `s3://bucket/prefix`
    # (S3-compatible object storage, with the files_s3_* settings; values may be `os.environ/NAME`).
    files_storage: str | None = None
    files_s3_endpoint: str | None = None
    files_s3_region: str = "us-east-1"
    files_s3_access_key_id: str | None = None
    files_s3_secret_access_key: str | None = None
    # Largest uploaded file (413 above it, from Content-Length before the body is read, or while it arrives).
    # Uploads bypass max_request_body_bytes: they are streamed to storage in chunks, never held in memory.
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    # A batch input file (purpose `batch`): at most this many bytes and lines.
    max_batch_input_bytes: int = Field(default=200 * 1000 * 1000, ge=1)
    max_batch_input_lines: int = Field(default=50_000, ge=1)
    # Active (not ended) batches per user (personal tokens) and per team (service-account tokens); 0: no cap.
    max_active_batches_per_user: int = Field(default=10, ge=0)
    max_active_batches_per_team: int = Field(default=25, ge=0)
    # Batch output and error files expire this long after they are written.
    batch_output_expiry_seconds: int = Field(default=30 * 24 * 3600, ge=1)
    # How long `completion_window: 24h` really is (shorter in tests); a batch not done by then ends `expired`.
    batch_completion_window_seconds: float = Field(default=24 * 3600.0, gt=0)
    # Lines executing at once, per batch and per process (every replica runs batches).
    batch_concurrency_per_batch: int = Field(default=64, ge=1)
    batch_concurrency_per_process: int = Field(default=256, ge=1)
    # A line (or a batch's validation / finalization) claimed by a replica is taken over by another after its
    # lease runs out without renewal (the claimer renews every third of it while alive).
    batch_lease_seconds: float = Field(default=30.0, gt=0)
    # Live traffic first: a batch line is admitted only while every rate-limit window of its owner stays under
    # this share of its limit, so the rest is left for the owner's interactive requests (no 429 for them because
    # of a batch). Lines refused are retried after the window's retry-after, never failed.
    batch_rate_limit_share: float = Field(default=0.8, gt=0, le=1)
    # How often an idle batch worker looks for work, and the expiry sweeper for expired files and batches.
    batch_poll_interval_seconds: float = Field(default=0.5, gt=0)
    file_sweep_interval_seconds: float = Field(default=60.0, gt=0)

    # Streaming: SSE comment keepalive after this much silence.
    stream_keepalive_seconds: float = 15.0
    # Graceful shutdown: how long in-flight requests and streams may take to finish.
    shutdown_grace_seconds: float = 30.0

    log_level: str = "info"
    log_json: bool = False

    # The LiteLLM sections found in the file (and ignored); set by load_settings.
    _ignored: tuple[str, ...] = PrivateAttr(default=())

    @property
    def ignored_litellm_settings(self) -> tuple[str, ...]:
        return self._ignored

    @field_validator("model_list", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_usable(cls, value: str | None) -> str | None:
        if value:
            parse_redis_url(value)  # ValueError with the reason, without connecting
        return value


def log_ignored_settings(settings: Settings) -> None:
    """Once at startup, after logging is set up: the LiteLLM sections the file had and Aqueduct ignores."""
    for key in settings.ignored_litellm_settings:
        log.info("ignored LiteLLM setting %s (Aqueduct does not use it)", key)


def _check_keys(raw: dict[str, Any]) -> None:
    """An unknown top-level key is an error naming the closest known one (a typo must not pass silently)."""
    known = set(Settings.model_fields)
    for key in raw:
        if key in known or key in IGNORED_LITELLM_SETTINGS:
            continue
        close = difflib.get_close_matches(str(key), sorted(known | IGNORED_LITELLM_SETTINGS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"config: unknown setting {key!r}{hint}")


def _resolve_env_refs(value: Any, where: str) -> Any:
    """Replace "os.environ/NAME" strings with the variable's value; a missing variable is a ConfigError."""
    if isinstance(value, str) and value.startswith("os.environ/"):
        name = value.removeprefix("os.environ/")
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]
    if isinstance(value, dict):
        return {k: _resolve_env_refs(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env_refs(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


_ENV_OVERRIDES = {
    "AQUEDUCT_DATABASE_URL": "database_url",
    "AQUEDUCT_REDIS_URL": "redis_url",
    "AQUEDUCT_DATA_DIR": "data_dir",
    "AQUEDUCT_ADMIN_TOKEN": "admin_token",
    "AQUEDUCT_FACADE_SECRET": "facade_secret",
    "AQUEDUCT_LOG_LEVEL": "log_level",
    "AQUEDUCT_LOG_JSON": "log_json",
}


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (if any), apply AQUEDUCT_* env overrides, then keyword overrides; validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        raw = loaded or {}
    _check_keys(raw)
    ignored = tuple(key for key in raw if key in IGNORED_LITELLM_SETTINGS)
    raw = {k: v for k, v in raw.items() if k not in IGNORED_LITELLM_SETTINGS}
    raw = _resolve_env_refs(raw, "config")
    for env, key in _ENV_OVERRIDES.items():
        if os.environ.get(env):
            raw[key] = os.environ[env]
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config: {loc}: {first['msg'].removeprefix('Value error, ')}") from exc
    settings._ignored = ignored
    validate_models(settings.model_list)
    return settings


def validate_models(deployments: list[ModelDeployment]) -> None:
    """Reject unknown providers, and aliases that are duplicated or shadow another model's name."""
    names = {d.model_name for d in deployments}
    alias_owner: dict[str, str] = {}
    for i, dep in enumerate(deployments):
        where = f"model_list[{i}] ({dep.model_name})"
        provider = dep.litellm_params.provider
        if provider not in KNOWN_PROVIDERS:
            raise ConfigError(
                f"{where}: unknown provider prefix {provider!r} in litellm_params.model "
                f"{dep.litellm_params.model!r}; known: {', '.join(sorted(KNOWN_PROVIDERS))}"
            )
        if provider in OPENAI_COMPATIBLE_PROVIDERS and not (
            dep.litellm_params.api_base or provider in DEFAULT_API_BASES
        ):
            raise ConfigError(f"{where}: litellm_params.api_base is required for provider {provider!r}")
        for alias in dep.model_info.aliases:
            if alias in names:
                raise ConfigError(f"{where}: alias {alias!r} equals the name of another model")
            owner = alias_owner.get(alias)
            if owner is not None and owner != dep.model_name:
                raise ConfigError(f"{where}: alias {alias!r} is already used by model {owner!r}")
            alias_owner[alias] = dep.model_name
