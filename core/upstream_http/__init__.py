"""A lean HTTP/1.1 client for upstream providers (asyncio Protocol + httptools, keep-alive pools per origin).

Public names: UpstreamHTTPClient, UpstreamResponse, UpstreamHTTPSettings and the errors (all subclasses of
UpstreamHTTPError)."""

from .client import UpstreamHTTPClient, UpstreamResponse
from .errors import (
    ClientClosed,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    RemoteProtocolError,
    UpstreamHTTPError,
)
from .settings import UpstreamHTTPSettings

__all__ = [
    "ClientClosed",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosed",
    "PoolTimeout",
    "ReadTimeout",
    "RemoteProtocolError",
    "UpstreamHTTPClient",
    "UpstreamHTTPError",
    "UpstreamHTTPSettings",
    "UpstreamResponse",
]
