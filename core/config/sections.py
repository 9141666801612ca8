"""LiteLLM's sections (general_settings, litellm_settings, router_settings) and the original Aqueduct's
top-level router keys, mapped onto Aqueduct's settings.

Precedence, highest first (README "Precedence"): AQUEDUCT_* environment variables; Aqueduct's own top-level
keys (`admin_token`, `database_url`, `default_timeout_seconds`, ...); `router_settings`; the top-level router
keys of the original Aqueduct (`num_retries`, `fallbacks`, `routing_strategy`, `timeout`, ...);
`litellm_settings`; `general_settings` for the keys only it has; the defaults. A key given in two of
general_settings and Aqueduct's own name with different values is a problem (which database is meant?)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from core.config.known_keys import (
    IGNORED_GENERAL_SETTINGS,
    IGNORED_LITELLM_MODULE_SETTINGS,
    IGNORED_ROUTER_SETTINGS,
)
from core.config.problems import Findings, unknown_key
from core.config.sources import resolve_refs

# litellm_settings keys that are router knobs (LiteLLM's docs: "most values can also be set via
# litellm_settings; router_settings override them").
LITELLM_ROUTER_KEYS = frozenset(
    {"num_retries", "fallbacks", "context_window_fallbacks", "default_fallbacks", "allowed_fails", "cooldown_time"}
)
# LiteLLM Router names that map onto an Aqueduct setting of another name.
ROUTER_RENAMES = {
    "timeout": "default_timeout_seconds",
    "stream_timeout": "default_stream_timeout_seconds",
}
ROUTER_KNOB_RENAMES = {"retry_after": "retry_backoff_seconds", "default_max_parallel_requests": "max_parallel_requests"}
REDIS_PARTS = ("redis_host", "redis_port", "redis_password", "redis_db", "redis_username")
ROUTER_SPECIAL = frozenset({"disable_cooldowns", "set_verbose", "debug_level", "model_group_alias", "redis_url"})


@dataclass(slots=True)
class Mapped:
    """What the sections contribute: Settings values (lowest precedence first, so later wins), router knobs,
    and model-group aliases from `model_group_alias`."""

    settings: dict[str, Any] = field(default_factory=dict)
    router: dict[str, Any] = field(default_factory=dict)
    group_aliases: dict[str, str] = field(default_factory=dict)


class SectionMapper:
    def __init__(
        self,
        findings: Findings,
        env: Mapping[str, str],
        router_fields: frozenset[str],
        file_of: Callable[[str], str | None],
    ) -> None:
        self.findings = findings
        self.env = env
        self.router_fields = router_fields
        self.file_of = file_of
        self.out = Mapped()

    def _value(self, value: Any, path: str, file: str | None) -> Any:
        return resolve_refs(value, path, self.env, self.findings, file)

    def _ignored(self, path: str) -> None:
        self.findings.notice(f"config: {path} is not supported by Aqueduct and is ignored")

    def _section(self, raw: Mapping[str, Any], name: str) -> dict[str, Any]:
        section = raw.get(name)
        if section is None:
            return {}
        if not isinstance(section, dict):
            self.findings.problem(name, "must be a mapping", self.file_of(name))
            return {}
        return section

    # -- general_settings --

    def general(self, raw: Mapping[str, Any]) -> None:
        file = self.file_of("general_settings")
        section = self._section(raw, "general_settings")
        mapped = {"master_key", "database_url", "max_request_size_mb", "user_api_key_cache_ttl"}
        for key, value in section.items():
            path = f"general_settings.{key}"
            if key == "master_key":
                self.out.settings["admin_token"] = self._value(value, path, file)
            elif key == "database_url":
                self.out.settings["database_url"] = self._value(value, path, file)
            elif key == "max_request_size_mb":
                size = self._value(value, path, file)
                if isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0:
                    self.out.settings["max_request_body_bytes"] = int(size * 1024 * 1024)
                else:
                    self.findings.problem(path, "must be a positive number of megabytes", file)
            elif key == "user_api_key_cache_ttl":
                self.out.settings["token_cache_ttl_seconds"] = self._value(value, path, file)
            elif key == "max_parallel_requests":
                self.out.router["max_parallel_requests"] = self._value(value, path, file)
            elif key in IGNORED_GENERAL_SETTINGS:
                self._ignored(path)
            else:
                known = mapped | {"max_parallel_requests"} | IGNORED_GENERAL_SETTINGS
                unknown_key(self.findings, "general_settings", key, known, file)

    # -- litellm_settings --

    def litellm(self, raw: Mapping[str, Any]) -> None:
        file = self.file_of("litellm_settings")
        section = self._section(raw, "litellm_settings")
        mapped = {"drop_params", "request_timeout", "timeout", "set_verbose", "json_logs"} | LITELLM_ROUTER_KEYS
        for key, value in section.items():
            path = f"litellm_settings.{key}"
            if key == "drop_params":
                self.out.settings["drop_params"] = self._value(value, path, file)
            elif key in {"request_timeout", "timeout"}:
                self.out.settings["default_timeout_seconds"] = self._value(value, path, file)
            elif key == "set_verbose":
                self._verbose(self._value(value, path, file))
            elif key == "json_logs":
                self.out.settings["log_json"] = self._value(value, path, file)
            elif key in LITELLM_ROUTER_KEYS:
                self.out.router[key] = self._value(value, path, file)
            elif key in IGNORED_LITELLM_MODULE_SETTINGS:
                self._ignored(path)
            else:
                unknown_key(self.findings, "litellm_settings", key, mapped | IGNORED_LITELLM_MODULE_SETTINGS, file)

    def _verbose(self, value: Any) -> None:
        if value is True or (isinstance(value, str) and value.lower() in {"true", "debug"}):
            self.out.settings["log_level"] = "debug"

    # -- router_settings and the top-level router keys --

    def router_keys(self) -> frozenset[str]:
        """Every name accepted among router keys: Aqueduct's, LiteLLM's renamed ones, the ignored ones."""
        return (
            self.router_fields
            | set(ROUTER_RENAMES)
            | set(ROUTER_KNOB_RENAMES)
            | set(REDIS_PARTS)
            | ROUTER_SPECIAL
            | IGNORED_ROUTER_SETTINGS
        )

    def router(self, section: Mapping[str, Any], prefix: str, file_of: Callable[[str], str | None]) -> None:
        """One layer of router keys: `router_settings` (prefix "router_settings.") or the original
        Aqueduct's top-level keys (prefix "")."""
        redis: dict[str, Any] = {}
        for key, value in section.items():
            path = f"{prefix}{key}"
            file = file_of(key)
            if key in self.router_fields:
                self.out.router[key] = self._value(value, path, file)
            elif key in ROUTER_KNOB_RENAMES:
                self.out.router[ROUTER_KNOB_RENAMES[key]] = self._value(value, path, file)
            elif key in ROUTER_RENAMES:
                self.out.settings[ROUTER_RENAMES[key]] = self._value(value, path, file)
            elif key in REDIS_PARTS:
                redis[key] = self._value(value, path, file)
            elif key == "redis_url":
                self.out.settings["redis_url"] = self._value(value, path, file)
            elif key == "disable_cooldowns":
                if self._value(value, path, file) is True:
                    self.out.router["cooldown_time"] = 0
            elif key in {"set_verbose", "debug_level"}:
                self._verbose(self._value(value, path, file))
            elif key == "model_group_alias":
                self._group_alias(self._value(value, path, file), path, file)
            elif key in IGNORED_ROUTER_SETTINGS:
                self._ignored(path)
            else:
                unknown_key(self.findings, prefix.rstrip("."), key, self.router_keys(), file)
        if redis:
            self._redis(redis, prefix, file_of("redis_host"))

    def _redis(self, parts: dict[str, Any], prefix: str, file: str | None) -> None:
        """LiteLLM's redis_host / redis_port / redis_password / redis_db: the Redis that shares the
        routing and rate-limit counters across replicas, as a redis_url."""
        host = parts.get("redis_host")
        if not host:
            self.findings.problem(f"{prefix}redis_host", "is required with redis_port / redis_password", file)
            return
        user = parts.get("redis_username") or ""
        password = parts.get("redis_password")
        auth = f"{quote(str(user), safe='')}:{quote(str(password), safe='')}@" if password else ""
        port = parts.get("redis_port") or 6379
        db = parts.get("redis_db") or 0
        self.out.settings["redis_url"] = f"redis://{auth}{host}:{port}/{db}"

    def _group_alias(self, value: Any, path: str, file: str | None) -> None:
        """{alias: model} or {alias: {model: name, hidden: bool}}: the alias is another name of the model."""
        if not isinstance(value, dict):
            self.findings.problem(path, "must be a mapping of alias: model name", file)
            return
        for alias, target in value.items():
            name = target.get("model") if isinstance(target, dict) else target
            if not isinstance(name, str) or not name:
                self.findings.problem(f"{path}.{alias}", "must name a model", file)
                continue
            self.out.group_aliases[str(alias)] = name
