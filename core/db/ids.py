"""Server-assigned ids: 32 hex characters that sort by creation time, so "order by id" is creation order and
an id is a stable pagination cursor."""

from __future__ import annotations

import secrets
import time

ID_LENGTH = 32


def new_id() -> str:
    # 16 hex digits of nanoseconds since the epoch, then 64 random bits.
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"
