"""One settings object, read from a YAML file and AQUEDUCT_* environment variables.

The model list uses the LiteLLM router format (`model_list` with `litellm_params` / `model_info`) so existing
router_config.yaml files load unchanged. Every knob has a documented default here; reading a file (LiteLLM's
sections, `include:`, `environment_variables`, problems with their locations) is core.config's job."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from aqueduct_contract import DEFAULT_MAX_REQUEST_BODY_BYTES
from core.mcp.config import McpServerConfig
from core.provider_presets import HOSTED_APIS, PRESET_API_BASES, TRANSLATING_PRESETS
from core.redis_connection import parse_redis_url

log = logging.getLogger("aqueduct.core.settings")

ModelMode = Literal["chat", "completion", "embedding", "audio_speech", "image_generation", "audio_transcription"]

# Provider prefixes of litellm_params.model that speak the OpenAI HTTP API; `mock` is the built-in demo.
OPENAI_COMPATIBLE_PROVIDERS = frozenset({"openai", "hosted_vllm", "vllm", "openai_compatible"}) | HOSTED_APIS
KNOWN_PROVIDERS = OPENAI_COMPATIBLE_PROVIDERS | {"mock", *TRANSLATING_PRESETS}  # azure/, anthropic/: own adapters
DEFAULT_API_BASES = {"openai": "https://api.openai.com/v1", **PRESET_API_BASES}


class ConfigError(Exception):
    """The configuration is unusable; the message names the offending entry."""


NonNegative = Annotated[float, Field(ge=0)]


class CostFields(BaseModel):
    """LiteLLM's price fields (USD), accepted in model_info and litellm_params and checked to be numbers
    >= 0, so a LiteLLM config loads unchanged. Nothing computes spend from them yet (issue 15's spend and
    budgets part is still to be built)."""

    input_cost_per_token: NonNegative | None = None
    output_cost_per_token: NonNegative | None = None
    cache_read_input_token_cost: NonNegative | None = None
    cache_creation_input_token_cost: NonNegative | None = None
    input_cost_per_token_batches: NonNegative | None = None
    output_cost_per_token_batches: NonNegative | None = None
    input_cost_per_audio_token: NonNegative | None = None
    output_cost_per_audio_token: NonNegative | None = None
    input_cost_per_second: NonNegative | None = None
    output_cost_per_second: NonNegative | None = None
    input_cost_per_image: NonNegative | None = None
    output_cost_per_image: NonNegative | None = None
    input_cost_per_character: NonNegative | None = None
    output_cost_per_character: NonNegative | None = None
    input_cost_per_pixel: NonNegative | None = None
    output_cost_per_pixel: NonNegative | None = None


class LiteLLMParams(CostFields):
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
    # Provider-specific (core.providers): Azure OpenAI's api-version and Entra ID token (else AZURE_API_VERSION,
    # AZURE_AD_TOKEN); request parameters the provider cannot take are dropped instead of refused (else the
    # global drop_params).
    api_version: str | None = None
    azure_ad_token: str | None = None
    drop_params: bool | None = None

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else "openai"

    @property
    def upstream_model(self) -> str:
        return self.model.split("/", 1)[1] if "/" in self.model else self.model


class ModelInfo(CostFields):
    model_config = ConfigDict(extra="allow")

    mode: ModelMode = "chat"
    aliases: list[str] = Field(default_factory=list)
    request_limit_multiplier: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_input_tokens: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)


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
    # An audio upload (POST /v1/audio/transcriptions, /translations) may be this large, OpenAI's 25 MB; its
    # multipart body may exceed it by the form's other fields (http_facade.uploads.FORM_FIELDS_ALLOWANCE). It
    # is streamed to the upstream, never held whole by the façade, so it is not bound by max_request_body_bytes.
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
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

    # MCP proxy (`/mcp-servers/{name}/mcp`): the servers (`mcp_servers:` entries, and the `mcpServers` of the
    # Aqueduct mcp.json at `mcp_config`, relative to this file), how long an unused handshake-era session lives,
    # and the upstream timeouts a server does not set (connect; longest silence between two events).
    mcp_servers: dict[str, McpServerConfig] = Field(default_factory=dict)
    mcp_config: str | None = None
    mcp_session_idle_timeout_seconds: float = Field(default=3600.0, gt=0)
    mcp_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    mcp_read_timeout_seconds: float = Field(default=300.0, gt=0)
    # DNS-rebinding protection on the MCP routes (env MCP_ALLOWED_HOSTS / MCP_ALLOWED_ORIGINS, comma-separated):
    # a Host not listed is 421, an Origin not listed 403. Entries are exact (`gw.example.com`, `localhost:8000`),
    # `host:*` for any port, or `*`. No hosts listed: any Host. No origins listed: only an Origin naming the
    # request's own Host (same origin), or none, is accepted.
    mcp_allowed_hosts: list[str] = Field(default_factory=list)
    mcp_allowed_origins: list[str] = Field(default_factory=list)
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

    # Request parameters an upstream provider does not support are dropped instead of refused (LiteLLM's
    # drop_params; also litellm_settings.drop_params and per deployment litellm_params.drop_params).
    drop_params: bool = False

    # Set by core.config.loader: what is logged once at startup (keys accepted but not used), and the
    # config's environment_variables, given to the process environment by the server commands.
    _notices: tuple[str, ...] = PrivateAttr(default=())
    _environment: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def notices(self) -> tuple[str, ...]:
        return self._notices

    @property
    def environment_variables(self) -> dict[str, str]:
        return dict(self._environment)

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
    """Once at startup, after logging is set up: each key the file had that Aqueduct accepts but does not
    use, as a warning."""
    for notice in settings.notices:
        log.warning("%s", notice)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the YAML file (if any, with its include: files), apply AQUEDUCT_* env overrides, then keyword
    overrides; validate. Raises ConfigError listing every problem found (core.config.loader)."""
    from core.config.loader import load_settings as load

    return load(path, **overrides)
