"""The `aqueduct` command: the admin verbs, one module per noun, plus whatever installed plugins add.

A new noun is a module with `register(subparsers)` added to _NOUNS; main() only parses, dispatches and turns
failures into one `error: ...` line with a meaningful exit status. The server's commands (`serve`, `core`,
`facade`) are not here: the server distribution registers them through the `aqueduct.cli` entry-point group,
so this package installs and runs without the server while users still have one `aqueduct` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from aqueduct_client.cli import (
    batches,
    exclusions,
    files,
    limits,
    mcp,
    models,
    orgs,
    service_accounts,
    teams,
    tokens,
    usage,
    users,
)
from aqueduct_client.cli._command import SubParsers
from aqueduct_client.cli._connection import add_connection_arguments
from aqueduct_client.cli._errors import EXIT_FAILURE, CliError
from aqueduct_client.cli._output import printable

PROG = "aqueduct"
# Exit status after Ctrl-C, as shells report a SIGINT death.
EXIT_INTERRUPTED = 130

_NOUNS: tuple[Callable[[SubParsers], None], ...] = (
    orgs.register,
    users.register,
    teams.register,
    tokens.register,
    service_accounts.register,
    models.register,
    mcp.register,
    limits.register,
    exclusions.register,
    usage.register,
    files.register,
    batches.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Aqueduct: a self-hosted, OpenAI-compatible AI gateway.",
        epilog="Admin commands talk to core's gRPC services (OrgService, UserService, ...); see COMMAND --help.",
    )
    add_connection_arguments(parser, suppress_defaults=False)
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    for register in _plugins():
        register(subparsers)
    for register in _NOUNS:
        register(subparsers)
    return parser


# Entry-point group through which other installed distributions (the server) add commands.
PLUGIN_GROUP = "aqueduct.cli"


def _plugins() -> list[Callable[[SubParsers], None]]:
    """Each plugin's `register(subparsers)`, in name order so the help text is stable."""
    found = sorted(entry_points(group=PLUGIN_GROUP), key=lambda entry: entry.name)
    return [entry.load() for entry in found]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int | None = args.func(args)
    except CliError as error:
        print(f"error: {printable(error.message)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; nothing left worth saying.
        _silence_stdout()
        return EXIT_FAILURE
    return status or 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
