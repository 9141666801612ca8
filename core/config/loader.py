"""From a config file to validated Settings, collecting every problem with its location on the way.

`inspect_config` never raises for a bad file: it returns what it found (for `aqueduct config check`);
`load_settings` raises ConfigError listing every problem (for startup)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.config.known_keys import IGNORED_TOP_LEVEL
from core.config.mcp_servers import apply_mcp
from core.config.models import apply_group_aliases, check_models, normalize_entries
from core.config.problems import Findings, unknown_key
from core.config.sections import SectionMapper
from core.config.sources import RawConfig, environment_overlay, read_config, resolve_refs
from core.settings import ConfigError, ModelDeployment, Settings

SECTIONS = frozenset({"general_settings", "litellm_settings", "environment_variables", "router_settings"})

ENV_OVERRIDES = {
    "AQUEDUCT_DATABASE_URL": "database_url",
    "AQUEDUCT_REDIS_URL": "redis_url",
    "AQUEDUCT_DATA_DIR": "data_dir",
    "AQUEDUCT_ADMIN_TOKEN": "admin_token",
    "AQUEDUCT_FACADE_SECRET": "facade_secret",
    "AQUEDUCT_LOG_LEVEL": "log_level",
    "AQUEDUCT_LOG_JSON": "log_json",
}
# Keys where general_settings and Aqueduct's own name must agree when both are given.
MUST_AGREE = ("admin_token", "database_url")
# LiteLLM routing strategies Aqueduct implements under another name, or not at all.
STRATEGY_ALIASES = {"usage-based-routing": "usage-based-routing-v2"}
UNSUPPORTED_STRATEGIES = frozenset({"cost-based-routing"})


@dataclass(slots=True)
class Inspection:
    settings: Settings | None
    findings: Findings
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.settings is not None and not self.findings.problems


def _router_fields() -> frozenset[str]:
    from core.routing.router_settings import RouterSettings

    return frozenset(RouterSettings.model_fields)


def inspect_config(path: str | Path | None = None, **overrides: Any) -> Inspection:
    findings = Findings()
    raw = read_config(path, findings) if path is not None else RawConfig()
    values = raw.values
    env_section = values.get("environment_variables")
    env = environment_overlay(env_section, raw.file_of("environment_variables"), findings)
    applied = {str(k): env[str(k)] for k in env_section} if isinstance(env_section, dict) else {}
    applied = {k: v for k, v in applied.items() if k in env}

    mapper = SectionMapper(findings, env, _router_fields(), raw.file_of)
    own, top_router = _classify(raw, mapper, findings)
    mapper.general(values)
    mapper.litellm(values)
    mapper.router(top_router, "", raw.file_of)
    section = values.get("router_settings")
    if section is not None and not isinstance(section, dict):
        findings.problem("router_settings", "must be a mapping", raw.file_of("router_settings"))
    mapper.router(section or {}, "router_settings.", lambda _key: raw.file_of("router_settings"))
    _strategy(mapper.out.router, findings)

    resolved = _resolve_own(raw, own, env, findings)
    normalize_entries(resolved.get("model_list"), findings, raw.model_origin)
    for key in MUST_AGREE:
        if key in resolved and key in mapper.out.settings and resolved[key] != mapper.out.settings[key]:
            other = "master_key" if key == "admin_token" else key
            findings.problem(key, f"differs from general_settings.{other}; set one of them", raw.file_of(key))
    merged: dict[str, Any] = {**mapper.out.settings, **resolved, "router_settings": mapper.out.router}
    for name, key in ENV_OVERRIDES.items():
        if env.get(name):
            merged[key] = env[name]
    merged.update({k: v for k, v in overrides.items() if v is not None})
    apply_mcp(merged, env, Path(raw.files[0]).parent if raw.files else Path.cwd(), findings)

    settings = _validate(merged, raw, findings)
    if settings is None:
        return Inspection(None, findings, raw.files)
    apply_group_aliases(settings.model_list, mapper.out.group_aliases, findings, raw.file_of("router_settings"))
    check_models(settings.model_list, findings, raw.model_origin)
    router_file = raw.file_of("router_settings") or (raw.files[0] if raw.files else None)
    _check_router(settings, findings, router_file, _left_out_names(settings, merged))
    settings._notices = tuple(findings.notices)
    settings._environment = applied
    return Inspection(settings, findings, raw.files)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    inspection = inspect_config(path, **overrides)
    if inspection.findings.problems or inspection.settings is None:
        raise ConfigError("\n".join(str(p) for p in inspection.findings.problems))
    return inspection.settings


def _classify(raw: RawConfig, mapper: SectionMapper, findings: Findings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Top-level keys: Aqueduct's own settings, the original Aqueduct's router keys; the rest are LiteLLM
    sections (handled by the mapper), knowingly ignored sections (a notice) or unknown (a problem)."""
    own: dict[str, Any] = {}
    top_router: dict[str, Any] = {}
    fields = set(Settings.model_fields) - {"router_settings"}
    router_keys = mapper.router_keys()
    for key, value in raw.values.items():
        if key in SECTIONS:
            continue
        if key in fields:
            own[key] = value
        elif key in router_keys:
            top_router[key] = value
        elif key in IGNORED_TOP_LEVEL:
            findings.notice(f"config: {key} is not supported by Aqueduct and is ignored")
        else:
            candidates = fields | SECTIONS | IGNORED_TOP_LEVEL | router_keys | {"include"}
            unknown_key(findings, "", key, candidates, raw.file_of(key))
    return own, top_router


