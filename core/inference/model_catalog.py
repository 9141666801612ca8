"""The model list as callers see it: sorted by id, paginated with an opaque token."""

from __future__ import annotations

from core.errors import model_not_found
from core.pagination import Page, paginate_items
from core.routing.registry import ModelGroup, ModelRegistry


class ModelCatalog:
    def __init__(self, registry: ModelRegistry) -> None:
        self._registry = registry

    def get(self, name_or_alias: str, excluded: frozenset[str] = frozenset()) -> ModelGroup:
        """Raises ModelNotFound, also for a model in `excluded` (canonical names hidden from the caller)."""
        group = self._registry.resolve(name_or_alias)
        if group.name in excluded:
            raise model_not_found(name_or_alias)
        return group

    def page(self, page_size: int, page_token: str, excluded: frozenset[str] = frozenset()) -> Page[ModelGroup]:
        """The caller's models, sorted by id, one page at a time (core.pagination)."""
        models = [m for m in self._registry.list_models() if m.name not in excluded]
        return paginate_items(models, key_of=lambda m: m.name, page_size=page_size, page_token=page_token)
