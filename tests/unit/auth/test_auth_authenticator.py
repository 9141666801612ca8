"""Authenticator against a real database: header parsing, bootstrap admin, principals, expiry, revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import delete

from core.auth.authenticator import Authenticator
from core.auth.principal import Role
from core.auth.tokens import generate_secret
from core.db.engine import create_engine, create_sessionmaker
from core.db.tables import ApiTokenRow
from core.errors import InvalidToken, MissingCredentials, TokenExpired
from core.settings import Settings
from core.tenancy import Tenancy
from core.tenancy.names import OrgName, ServiceAccountName, TeamName, TokenName, UserName
from tests.unit.auth.fake_clock import FakeClock
from tests.unit.tenancy.world import BOOT

OA = UserName("oa@acme.test")

ADMIN_TOKEN = "sk-admin-bootstrap-secret"


@dataclass
class Env:
    auth: Authenticator
    tenancy: Tenancy
    clock: FakeClock
    engine: object


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    engine = create_engine(database_url)
    settings = Settings(database_url=database_url)  # default TTLs: 3 s positive, 1 s negative
    clock = FakeClock()
    auth = Authenticator(engine, settings, ADMIN_TOKEN, clock=clock)
    tenancy = Tenancy.create(create_sessionmaker(engine), auth, settings, clock=clock)
    await tenancy.orgs.create(BOOT, OrgName("acme"))
    await tenancy.users.create(BOOT, OA, OrgName("acme"), Role.ORG_ADMIN)
    await tenancy.teams.create(BOOT, TeamName("acme", "eng"))
    try:
        yield Env(auth, tenancy, clock, engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("header", [None, "", "   "])
async def test_missing_credentials(env: Env, header: str | None) -> None:
    with pytest.raises(MissingCredentials):
        await env.auth.authenticate(header)


@pytest.mark.parametrize(
    "header",
    ["Basic abc", "Bearer", "sk-no-scheme", "Bearer not-a-key", "Bearer " + generate_secret()],
    ids=["basic", "bearer-only", "no-scheme", "not-a-key", "unknown-key"],  # stable ids: xdist workers must agree
)
async def test_invalid_tokens(env: Env, header: str) -> None:
    with pytest.raises(InvalidToken):
        await env.auth.authenticate(header)


async def test_bootstrap_admin(env: Env) -> None:
    principal = await env.auth.authenticate(f"Bearer {ADMIN_TOKEN}")
    assert principal.role is Role.ADMIN and principal.is_bootstrap_admin and principal.user_id is None
    assert (await env.auth.authenticate(f"bearer   {ADMIN_TOKEN}  ")).is_bootstrap_admin


async def test_personal_token_principal(env: Env) -> None:
    created = await env.tenancy.tokens.create(BOOT, OA, "laptop")
    p = await env.auth.authenticate(f"Bearer {created.secret}")
    assert (p.role, p.user_email, p.org_name, p.token_id, p.token_name) == (
        Role.ORG_ADMIN,
        "oa@acme.test",
        "acme",
        created.token.id,
        "laptop",
    )
    assert p.service_account_id is None and not p.is_bootstrap_admin


async def test_service_account_principal_is_a_plain_user_of_its_team(env: Env) -> None:
    created = await env.tenancy.service_accounts.create(BOOT, ServiceAccountName("acme", "eng", "bot"), OA)
    p = await env.auth.authenticate(f"Bearer {created.secret}")
    assert p.role is Role.USER  # not its owner's org-admin role
    assert (p.service_account_name, p.team_name, p.org_name, p.user_email) == ("bot", "eng", "acme", "oa@acme.test")
    assert p.service_account_id == created.service_account.id


async def test_repeated_authentication_hits_the_cache(env: Env) -> None:
    created = await env.tenancy.tokens.create(BOOT, OA, "")
    for _ in range(50):
        await env.auth.authenticate(f"Bearer {created.secret}")
    assert env.auth.cache.loads == 1


async def test_expiry_is_checked_on_every_request_without_the_database(env: Env) -> None:
    created = await env.tenancy.tokens.create(BOOT, OA, "", expires_at=env.clock.now() + timedelta(seconds=2))
    await env.auth.authenticate(f"Bearer {created.secret}")
    env.clock.advance(2.5)  # still within the cache TTL
    with pytest.raises(TokenExpired):
        await env.auth.authenticate(f"Bearer {created.secret}")
    assert env.auth.cache.loads == 1


async def test_local_delete_and_regenerate_take_effect_at_once(env: Env) -> None:
    first = await env.tenancy.tokens.create(BOOT, OA, "")
    await env.auth.authenticate(f"Bearer {first.secret}")
    regenerated = await env.tenancy.tokens.regenerate(BOOT, TokenName(first.token.id))
    with pytest.raises(InvalidToken):
        await env.auth.authenticate(f"Bearer {first.secret}")
    await env.auth.authenticate(f"Bearer {regenerated.secret}")
    await env.tenancy.tokens.delete(BOOT, TokenName(first.token.id))
    with pytest.raises(InvalidToken):
        await env.auth.authenticate(f"Bearer {regenerated.secret}")


async def test_delete_on_another_replica_takes_effect_within_the_ttl(env: Env) -> None:
    created = await env.tenancy.tokens.create(BOOT, OA, "")
    await env.auth.authenticate(f"Bearer {created.secret}")
    async with create_sessionmaker(env.engine)() as session:  # type: ignore[arg-type]
        await session.exec(delete(ApiTokenRow))  # what another replica's DeleteToken does to the table
        await session.commit()
    env.clock.advance(2.0)
    await env.auth.authenticate(f"Bearer {created.secret}")  # still cached here: allowed within the TTL
    env.clock.advance(1.5)
    with pytest.raises(InvalidToken):
        await env.auth.authenticate(f"Bearer {created.secret}")


async def test_deleting_the_user_revokes_at_once(env: Env) -> None:
    created = await env.tenancy.tokens.create(BOOT, OA, "")
    await env.auth.authenticate(f"Bearer {created.secret}")
    await env.tenancy.users.delete(BOOT, OA)
    with pytest.raises(InvalidToken):
        await env.auth.authenticate(f"Bearer {created.secret}")
