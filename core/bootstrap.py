"""The bootstrap admin credential and the embedded default models for a first `make serve`."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.settings import LiteLLMParams, ModelDeployment, ModelInfo, Settings

ADMIN_TOKEN_FILE = "admin_token"


@dataclass(frozen=True, slots=True)
class AdminCredential:
    token: str
    generated: bool  # True only on the start that created it: the one time it is printed
    path: Path | None


def resolve_admin_token(settings: Settings) -> AdminCredential:
    """AQUEDUCT_ADMIN_TOKEN / `admin_token` win; otherwise reuse or create one stored (0600) in the data dir."""
    if settings.admin_token:
        return AdminCredential(settings.admin_token, generated=False, path=None)
    path = Path(settings.data_dir) / ADMIN_TOKEN_FILE
    if path.exists():
        return AdminCredential(path.read_text().strip(), generated=False, path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "sk-admin-" + secrets.token_urlsafe(32)
    # O_EXCL: two replicas starting at once on a shared data dir must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return AdminCredential(path.read_text().strip(), generated=False, path=path)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return AdminCredential(token, generated=True, path=path)


def _deployment(name: str, model: str, mode: str, api_key: str | None = None) -> ModelDeployment:
    return ModelDeployment(
        model_name=name,
        litellm_params=LiteLLMParams(model=model, api_key=api_key),
        model_info=ModelInfo.model_validate({"mode": mode}),
    )


def embedded_default_models() -> list[ModelDeployment]:
    """OpenAI's small models when OPENAI_API_KEY is set; otherwise the offline demo `mock` provider."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return [
            _deployment("gpt-4.1-nano", "openai/gpt-4.1-nano", "chat", key),
            _deployment("gpt-4.1-mini", "openai/gpt-4.1-mini", "chat", key),
            _deployment("text-embedding-3-small", "openai/text-embedding-3-small", "embedding", key),
        ]
    return [
        _deployment("mock-chat", "mock/mock-chat", "chat"),
        _deployment("mock-embed", "mock/mock-embed", "embedding"),
    ]
