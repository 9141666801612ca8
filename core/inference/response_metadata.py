"""The response metadata of one inference RPC: the one place every producer writes what the client is told
besides the answer itself, sent once by the servicer as initial metadata when the upstream accepted (for unary
calls and streams alike). The façade turns the pairs into HTTP headers of the same names (aqueduct_contract).

Producers: rate-limit admission (the x-ratelimit-* values of the windows the request was checked against) and
the router (which model group and deployment answered); core.inference.pipeline writes both."""

from __future__ import annotations

from collections.abc import Mapping

from aqueduct_contract import DEPLOYMENT, MODEL_GROUP

Metadata = tuple[tuple[str, str], ...]


class ResponseMetadata:
    __slots__ = ("_pairs",)

    def __init__(self) -> None:
        self._pairs: dict[str, str] = {}

    def update(self, pairs: Mapping[str, str]) -> None:
        for key, value in pairs.items():
            # gRPC metadata values must be printable ASCII (a model name need not be): such a value stays out
            # rather than failing the call.
            if value.isascii() and value.isprintable():
                self._pairs[key] = value

    def served_by(self, model_group: str, deployment: str) -> None:
        self.update({MODEL_GROUP: model_group, DEPLOYMENT: deployment})

    def pairs(self) -> Metadata:
        return tuple(self._pairs.items())
