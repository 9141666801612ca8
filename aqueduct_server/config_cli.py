"""`aqueduct config check FILE`: validates a config file without starting anything (core.config.check)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser("config", help="work with config files")
    verbs = config.add_subparsers(title="verbs", dest="verb", metavar="VERB")
    verbs.required = True
    check = verbs.add_parser(
        "check",
        help="report every problem of a config file (exit 1 when there is one) and the resolved models",
        description="Reads FILE (its include: files and environment_variables too) as `aqueduct serve` "
        "would, reports every problem with its location, the keys that would be ignored, and the resolved "
        "model list with secrets masked. Exit status 0 without problems, 1 with.",
    )
    check.add_argument("file", metavar="FILE", help="the YAML config file")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from core.config.check import check_file

    return check_file(args.file, sys.stdout, sys.stderr)
