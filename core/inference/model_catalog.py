"""The model list as callers see it: sorted by id, paginated with an opaque token."""

from __future__ import annotations

import base64
import binascii
import bisect

from core.errors import InvalidRequest, model_not_found
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

    def page(
        self, page_size: int, page_token: str, excluded: frozenset[str] = frozenset()
    ) -> tuple[list[ModelGroup], str]:
        """Models after the token's position; `page_size` 0 means all. Returns (models, next_page_token),
        the token empty on the last page. Tokens carry the last id, so they stay valid across replicas."""
        if page_size < 0:
            raise InvalidRequest("page_size must not be negative.", field="page_size")
        models = [m for m in self._registry.list_models() if m.name not in excluded]
        start = 0
        if page_token:
            last_id = _decode_token(page_token)
            start = bisect.bisect_right([m.name for m in models], last_id)
        end = len(models) if page_size == 0 else min(len(models), start + page_size)
        page = models[start:end]
        next_token = _encode_token(page[-1].name) if page and end < len(models) else ""
        return page, next_token


def _encode_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidRequest("page_token is not a token this server issued.", field="page_token") from None