def _resolve_own(raw: RawConfig, own: dict[str, Any], env: Mapping[str, str], findings: Findings) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in own.items():
        if key == "model_list" and isinstance(value, list):
            origins = raw.model_origin
            resolved[key] = [
                resolve_refs(entry, f"model_list[{i}]", env, findings, origins[i] if i < len(origins) else None)
                for i, entry in enumerate(value)
            ]
        else:
            resolved[key] = resolve_refs(value, key, env, findings, raw.file_of(key))
    return resolved


def _strategy(router: dict[str, Any], findings: Findings) -> None:
    strategy = router.get("routing_strategy")
    if strategy in STRATEGY_ALIASES:
        router["routing_strategy"] = STRATEGY_ALIASES[strategy]
    elif strategy in UNSUPPORTED_STRATEGIES:
        findings.notice(f"config: routing_strategy {strategy} is not supported by Aqueduct; simple-shuffle is used")
        router["routing_strategy"] = "simple-shuffle"


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(merged: dict[str, Any], raw: RawConfig, findings: Findings) -> Settings | None:
    """Settings from `merged`; each invalid value is a problem. The invalid keys (model_list entries one by
    one) are then left out and the rest validated again, so the checks after this one still run and report
    their problems too (a check reports everything at once)."""
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        bad_keys: set[str] = set()
        bad_models: set[int] = set()
        for error in exc.errors():
            loc = tuple(error["loc"])
            file = raw.file_of(str(loc[0])) if loc else None
            if len(loc) > 1 and loc[0] == "model_list" and isinstance(loc[1], int):
                bad_models.add(loc[1])
                if loc[1] < len(raw.model_origin):
                    file = raw.model_origin[loc[1]]
            elif loc:
                bad_keys.add(str(loc[0]))
            findings.problem(_path(loc), error["msg"].removeprefix("Value error, "), file)
    pruned = {k: v for k, v in merged.items() if k not in bad_keys}
    models = pruned.get("model_list")
    if bad_models and isinstance(models, list):
        pruned["model_list"] = [m for i, m in enumerate(models) if i not in bad_models]
    try:
        return Settings.model_validate(pruned)
    except ValidationError:
        return None


def _left_out_names(settings: Settings, merged: dict[str, Any]) -> set[str]:
    """Names of model entries left out as invalid: a fallback naming one is not a problem of its own."""
    entries = merged.get("model_list")
    valid = {d.model_name for d in settings.model_list}
    if not isinstance(entries, list):
        return set()
    names = {e.get("model_name") for e in entries if isinstance(e, dict)}
    return {n for n in names if isinstance(n, str) and n not in valid}


def _check_router(settings: Settings, findings: Findings, file: str | None, left_out: set[str]) -> None:
    """router knobs (every bad value) and the fallbacks' model names against the model list."""
    from core.routing.fallbacks import FallbackTable
    from core.routing.registry import ModelRegistry
    from core.routing.router_settings import RouterSettings

    knobs = dict(settings.router_settings)
    try:
        parsed = RouterSettings.model_validate(knobs)
    except ValidationError as exc:
        for error in exc.errors():
            findings.problem("router_settings." + _path(tuple(error["loc"])), error["msg"], file)
        bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        try:
            parsed = RouterSettings.model_validate({k: v for k, v in knobs.items() if k not in bad})
        except ValidationError:
            return
    checked = settings
    if left_out:
        stand_ins = [{"model_name": n, "litellm_params": {"model": "mock/stand-in"}} for n in sorted(left_out)]
        checked = settings.model_copy(update={"model_list": [*settings.model_list, *map(_entry, stand_ins)]})
    try:
        FallbackTable.build(parsed, ModelRegistry.from_settings(checked))
    except ConfigError as exc:
        findings.problem("", str(exc).removeprefix("config: "), file)


def _entry(raw: dict[str, Any]) -> ModelDeployment:
    return ModelDeployment.model_validate(raw)


def apply_environment(settings: Settings) -> None:
    """The config's environment_variables into the process environment (LiteLLM does the same), so what
    reads the environment later (proxies, default models) sees them."""
    os.environ.update(settings.environment_variables)
