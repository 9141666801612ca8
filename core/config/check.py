"""`aqueduct config check FILE`: every problem at once with its location (provider adapters included, built
as at startup), the notices startup would log, and the resolved model list with secrets masked. Reads only
files and the environment: nothing is connected to or written."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from core.config.loader import Inspection, inspect_config
from core.config.problems import Problem
from core.settings import KNOWN_PROVIDERS, ConfigError, ModelDeployment, Settings

# litellm_params keys whose values are credentials (api_key, azure_ad_token, aws_secret_access_key, ...).
_SECRET_NAME = re.compile(r"key|secret|token|password|credential", re.IGNORECASE)
# Keys shown per deployment when set, in this order.
_SHOWN = ("api_base", "api_version", "rpm", "tpm", "weight", "timeout", "max_parallel_requests")


def mask(secret: str) -> str:
    """Enough to tell two keys apart, never enough to use one."""
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


def mask_url(url: str) -> str:
    """A URL with the password of its user info masked (database_url, redis_url, api_base)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:****@{netloc[1]}"))


def _params(entry: ModelDeployment) -> list[str]:
    params = entry.litellm_params
    values: dict[str, Any] = {**params.model_dump(exclude_none=True), **(params.model_extra or {})}
    shown: list[str] = []
    for key in _SHOWN:
        if values.get(key) is not None:
            value = values[key]
            shown.append(f"{key}={mask_url(value) if key == 'api_base' else value}")
    for key in sorted(values):
        if key in _SHOWN or key == "model" or values[key] is None:
            continue
        if _SECRET_NAME.search(key) and isinstance(values[key], str):
            shown.append(f"{key}={mask(values[key])}")
    return shown


def model_lines(settings: Settings) -> list[str]:
    lines = []
    for index, entry in enumerate(settings.model_list):
        info = entry.model_info
        parts = [f"{entry.model_name}#{index}", f"-> {entry.litellm_params.model}", f"mode={info.mode}"]
        if info.aliases:
            parts.append("aliases=" + ",".join(info.aliases))
        if "*" in entry.model_name:
            parts.append("(wildcard pass-through)")
        parts.extend(_params(entry))
        lines.append("  " + " ".join(parts))
    return lines


def settings_lines(settings: Settings) -> list[str]:
    lines = [f"  database_url: {mask_url(settings.database_url)}"]
    if settings.redis_url:
        lines.append(f"  redis_url: {mask_url(settings.redis_url)}")
    lines.append(f"  admin token: {mask(settings.admin_token) if settings.admin_token else 'generated at first start'}")
    router = settings.router_settings
    lines.append(f"  routing_strategy: {router.get('routing_strategy', 'simple-shuffle')}")
    if router:
        knobs = ", ".join(f"{k}={v}" for k, v in sorted(router.items()) if k != "routing_strategy")
        if knobs:
            lines.append(f"  router: {knobs}")
    return lines


def report(inspection: Inspection, out: TextIO, err: TextIO | None = None) -> int:
    """Writes the report; returns the exit status (0 no problems, 1 problems)."""
    files = inspection.files
    head = files[0] if files else "(no file)"
    extra = f" (including {', '.join(files[1:])})" if len(files) > 1 else ""
    problems = inspection.findings.problems
    if problems:
        print(f"{head}{extra}: {len(problems)} problem(s)", file=out)
        for problem in problems:
            print(f"  {problem}", file=out)
    else:
        print(f"{head}{extra}: OK", file=out)
    if inspection.findings.notices:
        print("ignored (logged once at startup):", file=out)
        for notice in inspection.findings.notices:
            print(f"  {notice}", file=out)
    settings = inspection.settings
    if settings is not None:
        print("settings:", file=out)
        for line in settings_lines(settings):
            print(line, file=out)
        print(f"models ({len(settings.model_list)}):", file=out)
        for line in model_lines(settings):
            print(line, file=out)
    failed = bool(problems) or settings is None
    if failed and err is not None:
        print(f"aqueduct: {head}: {len(problems)} problem(s), listed above", file=err)
    return 1 if failed else 0


def check_file(path: str | Path, out: TextIO, err: TextIO | None = None) -> int:
    inspection = inspect_config(path)
    if inspection.settings is not None:
        inspection.findings.problems.extend(provider_problems(inspection.settings))
    return report(inspection, out, err)


def provider_problems(settings: Settings) -> list[Problem]:
    """What `aqueduct serve` would refuse at start for each model's provider (a missing Azure endpoint or key,
    an unusable api_base or TLS file), with the config's environment_variables in effect as they are there.
    Builds each adapter without connecting anywhere."""
    from core.providers.http_session import UpstreamSession
    from core.providers.pool import build_provider
    from core.routing import ModelRegistry

    problems: list[Problem] = []
    with _environment(settings.environment_variables):
        try:
            deployments = ModelRegistry.from_settings(settings).deployments
        except ConfigError as exc:
            return [Problem("model_list", str(exc))]
        session = UpstreamSession()
        # An unknown provider prefix is already a problem of its own (core.config.models).
        for deployment in (d for d in deployments if d.provider in KNOWN_PROVIDERS):
            try:
                build_provider(deployment, session)
            except ConfigError as exc:
                problems.append(Problem(f"model_list ({deployment.id})", str(exc)))
    return problems


@contextlib.contextmanager
def _environment(overlay: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in overlay}
    os.environ.update(overlay)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
