"""ResponseMetadata: what the producers write is what the one send step sends; values gRPC cannot carry stay
out instead of failing the call."""

from __future__ import annotations

from core.inference.response_metadata import ResponseMetadata


def test_limits_and_router_write_into_one_object() -> None:
    metadata = ResponseMetadata()
    metadata.update({"x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "4"})
    metadata.served_by("chat", "chat#1")
    assert metadata.pairs() == (
        ("x-ratelimit-limit-requests", "5"),
        ("x-ratelimit-remaining-requests", "4"),
        ("x-aqueduct-model-group", "chat"),
        ("x-aqueduct-deployment", "chat#1"),
    )


def test_values_that_are_not_printable_ascii_stay_out() -> None:
    metadata = ResponseMetadata()
    metadata.served_by("modèle", "modèle#0")
    metadata.update({"x-ratelimit-reset-requests": "1s\n"})
    assert metadata.pairs() == ()
