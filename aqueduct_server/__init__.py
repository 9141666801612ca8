"""The server's composition root: the `serve` / `core` / `facade` commands, worker processes and logging set-up.

The one package that may import both core and http_facade; neither of those imports it."""
