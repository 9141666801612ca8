"""Every problem of a config file at once, each with its location (key path and file), and the notices
(keys accepted but not used, settings mapped from LiteLLM names) logged once at startup."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # key path, e.g. "general_settings" or "model_list[2].litellm_params.model"; "" = top level
    message: str
    file: str | None = None  # the file the key came from; None for environment variables and defaults

    def __str__(self) -> str:
        head = f"config: {self.path}: " if self.path else "config: "
        tail = f" ({self.file})" if self.file else ""
        return head + self.message + tail


@dataclass(slots=True)
class Findings:
    problems: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def problem(self, path: str, message: str, file: str | None = None) -> None:
        self.problems.append(Problem(path, message, file))

    def notice(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)


def suggestion(key: object, candidates: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest candidate, or ""."""
    close = difflib.get_close_matches(str(key), sorted(set(candidates)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(findings: Findings, path: str, key: object, candidates: Iterable[str], file: str | None) -> None:
    findings.problem(path, f"unknown setting {key!r}{suggestion(key, candidates)}", file)
