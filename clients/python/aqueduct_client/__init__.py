"""Aqueduct Python client: typed helpers over the generated gRPC stubs.

The client is imported lazily so the `aqueduct` CLI, which lives in this package too, does not pay for
loading every service's stubs on each run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aqueduct_client.client import AqueductClient, ChatOptions

__all__ = ["AqueductClient", "ChatOptions"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from aqueduct_client import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
