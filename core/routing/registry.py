"""The configured models: canonical names, aliases and the deployments behind each name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidRequest, model_not_found
from core.routing.deployment import Deployment
from core.routing.wildcards import MAX_CACHED_NAMES, Pattern, derive, is_wildcard
from core.settings import ModelMode, Settings

# What each inference endpoint accepts. Completion endpoints also take chat models because self-hosted
# servers (vLLM, llama.cpp) serve /v1/completions for every model they load.
ENDPOINT_MODES: dict[str, frozenset[str]] = {
    "chat": frozenset({"chat"}),
    "completion": frozenset({"completion", "chat"}),
    "embedding": frozenset({"embedding"}),
    "audio_speech": frozenset({"audio_speech"}),
    "image_generation": frozenset({"image_generation"}),
    "audio_transcription": frozenset({"audio_transcription"}),
    "audio_translation": frozenset({"audio_transcription"}),
}
_ENDPOINT_LABELS = {
    "chat": "the chat completions endpoint",
    "completion": "the completions endpoint",
    "embedding": "the embeddings endpoint",
    "audio_speech": "the audio speech endpoint (/v1/audio/speech)",
    "image_generation": "the image generations endpoint (/v1/images/generations)",
    "audio_transcription": "the audio transcriptions endpoint (/v1/audio/transcriptions)",
    "audio_translation": "the audio translations endpoint (/v1/audio/translations)",
}
_MODE_LABELS = {
    "chat": "a chat model",
    "completion": "a completion model",
    "embedding": "an embedding model",
    "audio_speech": "a speech model",
    "image_generation": "an image generation model",
    "audio_transcription": "a transcription model",
}


@dataclass(frozen=True, slots=True)
class ModelGroup:
    """A public model name and every deployment that serves it."""

    name: str
    mode: ModelMode
    aliases: tuple[str, ...]
    deployments: tuple[Deployment, ...]
    created: int  # unix seconds; model_info.created when configured, else 0 (replicas must agree)
    owned_by: str
    # A wildcard pass-through without a configured model_info.mode serves every endpoint.
    any_endpoint: bool = False

    def require_endpoint(self, endpoint: str) -> None:
        """Raises InvalidRequest (field `model`) when this model cannot serve `endpoint`."""
        if self.mode not in ENDPOINT_MODES[endpoint] and not self.any_endpoint:
            raise InvalidRequest(
                f"The model `{self.name}` is {_MODE_LABELS[self.mode]} and cannot be used with "
                f"{_ENDPOINT_LABELS[endpoint]}.",
                field="model",
            )


class ModelRegistry:
    """Immutable after construction, so it is shared freely between requests. Which deployment serves a
    request is the Router's business (core/routing/router.py)."""

    def __init__(self, groups: Sequence[ModelGroup]) -> None:
        self._all = sorted(groups, key=lambda g: g.name)
        named = [g for g in groups if not is_wildcard(g.name)]
        self._groups = {g.name: g for g in named}
        self._by_name = dict(self._groups)
        for group in groups:
            for alias in group.aliases:
                self._by_name.setdefault(alias, group)
        self._sorted = sorted(named, key=lambda g: g.name)
        wildcards = [g for g in groups if is_wildcard(g.name)]
        wildcards.sort(key=lambda g: -Pattern.of(g.name).specificity)
        self._patterns = [(Pattern.of(g.name), g) for g in wildcards]
        self._derived: dict[str, ModelGroup] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        """Groups `model_list` entries by model_name (order of first appearance kept); aliases and mode come
        from the first entry that sets them. Settings already validated providers and alias clashes."""
        members: dict[str, list[Deployment]] = {}
        for index, entry in enumerate(settings.model_list):
            members.setdefault(entry.model_name, []).append(Deployment.from_config(index, entry, settings))
        groups = [_group(name, deployments) for name, deployments in members.items()]
        return cls(groups)

    def resolve(self, name_or_alias: str) -> ModelGroup:
        group = self._by_name.get(name_or_alias)
        if group is None:
            group = self._wildcard(name_or_alias)
            if group is None:
                raise model_not_found(name_or_alias)
        return group

    def _wildcard(self, name: str) -> ModelGroup | None:
        """The pass-through group for `name` from the first matching wildcard pattern (cached)."""
        if not self._patterns:
            return None
        group = self._derived.get(name)
        if group is not None:
            return group
        for pattern, wildcard in self._patterns:
            captured = pattern.match(name)
            if captured is None:
                continue
            group = ModelGroup(
                name=name,
                mode=wildcard.mode,
                aliases=(),
                deployments=tuple(derive(d, name, captured) for d in wildcard.deployments),
                created=wildcard.created,
                owned_by=wildcard.owned_by,
                any_endpoint=wildcard.any_endpoint,
            )
            if len(self._derived) >= MAX_CACHED_NAMES:
                self._derived.clear()
            self._derived[name] = group
            return group
        return None

    def list_models(self) -> list[ModelGroup]:
        """Every model group, sorted by name (wildcard patterns are not models of their own)."""
        return list(self._sorted)

    @property
    def deployments(self) -> list[Deployment]:
        return [d for g in self._all for d in g.deployments]


def _group(name: str, deployments: list[Deployment]) -> ModelGroup:
    aliases: list[str] = []
    for dep in deployments:
        for alias in dep.config.model_info.aliases:
            if alias not in aliases:
                aliases.append(alias)
    first = deployments[0].config.model_info
    extra: dict[str, Any] = first.model_extra or {}
    created = extra.get("created")
    owned_by = extra.get("owned_by")
    return ModelGroup(
        name=name,
        mode=first.mode,
        aliases=tuple(aliases),
        deployments=tuple(deployments),
        created=created if isinstance(created, int) else 0,
        owned_by=owned_by if isinstance(owned_by, str) and owned_by else "aqueduct",
        any_endpoint=is_wildcard(name) and "mode" not in first.model_fields_set,
    )
