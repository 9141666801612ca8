"""Exclusions through the real SDK and CLI: an excluded model is absent from /models and answers 404 like an
unknown model, by name and by alias; inheritance through org, user, team and the global list."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest

from tests.integration.governance.conftest import MESSAGES, Tenant, sdk


def visible(tenant: Tenant, token: str) -> set[str]:
    return {m.id for m in sdk(tenant.gateway, token).models.list()}


def assert_hidden(tenant: Tenant, token: str, model: str, alias: str | None = None) -> None:
    oc = sdk(tenant.gateway, token)
    assert model not in visible(tenant, token)
    for name in filter(None, (model, alias)):
        with pytest.raises(openai.NotFoundError) as caught:
            oc.chat.completions.create(model=name, messages=MESSAGES)
        assert caught.value.code == "model_not_found"
        assert f"The model `{name}` does not exist" in caught.value.message
        with pytest.raises(openai.NotFoundError):
            oc.models.retrieve(name)


def test_org_exclusion_hides_by_name_and_alias(tenant: Tenant) -> None:
    _, ann = tenant.user("ann")
    assert {"chat-model", "other-model"} <= visible(tenant, ann)
    assert "global-hidden" not in visible(tenant, ann)  # the config's global list
    tenant.cli("exclusions", "add", "--org", tenant.org, "--model", "main")  # by alias
    tenant.cli("exclusions", "add", "--org", tenant.org, "--model", "main")  # adding again is no error
    assert_hidden(tenant, ann, "chat-model", "main")
    assert sdk(tenant.gateway, ann).chat.completions.create(model="other", messages=MESSAGES).choices
    tenant.cli("exclusions", "remove", "--org", tenant.org, "--model", "main")
    assert "chat-model" in visible(tenant, ann)
    gone = tenant.cli("exclusions", "remove", "--org", tenant.org, "--model", "main", check=False)
    assert gone.returncode == 1 and "not found" in gone.stderr


def test_user_merge_off_drops_org_and_global_lists(tenant: Tenant) -> None:
    ann_email, ann = tenant.user("ann")
    _, bob = tenant.user("bob")
    tenant.cli("exclusions", "add", "--org", tenant.org, "--model", "chat-model")
    tenant.cli("exclusions", "add", "--user", ann_email, "--model", "other-model")
    tenant.cli("exclusions", "merge", "--user", ann_email, "off")
    seen = visible(tenant, ann)
    assert "other-model" not in seen and {"chat-model", "global-hidden"} <= seen
    assert_hidden(tenant, bob, "chat-model", "main")
    assert "other-model" in visible(tenant, bob)
    # The org stops the global list for everyone who merges up to it.
    tenant.cli("exclusions", "merge", "--org", tenant.org, "off", "--kind", "model")
    assert "global-hidden" in visible(tenant, bob)
    shown = json.loads(tenant.cli("exclusions", "show", "--user", ann_email, "--json").stdout)
    models = next(row for row in shown if row["kind"] == "model")
    assert models == {"kind": "model", "names": "other-model", "merge": False, "effective_names": "other-model"}


def test_team_list_applies_to_its_service_accounts_only(tenant: Tenant) -> None:
    owner, person = tenant.user("owner")
    team = tenant.team("eng")
    _, bot = tenant.service_account(team, owner, "bot")
    tenant.cli("exclusions", "add", "--team", team, "--org", tenant.org, "--model", "other-model")
    tenant.cli("exclusions", "add", "--team", team, "--org", tenant.org, "--mcp-server", "github")
    assert_hidden(tenant, bot, "other-model", "other")
    assert "other-model" in visible(tenant, person)
    shown = json.loads(tenant.cli("exclusions", "show", "--team", team, "--org", tenant.org, "--json").stdout)
    assert {row["kind"]: row["names"] for row in shown} == {"model": "other-model", "mcp-server": "github"}


def test_only_admins_and_org_admins_change_exclusions(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    denied = tenant.cli("exclusions", "add", "--user", email, "--model", "x", token=ann, check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    assert tenant.cli("exclusions", "show", "--user", email, token=ann).returncode == 0


def test_an_excluded_model_answers_byte_for_byte_like_an_unknown_one(tenant: Tenant) -> None:
    # The config's global list excludes "global-hidden"; "global-hiddex" (same length, so Content-Length matches
    # too) is configured nowhere. Apart from the name, status, headers and body must be the same bytes.
    _, ann = tenant.user("ann")

    def answer(method: str, path: str, model: str) -> tuple[int, dict[str, str], bytes]:
        body = {"model": model, "messages": MESSAGES} if method == "POST" else None
        with httpx2.Client(base_url=tenant.gateway.v1) as http:
            reply = http.request(
                method, path, json=body, headers={"authorization": f"Bearer {ann}", "x-request-id": "same-request"}
            )
        headers = {k: v for k, v in reply.headers.items() if k != "date"}
        return reply.status_code, headers, reply.content.replace(model.encode(), b"<model>")

    for method, path in (("POST", "/chat/completions"), ("GET", "/models/{}")):
        excluded = answer(method, path.format("global-hidden"), "global-hidden")
        unknown = answer(method, path.format("global-hiddex"), "global-hiddex")
        assert excluded[0] == 404
        assert excluded == unknown
        assert b"The model `<model>` does not exist" in excluded[2]
