"""Fallback model groups: `fallbacks`, `context_window_fallbacks` and `default_fallbacks` resolved against the
registry once at startup, so a typo in the config fails the start instead of a request at 3 a.m."""

from __future__ import annotations

from core.errors import ModelNotFound
from core.routing.error_policy import is_context_window_error, warrants_fallback
from core.routing.registry import ENDPOINT_MODES, ModelGroup, ModelRegistry
from core.routing.router_settings import RouterSettings
from core.settings import ConfigError


class FallbackTable:
    def __init__(
        self,
        general: dict[str, tuple[ModelGroup, ...]],
        context_window: dict[str, tuple[ModelGroup, ...]],
        default: tuple[ModelGroup, ...],
    ) -> None:
        self._general = general
        self._context_window = context_window
        self._default = default

    @classmethod
    def build(cls, settings: RouterSettings, registry: ModelRegistry) -> FallbackTable:
        """Keys and targets may be names or aliases; raises ConfigError for an unknown one."""
        return cls(
            _resolve(settings.fallbacks, registry, "fallbacks"),
            _resolve(settings.context_window_fallbacks, registry, "context_window_fallbacks"),
            tuple(_group(registry, name, "default_fallbacks") for name in settings.default_fallbacks),
        )

    def after(self, group: ModelGroup, error: BaseException, endpoint: str) -> list[ModelGroup]:
        """The groups to try, in order, after `group` failed with `error` ([] when the error is final)."""
        if is_context_window_error(error):
            chain = self._context_window.get(group.name, ())
        elif warrants_fallback(error):
            chain = self._general.get(group.name, self._default)
        else:
            return []
        modes = ENDPOINT_MODES[endpoint]
        return [g for g in chain if g.name != group.name and g.mode in modes]


def _resolve(
    entries: list[dict[str, list[str]]], registry: ModelRegistry, key: str
) -> dict[str, tuple[ModelGroup, ...]]:
    table: dict[str, list[ModelGroup]] = {}
    for i, entry in enumerate(entries):
        for source, targets in entry.items():
            where = f"{key}[{i}].{source}"
            name = _group(registry, source, where).name
            chain = table.setdefault(name, [])
            for target in targets:
                group = _group(registry, target, where)
                if all(g.name != group.name for g in chain):
                    chain.append(group)
    return {name: tuple(chain) for name, chain in table.items()}


def _group(registry: ModelRegistry, name: str, where: str) -> ModelGroup:
    try:
        return registry.resolve(name)
    except ModelNotFound:
        raise ConfigError(f"config: router_settings.{where}: unknown model {name!r}") from None
