"""Reading a config file: YAML, LiteLLM's `include:` files, `environment_variables` and `os.environ/NAME`
references.

`include:` names files (relative to the including file) whose keys are merged into the main file, as LiteLLM
does: lists (model_list) are concatenated, mappings merged; a key set twice to different values is a
problem. `environment_variables` are applied before any `os.environ/` reference is resolved, and given to
the process environment at startup (LiteLLM sets them in os.environ too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.config.problems import Findings

ENV_PREFIX = "os.environ/"


@dataclass(slots=True)
class RawConfig:
    """The merged top-level mapping and where each key (and each model_list entry) came from."""

    values: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # top-level key -> file name
    model_origin: list[str] = field(default_factory=list)  # model_list[i] -> file name
    files: list[str] = field(default_factory=list)

    def file_of(self, key: str) -> str | None:
        return self.origin.get(key)


def _read_yaml(path: Path, findings: Findings) -> dict[str, Any] | None:
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        findings.problem("", f"cannot read config file {path}: {exc.strerror}", str(path))
        return None
    except yaml.YAMLError as exc:
        findings.problem("", f"not valid YAML: {exc}", str(path))
        return None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        findings.problem("", "the file must hold a mapping at the top level", str(path))
        return None
    return loaded


def read_config(path: str | Path, findings: Findings) -> RawConfig:
    """The file and its includes, merged; unreadable files and clashes are problems in `findings`."""
    main = Path(path)
    raw = RawConfig(files=[str(main)])
    loaded = _read_yaml(main, findings)
    if loaded is None:
        return raw
    includes = loaded.pop("include", None)
    _merge(raw, loaded, str(main), findings)
    if includes is None:
        return raw
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        findings.problem("include", "must be a list of file names", str(main))
        return raw
    for name in includes:
        included = (main.parent / name) if not Path(name).is_absolute() else Path(name)
        raw.files.append(str(included))
        part = _read_yaml(included, findings)
        if part is None:
            continue
        if "include" in part:
            findings.problem("include", "an included file cannot include further files", str(included))
            part.pop("include")
        _merge(raw, part, str(included), findings)
    return raw


def _merge(raw: RawConfig, part: dict[str, Any], file: str, findings: Findings) -> None:
    for key, value in part.items():
        key = str(key)
        if key == "model_list":
            entries = value if isinstance(value, list) else []
            if value is not None and not isinstance(value, list):
                findings.problem("model_list", "must be a list of models", file)
            raw.values.setdefault("model_list", [])
            if not isinstance(raw.values["model_list"], list):
                raw.values["model_list"] = []
            raw.values["model_list"].extend(entries)
            raw.model_origin.extend([file] * len(entries))
            raw.origin.setdefault(key, file)
            continue
        if key not in raw.values:
            raw.values[key] = value
            raw.origin[key] = file
            continue
        current = raw.values[key]
        if isinstance(current, dict) and isinstance(value, dict):
            for sub, sub_value in value.items():
                if sub in current and current[sub] != sub_value:
                    findings.problem(f"{key}.{sub}", f"set differently in {raw.origin[key]}", file)
                current.setdefault(sub, sub_value)
        elif isinstance(current, list) and isinstance(value, list):
            current.extend(value)
        elif current != value:
            findings.problem(key, f"set differently in {raw.origin[key]}", file)


def environment_overlay(
    section: Any, file: str | None, findings: Findings, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment as `os.environ/` references see it: the process environment with the config's
    `environment_variables` applied over it (as LiteLLM does: the file wins)."""
    env = dict(os.environ if base is None else base)
    if section is None:
        return env
    if not isinstance(section, dict):
        findings.problem("environment_variables", "must be a mapping of NAME: value", file)
        return env
    for name, value in section.items():
        if isinstance(value, (dict, list)) or value is None:
            findings.problem(f"environment_variables.{name}", "must be a string or a number", file)
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text.startswith(ENV_PREFIX):
            text = env.get(text.removeprefix(ENV_PREFIX), "")
        env[str(name)] = text
    return env


def resolve_refs(value: Any, path: str, env: Mapping[str, str], findings: Findings, file: str | None) -> Any:
    """`value` with every "os.environ/NAME" string replaced by the variable's value; each missing variable
    is a problem (and the reference is left as it was)."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value.removeprefix(ENV_PREFIX)
        if name not in env:
            findings.problem(path, f"environment variable {name} is not set", file)
            return value
        return env[name]
    if isinstance(value, dict):
        return {k: resolve_refs(v, f"{path}.{k}" if path else str(k), env, findings, file) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, f"{path}[{i}]", env, findings, file) for i, v in enumerate(value)]
    return value
