"""`aqueduct serve`, `aqueduct core` and `aqueduct facade`: the server processes, added to the client's `aqueduct`
command as a plugin.

This is the one module that composes core and façade in one process (core itself never imports the façade);
imports are lazy so the admin verbs stay light."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_CORE = "127.0.0.1:50051"
# `aqueduct serve`: the façade calls core in-process ("local") or over loopback gRPC ("tcp"). Core's TCP port
# serves the CLI and other clients either way.
TRANSPORTS = ("local", "tcp")
TRANSPORT_ENV = "AQUEDUCT_CORE_TRANSPORT"
WORKERS_ENV = "AQUEDUCT_WORKERS"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `serve`, `core` and `facade` to the `aqueduct` command (entry point group `aqueduct.cli`)."""
    serve = subparsers.add_parser("serve", help="run core and façade together (the usual way)")
    _add_common(serve)
    serve.add_argument("--host", default=None, help="façade listen host (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="façade HTTP port (default 8000)")
    serve.add_argument("--grpc-port", type=int, default=None, help="core gRPC port (default 50051)")
    serve.add_argument(
        "--core-transport",
        choices=TRANSPORTS,
        default=os.environ.get(TRANSPORT_ENV, "local"),
        help=f"how the façade reaches core: 'local' (in-process calls, the default) or 'tcp' (gRPC over "
        f"loopback, as a separate façade would); also ${TRANSPORT_ENV}",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get(WORKERS_ENV, "1")),
        help=f"worker processes, each a core + façade on the same ports (SO_REUSEPORT); default 1, also ${WORKERS_ENV}",
    )
    serve.set_defaults(func=run_serve)

    core = subparsers.add_parser("core", help="run only core (gRPC), for scale-out")
    _add_common(core)
    core.add_argument("--grpc-host", default=None, help="core listen host (default 127.0.0.1)")
    core.add_argument("--grpc-port", type=int, default=None, help="core gRPC port (default 50051)")
    core.set_defaults(func=run_core)

    facade = subparsers.add_parser("facade", help="run only the HTTP façade, pointing at a core")
    _add_common(facade)
    # SUPPRESS: the admin verbs' global --core (given before the noun) must not be overwritten by a default.
    facade.add_argument(
        "--core", default=argparse.SUPPRESS, help=f"core address HOST:PORT (default $AQUEDUCT_CORE or {DEFAULT_CORE})"
    )
    facade.add_argument("--host", default=None, help="listen host (default 127.0.0.1)")
    facade.add_argument("--port", type=int, default=None, help="HTTP port (default 8000)")
    facade.set_defaults(func=run_facade)

    from aqueduct_server import config_cli

    config_cli.register(subparsers)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=os.environ.get("AQUEDUCT_CONFIG"), help="YAML config file")


