"""A small tenancy world for authorization tests: two orgs, every kind of actor, one team and its service
account. Principals are built the way the authenticator builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.auth.principal import Principal, Role
from core.tenancy import OrgView, Tenancy, UserView
from core.tenancy.names import OrgName, ServiceAccountName, TeamName, UserName

BOOT = Principal(role=Role.ADMIN, is_bootstrap_admin=True)
ACME = OrgName("acme")
GLOBEX = OrgName("globex")
ENG = TeamName("acme", "eng")
OPS = TeamName("globex", "ops")
BOT = ServiceAccountName("acme", "eng", "bot")


def user(email: str) -> UserName:
    return UserName(email)


def principal_of(user: UserView, org: OrgView) -> Principal:
    return Principal(
        role=user.role, user_id=user.id, user_email=user.email, org_id=org.id, org_name=org.name, token_id="t"
    )


@dataclass
class World:
    orgs: dict[str, OrgView] = field(default_factory=dict)
    users: dict[str, UserView] = field(default_factory=dict)
    actors: dict[str, Principal] = field(default_factory=dict)
    user_token_id: str = ""
    bot_token_id: str = ""


async def build_world(t: Tenancy) -> World:
    w = World()
    for name in (ACME, GLOBEX):
        w.orgs[name.org] = await t.orgs.create(BOOT, name)
    people = {
        "admin": ("admin@acme.test", ACME, Role.ADMIN),
        "oa": ("oa@acme.test", ACME, Role.ORG_ADMIN),
        "ta": ("ta@acme.test", ACME, Role.USER),
        "u": ("u@acme.test", ACME, Role.USER),
        "other": ("other@acme.test", ACME, Role.USER),
        "ob": ("ob@globex.test", GLOBEX, Role.ORG_ADMIN),
        "ub": ("ub@globex.test", GLOBEX, Role.USER),
    }
    for key, (email, org, role) in people.items():
        w.users[key] = await t.users.create(BOOT, UserName(email), org, role)
        w.actors[key] = principal_of(w.users[key], w.orgs[org.org])
    w.actors["boot"] = BOOT
    await t.teams.create(BOOT, ENG)
    await t.teams.create(BOOT, OPS)
    await t.members.create(BOOT, ENG, UserName("ta@acme.test"), team_admin=True)
    await t.members.create(BOOT, ENG, UserName("u@acme.test"), team_admin=False)
    bot = await t.service_accounts.create(BOOT, BOT, UserName("ta@acme.test"))
    w.bot_token_id = bot.service_account.token_id
    w.actors["sa"] = Principal(
        role=Role.USER,
        user_id=w.users["ta"].id,
        org_id=w.orgs["acme"].id,
        token_id=bot.service_account.token_id,
        team_id="eng",
        service_account_id=bot.service_account.id,
    )
    w.user_token_id = (await t.tokens.create(BOOT, UserName("u@acme.test"), "laptop")).token.id
    return w
