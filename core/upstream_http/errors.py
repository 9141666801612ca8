"""What can go wrong talking HTTP/1.1 to an upstream; one base class so callers catch one thing."""

from __future__ import annotations


class UpstreamHTTPError(Exception):
    """Base of every error raised by core.upstream_http."""


class ConnectError(UpstreamHTTPError):
    """The TCP connection could not be made (refused, unreachable)."""


class ConnectTimeout(ConnectError):
    """The TCP connection was not made within connect_timeout_seconds."""


class ReadTimeout(UpstreamHTTPError):
    """No byte of the response arrived for read_timeout_seconds."""


class PoolTimeout(UpstreamHTTPError):
    """Every connection of the origin stayed busy for pool_timeout_seconds."""


class RemoteProtocolError(UpstreamHTTPError):
    """The upstream sent something that is not HTTP/1.1, or closed the connection mid-response."""


class ConnectionClosed(RemoteProtocolError):
    """The connection closed before the response was complete."""


class ClientClosed(UpstreamHTTPError):
    """The client was closed."""