def _load(args: argparse.Namespace, *, with_core: bool = True, **overrides: Any) -> Settings:
    """The settings, or exit status 2 with a one-line message. `with_core`: this process calls the upstreams, so
    each provider's configuration is checked as well (a façade-only process may not have their keys)."""
    from aqueduct_server.logging_setup import configure_logging
    from core.bootstrap import embedded_default_models
    from core.config.loader import apply_environment
    from core.providers import check_providers
    from core.routing import ModelRegistry, validate_router_settings
    from core.settings import ConfigError, load_settings, log_ignored_settings

    try:
        settings = load_settings(args.config, **overrides)
        apply_environment(settings)
        if args.config is None and not settings.model_list:
            settings.model_list = embedded_default_models()
        validate_router_settings(settings)
        if with_core:
            check_providers(ModelRegistry.from_settings(settings).deployments)
    except ConfigError as exc:
        print(f"aqueduct: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, json_lines=settings.log_json)
    log_ignored_settings(settings)
    return settings


def run_serve(args: argparse.Namespace) -> int:
    settings = _load(args, host=args.host, port=args.port, grpc_port=args.grpc_port)
    if args.core_transport not in TRANSPORTS:
        print(f"aqueduct: ${TRANSPORT_ENV} must be one of {', '.join(TRANSPORTS)}", file=sys.stderr)
        return 2
    local = args.core_transport == "local"
    if settings.facade_secret is None:
        # Core and its façade live in this process (and its workers): a secret of their own, made here.
        settings.facade_secret = secrets.token_urlsafe(32)
    if args.workers <= 1:
        return _run(_serve(settings, with_core=True, core_target=None, local=local))
    from aqueduct_server import workers as serve_workers

    serve_workers.prepare(settings)
    # The parent holds both ports (bound, not listening) so --port 0 resolves once and every worker joins
    # the same SO_REUSEPORT group with its own listening socket.
    reserved = [
        serve_workers.reuseport_socket(host, port, listen=False)
        for host, port in ((settings.host, settings.port), (settings.grpc_host, settings.grpc_port))
    ]
    settings.port, settings.grpc_port = (sock.getsockname()[1] for sock in reserved)

    def worker(index: int) -> int:
        for sock in reserved:
            sock.close()
        http_socket = serve_workers.reuseport_socket(settings.host, settings.port)
        return _run(
            _serve(settings, with_core=True, core_target=None, local=local, http_socket=http_socket, worker=index)
        )

    try:
        return serve_workers.run_workers(args.workers, worker)
    finally:
        for sock in reserved:
            sock.close()


def run_facade(args: argparse.Namespace) -> int:
    settings = _load(args, with_core=False, host=args.host, port=args.port)
    target = getattr(args, "core", None) or os.environ.get("AQUEDUCT_CORE") or DEFAULT_CORE
    return _run(_serve(settings, with_core=False, core_target=target))


def run_core(args: argparse.Namespace) -> int:
    settings = _load(args, grpc_host=args.grpc_host, grpc_port=args.grpc_port)
    return _run(_run_core(settings))


def _run(main: Coroutine[Any, Any, int]) -> int:
    """Runs a server on uvloop when it is installed (uvicorn[standard] brings it): its event loop costs a
    fraction of asyncio's per socket event and callback, which is most of a gateway's work."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _start_core(settings: Settings, *, reuse_port: bool = False) -> tuple[Any, int]:
    from core.bootstrap import resolve_admin_token
    from core.server import CoreServer

    credential = resolve_admin_token(settings)
    core = CoreServer(settings, admin_token=credential.token, reuse_port=reuse_port)
    port = await core.start()
    if credential.generated:
        print(
            f"\n  Bootstrap admin token (shown once; stored at {credential.path}):\n    {credential.token}\n",
            file=sys.stderr,
            flush=True,
        )
    return core, port


async def _run_core(settings: Settings) -> int:
    core, port = await _start_core(settings)
    print(f"aqueduct core: gRPC on {settings.grpc_host}:{port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await core.stop()
    return 0


async def _serve(
    settings: Settings,
    *,
    with_core: bool,
    core_target: str | None,
    local: bool = False,
    http_socket: socket.socket | None = None,
    worker: int | None = None,
) -> int:
    """`http_socket` and `worker` are given in `--workers N` mode: the shared listening socket and this
    worker's index (core then binds its gRPC port with SO_REUSEPORT; only worker 0 prints the banner)."""
    import uvicorn

    from aqueduct_server.http_protocol import ConnectionLimits, protocol_class
    from http_facade.app import create_app
    from http_facade.settings import FacadeSettings

    core = None
    channel = None
    if with_core:
        core, grpc_port = await _start_core(settings, reuse_port=worker is not None)
        core_target = f"127.0.0.1:{grpc_port}"
        if local:
            channel = core.local_channel
    assert core_target is not None
    facade_settings = FacadeSettings(
        stream_keepalive_seconds=settings.stream_keepalive_seconds,
        max_request_body_bytes=settings.max_request_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_file_bytes=settings.max_file_bytes,
        facade_credential=settings.facade_secret,
        mcp_allowed_hosts=tuple(settings.mcp_allowed_hosts),
        mcp_allowed_origins=tuple(settings.mcp_allowed_origins),
    )
    app = create_app(core_target, settings=facade_settings, core_channel=channel)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_class(
            ConnectionLimits(
                max_header_bytes=settings.max_request_header_bytes,
                header_timeout_seconds=settings.http_header_timeout_seconds,
                body_timeout_seconds=settings.http_body_timeout_seconds,
                max_connections=settings.max_connections,
            )
        ),
        timeout_keep_alive=settings.http_keepalive_timeout_seconds,  # type: ignore[arg-type]
        loop="none",
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 (its default): only the proxies configured. With
        # none, its proxy-headers middleware is left out altogether (~5 % of a request's CPU for a no-op).
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    server = uvicorn.Server(config)
    banner = None if worker else asyncio.create_task(_print_banner(server, settings, core_target, with_core))
    # uvicorn restores the previous handlers after its graceful shutdown and re-raises the signal it caught; with
    # the default handlers that kills the process before core drains and usage is flushed. Ours just asks uvicorn
    # to exit, so the re-raise is harmless and core.stop() below runs.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
    try:
        await server.serve(sockets=[http_socket] if http_socket is not None else None)
    finally:
        if banner is not None:
            banner.cancel()
        if core is not None:
            await core.stop()
    return 0


async def _print_banner(server: Any, settings: Settings, core_target: str, with_core: bool) -> None:
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for "listening"
        await asyncio.sleep(0.05)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    base = f"http://{host}:{port}/v1"
    models = ", ".join(sorted({d.model_name for d in settings.model_list})) or "(none configured)"
    demo = any(d.litellm_params.provider == "mock" for d in settings.model_list)
    lines = [
        "",
        f"  Aqueduct is up: OpenAI-compatible API at {base}",
        f"  core gRPC: {core_target}" + ("" if with_core else " (remote)"),
        f"  models: {models}" + ("   <- built-in DEMO mock provider (offline, canned answers)" if demo else ""),
        "",
        "  Create a user token (admin token from AQUEDUCT_ADMIN_TOKEN or the line printed at first start):",
        f"    export AQUEDUCT_CORE={core_target} AQUEDUCT_ADMIN_TOKEN=...",
        "    .venv/bin/aqueduct org create demo",
        "    .venv/bin/aqueduct user create me@example.com --org demo",
        "    TOKEN=$(.venv/bin/aqueduct token create --user me@example.com --name laptop)",
        "  Call it:",
        f'    curl {base}/chat/completions -H "Authorization: Bearer $TOKEN" \\',
        "      -H 'Content-Type: application/json' \\",
        f"      -d '{_example_body(settings)}'",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _example_body(settings: Settings) -> str:
    model = next((d.model_name for d in settings.model_list if d.model_info.mode == "chat"), "MODEL")
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
