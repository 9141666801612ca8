"""Checks of the model list that need more than one entry: providers, api_base, aliases (incl. LiteLLM's
router `model_group_alias`), wildcard patterns. Every problem is collected with its entry's location."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.config.problems import Findings, unknown_key
from core.settings import DEFAULT_API_BASES, KNOWN_PROVIDERS, OPENAI_COMPATIBLE_PROVIDERS, ModelDeployment

# Keys of a model_list entry besides model_name / litellm_params / model_info: LiteLLM's Router reads rpm and tpm
# there too (its older documented form); they mean the same as in litellm_params.
ENTRY_KEYS = frozenset({"model_name", "litellm_params", "model_info"})
ENTRY_LIMITS = ("rpm", "tpm")


def normalize_entries(entries: Any, findings: Findings, origins: Sequence[str | None]) -> None:
    """Moves an entry's top-level rpm / tpm into its litellm_params (which win when both are set); any other
    unknown key of an entry is a problem naming it."""
    if not isinstance(entries, list):
        return
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        file = origins[i] if i < len(origins) else None
        params = entry.get("litellm_params")
        for key in [k for k in entry if k not in ENTRY_KEYS]:
            if key in ENTRY_LIMITS and isinstance(params, dict):
                params.setdefault(key, entry.pop(key))
            else:
                unknown_key(findings, f"model_list[{i}]", key, ENTRY_KEYS | set(ENTRY_LIMITS), file)


def apply_group_aliases(
    deployments: Sequence[ModelDeployment], aliases: Mapping[str, str], findings: Findings, file: str | None
) -> None:
    """`model_group_alias: {alias: model}` becomes an alias of that model's first entry."""
    first: dict[str, ModelDeployment] = {}
    for dep in deployments:
        first.setdefault(dep.model_name, dep)
    for alias, target in aliases.items():
        owner = first.get(target)
        if owner is None:
            findings.problem(f"router_settings.model_group_alias.{alias}", f"unknown model {target!r}", file)
        elif alias != target and alias not in owner.model_info.aliases:
            owner.model_info.aliases.append(alias)


def check_models(deployments: Sequence[ModelDeployment], findings: Findings, origins: Sequence[str | None]) -> None:
    """Unknown providers, a missing api_base, aliases that are duplicated or shadow another model's name."""
    names = {d.model_name for d in deployments}
    alias_owner: dict[str, str] = {}
    for i, dep in enumerate(deployments):
        where = f"model_list[{i}] ({dep.model_name})"
        file = origins[i] if i < len(origins) else None
        provider = dep.litellm_params.provider
        if provider not in KNOWN_PROVIDERS:
            findings.problem(
                where,
                f"unknown provider prefix {provider!r} in litellm_params.model {dep.litellm_params.model!r}; "
                f"known: {', '.join(sorted(KNOWN_PROVIDERS))}",
                file,
            )
        elif provider in OPENAI_COMPATIBLE_PROVIDERS and not (
            dep.litellm_params.api_base or provider in DEFAULT_API_BASES
        ):
            findings.problem(where, f"litellm_params.api_base is required for provider {provider!r}", file)
        if "*" in dep.litellm_params.upstream_model and "*" not in dep.model_name:
            findings.problem(
                where,
                f"litellm_params.model {dep.litellm_params.model!r} has a '*' but model_name "
                f"{dep.model_name!r} has none to fill it",
                file,
            )
        for alias in dep.model_info.aliases:
            if alias in names:
                findings.problem(where, f"alias {alias!r} equals the name of another model", file)
                continue
            owner = alias_owner.get(alias)
            if owner is not None and owner != dep.model_name:
                findings.problem(where, f"alias {alias!r} is already used by model {owner!r}", file)
            alias_owner[alias] = dep.model_name
