"""A small tenancy world for authorization tests: two orgs, every kind of actor, one team and its service
account. Principals are built the way the authenticator builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.auth.principal import Principal, Role
from core.tenancy import OrgView, TenancyService, UserView

BOOT = Principal(role=Role.ADMIN, is_bootstrap_admin=True)


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


async def build_world(svc: TenancyService) -> World:
    w = World()
    for name in ("acme", "globex"):
        w.orgs[name] = await svc.create_org(BOOT, name)
    people = {
        "admin": ("admin@acme.test", "acme", Role.ADMIN),
        "oa": ("oa@acme.test", "acme", Role.ORG_ADMIN),
        "ta": ("ta@acme.test", "acme", Role.USER),
        "u": ("u@acme.test", "acme", Role.USER),
        "other": ("other@acme.test", "acme", Role.USER),
        "ob": ("ob@globex.test", "globex", Role.ORG_ADMIN),
        "ub": ("ub@globex.test", "globex", Role.USER),
    }
    for key, (email, org, role) in people.items():
        w.users[key] = await svc.create_user(BOOT, email, org, role)
        w.actors[key] = principal_of(w.users[key], w.orgs[org])
    w.actors["boot"] = BOOT
    await svc.create_team(BOOT, "eng", "acme")
    await svc.create_team(BOOT, "ops", "globex")
    await svc.add_team_member(BOOT, "eng", "acme", "ta@acme.test", team_admin=True)
    await svc.add_team_member(BOOT, "eng", "acme", "u@acme.test")
    bot = await svc.create_service_account(BOOT, "bot", "eng", "acme", "ta@acme.test")
    w.bot_token_id = bot.service_account.token_id
    w.actors["sa"] = Principal(
        role=Role.USER,
        user_id=w.users["ta"].id,
        org_id=w.orgs["acme"].id,
        token_id=bot.service_account.token_id,
        team_id="eng",
        service_account_id=bot.service_account.id,
    )
    w.user_token_id = (await svc.create_token(BOOT, "u@acme.test", "laptop")).token.id
    return w
