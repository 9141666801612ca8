"""Which limits apply: per-member with the user's own limit overriding the org's field by field, service
accounts under their team's member limit, token caps, org and team pools, model capacity and multipliers."""

from __future__ import annotations

from core.auth.principal import Principal, Role
from core.governance.limits.model import NONE, REQUEST_UNITS, Level, LimitValues, ScopeKind
from core.governance.limits.plan import ModelLimit, model_limits_from_settings, plan_checks
from core.governance.limits.store import LimitTable
from core.settings import Settings

U = REQUEST_UNITS
PERSON = Principal(
    role=Role.USER,
    token_id="tok",
    token_name="laptop",
    user_id="u1",
    user_email="ann@acme.test",
    org_id="o1",
    org_name="acme",
)
ROBOT = Principal(
    role=Role.USER,
    token_id="tok-sa",
    user_id="u1",
    org_id="o1",
    org_name="acme",
    team_id="t1",
    team_name="eng",
    service_account_id="sa1",
    service_account_name="bot",
)


def table(**rows: LimitValues) -> LimitTable:
    keys = {
        "org": (ScopeKind.ORG, "o1", False),
        "org_total": (ScopeKind.ORG, "o1", True),
        "team": (ScopeKind.TEAM, "t1", False),
        "team_total": (ScopeKind.TEAM, "t1", True),
        "user": (ScopeKind.USER, "u1", False),
        "token": (ScopeKind.TOKEN, "tok", False),
        "sa_token": (ScopeKind.TOKEN, "tok-sa", False),
    }
    return LimitTable({keys[name]: values for name, values in rows.items()})


def test_no_limits_means_no_checks() -> None:
    assert plan_checks(PERSON, "gpt", LimitTable(), {}, 10) == []


def test_user_limit_overrides_the_org_member_limit_field_by_field() -> None:
    limits = table(org=LimitValues(rpm=10, input_tpm=1000), user=LimitValues(rpm=50))
    [member] = plan_checks(PERSON, "gpt", limits, {}, 12)
    assert member.level is Level.MEMBER and member.key == "m:u:u1"
    assert member.limits == (50 * U, 1000, NONE, NONE)
    assert member.sources[0] == "user ann@acme.test's own limit"
    assert member.sources[1] == "org acme's per-member limit"
    assert member.costs == (U, 12, 0, 12)


def test_service_accounts_fall_under_their_team_then_the_org() -> None:
    limits = table(org=LimitValues(rpm=10, output_tpm=5), team=LimitValues(rpm=3), user=LimitValues(rpm=99))
    [member] = plan_checks(ROBOT, None, limits, {}, 0)
    assert member.key == "m:sa:sa1" and member.subject == "service account bot"
    assert member.limits[:3] == (3 * U, NONE, 5)
    assert member.sources[0] == "team eng's per-member limit"


def test_every_level_applies_at_once() -> None:
    limits = table(
        org=LimitValues(rpm=10),
        org_total=LimitValues(rpm=100),
        team_total=LimitValues(input_tpm=500),
        sa_token=LimitValues(output_tpm=7),
    )
    models = {"gpt": ModelLimit(rpm=1000, tpm=None)}
    checks = plan_checks(ROBOT, "gpt", limits, models, 3)
    assert [(c.level, c.key) for c in checks] == [
        (Level.MEMBER, "m:sa:sa1"),
        (Level.TOKEN, "t:tok-sa"),
        (Level.ORG_POOL, "o:o1"),
        (Level.TEAM_POOL, "tm:t1"),
        (Level.MODEL, "model:gpt"),
    ]


def test_a_personal_token_never_meets_a_team_pool() -> None:
    limits = table(team_total=LimitValues(rpm=1), token=LimitValues(rpm=2))
    assert [c.level for c in plan_checks(PERSON, None, limits, {}, 0)] == [Level.TOKEN]


def test_multiplier_weighs_quota_requests_but_not_model_capacity() -> None:
    limits = table(user=LimitValues(rpm=10))
    models = {"big": ModelLimit(rpm=60, tpm=6000, request_multiplier=2.0)}
    member, model = plan_checks(PERSON, "big", limits, models, 5)
    assert member.costs[0] == U // 2
    assert model.costs == (U, 5, 0, 5)
    assert model.limits == (60 * U, NONE, NONE, 6000)


def test_model_limits_sum_over_deployments_only_when_all_are_capped() -> None:
    def entry(name: str, **params: object) -> dict[str, object]:
        return {"model_name": name, "litellm_params": {"model": f"mock/{name}", **params}}

    settings = Settings.model_validate(
        {
            "model_list": [
                entry("a", rpm=10, tpm=100),
                entry("a", rpm=5, tpm=50),
                entry("b", rpm=10),
                entry("b"),
                {**entry("c"), "model_info": {"request_limit_multiplier": 4}},
            ]
        }
    )
    limits = model_limits_from_settings(settings)
    assert limits["a"] == ModelLimit(rpm=15, tpm=150)
    assert limits["b"] == ModelLimit(rpm=None, tpm=None)
    assert limits["c"].request_multiplier == 4.0
