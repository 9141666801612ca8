"""Knobs of the upstream HTTP/1.1 client, with their documented defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UpstreamHTTPSettings:
    # Establishing the TCP connection.
    connect_timeout_seconds: float = 10.0
    # The longest silence while waiting for the response head or the next body bytes (per read, not total).
    read_timeout_seconds: float = 600.0
    # Waiting for a free connection when an origin has max_connections_per_origin in use.
    pool_timeout_seconds: float = 30.0
    # Connections to one origin (scheme, host, port), busy and idle together.
    max_connections_per_origin: int = 100
    # Idle keep-alive connections kept per origin; more are closed when released.
    max_idle_per_origin: int = 20
    # An idle connection older than this is closed rather than reused (servers drop idle ones, often at 5-75 s).
    keepalive_expiry_seconds: float = 5.0
    # Body bytes buffered ahead of the reader before the socket stops being read (backpressure).
    read_buffer_high_water_bytes: int = 256 * 1024
