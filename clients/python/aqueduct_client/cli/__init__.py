"""The `aqueduct` command-line interface; the entry point is `aqueduct_client.cli.main:main`."""
