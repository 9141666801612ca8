"""The façade's own knobs. The façade holds no state and reads no config file: the CLI passes these in."""

from __future__ import annotations

from dataclasses import dataclass

from aqueduct_contract import DEFAULT_MAX_REQUEST_BODY_BYTES, grpc_message_limit


@dataclass(frozen=True, slots=True)
class FacadeSettings:
    # An SSE comment (": keepalive") is sent after this many seconds without a chunk, so proxies and clients
    # do not time out a stream whose model is thinking. Also how long the first chunk may take before the
    # response headers are committed (errors up to then are ordinary HTTP errors).
    stream_keepalive_seconds: float = 15.0
    # Deadline of the grpc.health.v1 Check behind GET /health.
    health_check_timeout_seconds: float = 2.0
    # Largest JSON request body (413 above it), checked from Content-Length before the body is read and again
    # while it arrives.
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    # Largest audio file of a transcription or translation upload (413 above it); the multipart body may be
    # larger by the form's other fields (http_facade.uploads). Streamed to core, not buffered.
    max_upload_bytes: int = 25 * 1024 * 1024
    # Largest uploaded file (`POST /v1/files`, 413 above it). Uploads are not bound by max_request_body_bytes:
    # they are streamed to core in chunks of at most 1 MiB, never held whole.
    max_file_bytes: int = 512 * 1024 * 1024
    # Longest client-supplied x-request-id that is forwarded as is; longer (or non-printable) ones are replaced.
    max_request_id_length: int = 128
    # Sent to core with every call (FACADE_CREDENTIAL) so core believes the forwarded client address, user agent
    # and endpoint; None sends none (core then records the façade itself as the client).
    facade_credential: str | None = None
    # Bodies above this size are parsed (JSON -> protobuf) in a worker thread, so a large one does not stall
    # every other request on the event loop; smaller ones are parsed inline (a thread hop costs ~50 µs).
    offload_parse_bytes: int = 256 * 1024
    # MCP routes' DNS-rebinding protection (core.settings: mcp_allowed_hosts / mcp_allowed_origins).
    mcp_allowed_hosts: tuple[str, ...] = ()
    mcp_allowed_origins: tuple[str, ...] = ()

    @property
    def max_grpc_message_bytes(self) -> int:
        """Largest gRPC message the façade sends to / accepts from core; the same as core's server."""
        return grpc_message_limit(self.max_request_body_bytes)
