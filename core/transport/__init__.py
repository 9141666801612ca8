"""In-process transport between the façade and core for `aqueduct serve`: the gRPC contract, no network.

Public names: LocalChannel (a grpc.aio.Channel for the generated stubs), LocalChannelSettings, RecordingServer
(wraps core's grpc.aio server and records its method handlers) and HandlerTable."""

from .handler_table import HandlerTable, LocalCallDetails, RecordingServer
from .local_channel import LocalChannel, LocalChannelSettings

__all__ = ["HandlerTable", "LocalCallDetails", "LocalChannel", "LocalChannelSettings", "RecordingServer"]
