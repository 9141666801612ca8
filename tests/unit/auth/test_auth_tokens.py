from __future__ import annotations

import re

from core.auth.tokens import generate_secret, hash_secret, preview


def test_secret_is_sk_plus_32_urlsafe_random_bytes() -> None:
    secrets = {generate_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("sk-")
        assert re.fullmatch(r"sk-[A-Za-z0-9_-]{43,}", secret)  # 32 bytes -> 43 base64url characters


def test_hash_is_hex_sha256_and_deterministic() -> None:
    assert hash_secret("sk-abc") == hash_secret("sk-abc")
    assert hash_secret("sk-abc") != hash_secret("sk-abd")
    assert re.fullmatch(r"[0-9a-f]{64}", hash_secret("sk-abc"))
    # Known vector, so a change of algorithm (which would lock everyone out) fails loudly.
    assert hash_secret("sk-test") == "f3abf2a6cc4f00987743db5f544ba345b4899ae31f326d8ee9c4816de153c9e0"


def test_preview_shows_only_the_ends() -> None:
    secret = "sk-abcdEFGHIJKLMNOPQRSTUVWXYZ0123456789wxyz"
    assert preview(secret) == "sk-abcd…wxyz"
    assert "EFGH" not in preview(secret)
    assert preview("sk-short") == "sk-…"
