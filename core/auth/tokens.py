"""API token secrets: `sk-` + 32 random bytes, URL-safe. Only the SHA-256 hash and a short preview are stored.

A plain (unsalted) SHA-256 is right here: the secret has 256 bits of entropy, so there is nothing to brute
force, and the hash must be a deterministic index key for a one-lookup authentication."""

from __future__ import annotations

import hashlib
import secrets

SECRET_PREFIX = "sk-"
SECRET_BYTES = 32
# Characters of the secret body shown at each end of the preview.
PREVIEW_CHARS = 4


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of the secret, as stored in api_tokens.secret_hash."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def preview(secret: str) -> str:
    """A non-secret reminder of which token this is: `sk-abcd…wxyz`."""
    body = secret.removeprefix(SECRET_PREFIX)
    if len(body) <= 2 * PREVIEW_CHARS:
        return SECRET_PREFIX + "…"
    return f"{SECRET_PREFIX}{body[:PREVIEW_CHARS]}…{body[-PREVIEW_CHARS:]}"
