"""The scope flags the governance and usage verbs share (--org / --team with --org / --user / --token-id),
turned into the scope's resource name."""

from __future__ import annotations

import argparse

from aqueduct_client.cli._errors import CliError
from aqueduct_client.governance_names import org_scope, team_scope, token_scope, user_scope


def add_scope_arguments(parser: argparse.ArgumentParser, *, token: bool, required: bool = True) -> None:
    """--org ORG | --team TEAM --org ORG | --user EMAIL [| --token-id ID]; checked by scope_of()."""
    parser.add_argument("--org", default="", help="an org (alone), or the team's org")
    parser.add_argument("--team", default="", help="a team (with --org)")
    parser.add_argument("--user", default="", metavar="EMAIL", help="a user")
    if token:
        parser.add_argument("--token-id", default="", metavar="ID", help="one API token")
    parser.set_defaults(scope_required=required, scope_with_token=token)


def scope_of(args: argparse.Namespace) -> str:
    """The resource name of the scope the flags name ("" for none, when optional); a usage error unless they
    name exactly one."""
    org, team, user = args.org.strip(), args.team.strip(), args.user.strip()
    token_id = getattr(args, "token_id", "").strip()
    with_token = " | --token-id ID" if getattr(args, "scope_with_token", False) else ""
    usage = f"name one scope: --org ORG | --team TEAM --org ORG | --user EMAIL{with_token}"
    if "/" in org + team + token_id:
        raise CliError("org, team and token names never hold a '/'", exit_code=2)
    if team:
        if not org or user or token_id:
            raise CliError(usage, exit_code=2)
        return team_scope(org, team)
    given = sum(bool(v) for v in (org, user, token_id))
    if given > 1 or (given == 0 and getattr(args, "scope_required", True)):
        raise CliError(usage, exit_code=2)
    if org:
        return org_scope(org)
    if user:
        return user_scope(user)
    return token_scope(token_id) if token_id else ""
