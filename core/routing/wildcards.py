"""Wildcard model names (`openai/*`, `gpt-*`, `*`): a request for a model no entry names exactly is passed
through to the provider of the first matching pattern, with the matched part put where `litellm_params.model`
has its `*` (LiteLLM's pass-through). Patterns with a longer literal part are tried first, `*` last."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from core.routing.deployment import Deployment

# Distinct model names remembered per pattern; beyond it the cache starts over (a client inventing names
# must not grow memory without bound).
MAX_CACHED_NAMES = 1024


def is_wildcard(name: str) -> bool:
    return "*" in name


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    regex: re.Pattern[str]

    @classmethod
    def of(cls, name: str) -> Pattern:
        parts = [re.escape(part) for part in name.split("*")]
        return cls(name, re.compile("(.*?)".join(parts[:-1]) + ("(.*)" if len(parts) > 1 else "") + parts[-1]))

    def match(self, model: str) -> tuple[str, ...] | None:
        found = self.regex.fullmatch(model)
        return found.groups() if found is not None else None

    @property
    def specificity(self) -> int:
        return len(self.name.replace("*", ""))


def upstream_name(upstream_pattern: str, requested: str, captured: tuple[str, ...]) -> str:
    """The upstream model for a request: each `*` of the configured upstream model takes the next matched
    part (the whole requested name when the pattern is `*`); without `*` the configured name stands."""
    if "*" not in upstream_pattern:
        return upstream_pattern
    pieces = upstream_pattern.split("*")
    values = list(captured) or [requested]
    out = pieces[0]
    for i, piece in enumerate(pieces[1:]):
        out += (values[i] if i < len(values) else values[-1]) + piece
    return out


def derive(deployment: Deployment, requested: str, captured: tuple[str, ...]) -> Deployment:
    """The deployment serving `requested`: same id (health, cooldown and counters are the pattern's)."""
    return replace(
        deployment, model_name=requested, upstream_model=upstream_name(deployment.upstream_model, requested, captured)
    )
