"""Input validation; failures are InvalidRequest naming the offending field."""

from __future__ import annotations

import re

from core.db.tables.tenancy import EMAIL_LENGTH, NAME_LENGTH, TOKEN_NAME_LENGTH
from core.errors import InvalidRequest

# Deliberately loose: one @, no spaces, something on both sides. Deliverability is not our concern.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# Names appear in URLs, CLI arguments and metrics labels.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEFAULT_TOKEN_NAME = "default"


def email(value: str, field: str = "email") -> str:
    value = value.strip().lower()
    if not value:
        raise InvalidRequest(f"{field} is required", field=field)
    if len(value) > EMAIL_LENGTH or not _EMAIL.match(value):
        raise InvalidRequest(f"{field} is not a valid email address: {value[:EMAIL_LENGTH]!r}", field=field)
    return value


def name(value: str, field: str = "name") -> str:
    value = value.strip()
    if not value:
        raise InvalidRequest(f"{field} is required", field=field)
    if len(value) > NAME_LENGTH or not _NAME.match(value):
        raise InvalidRequest(
            f"{field} must be 1-{NAME_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit",
            field=field,
        )
    return value


def token_name(value: str, field: str = "name") -> str:
    value = value.strip() or DEFAULT_TOKEN_NAME
    if len(value) > TOKEN_NAME_LENGTH or not value.isprintable():
        raise InvalidRequest(f"{field} must be at most {TOKEN_NAME_LENGTH} printable characters", field=field)
    return value
