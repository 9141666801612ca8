"""The one way Aqueduct callers present a token: `authorization: Bearer <token>` gRPC metadata."""

from __future__ import annotations

AUTHORIZATION_KEY = "authorization"


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return ((AUTHORIZATION_KEY, f"Bearer {token}"),)
