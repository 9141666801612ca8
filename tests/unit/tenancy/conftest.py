"""The tenancy resource classes over the migrated database of each test (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.auth.authenticator import Authenticator
from core.db.engine import create_engine, create_sessionmaker
from core.settings import Settings
from core.tenancy import Tenancy


@pytest.fixture
async def tenancy(database_url: str) -> AsyncIterator[Tenancy]:
    engine = create_engine(database_url)
    settings = Settings(database_url=database_url, max_tokens_per_user=3)
    authenticator = Authenticator(engine, settings, admin_token=None)
    try:
        yield Tenancy.create(create_sessionmaker(engine), authenticator, settings)
    finally:
        await engine.dispose()
