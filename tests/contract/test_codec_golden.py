"""Golden OpenAI requests/responses must survive JSON -> proto -> JSON unchanged (DESIGN.md §3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import aqueduct_openai as codec

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"


def _exact(value: Any) -> str:
    # sort_keys + stdlib json: distinguishes 1 from 1.0 and keeps big ints, so equality means "unchanged".
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _completion_chunk_to_json(c: Any) -> dict[str, Any]:
    return codec.completion_to_json(c, chunk=True)


SURFACES: dict[str, tuple[Callable[[Any], Any], Callable[[Any], dict[str, Any]]]] = {
    "chat_params": (codec.chat_params_from_json, codec.chat_params_to_json),
    "chat_completion": (codec.chat_completion_from_json, codec.chat_completion_to_json),
    "chat_chunks": (codec.chat_chunk_from_json, codec.chat_chunk_to_json),
    "completion_params": (codec.completion_params_from_json, codec.completion_params_to_json),
    "completion": (codec.completion_from_json, codec.completion_to_json),
    "completion_chunks": (codec.completion_from_json, _completion_chunk_to_json),
    "embedding_params": (codec.embedding_params_from_json, codec.embedding_params_to_json),
    "embedding_list": (codec.embedding_list_from_json, codec.embedding_list_to_json),
}


def _cases() -> list[Any]:
    cases = []
    for surface in SURFACES:
        for path in sorted((GOLDEN / surface).iterdir()):
            text = path.read_text(encoding="utf-8")
            documents = [line for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else [text]
            for i, document in enumerate(documents):
                cases.append(pytest.param(surface, document, id=f"{surface}/{path.name}#{i}"))
    return cases


@pytest.mark.parametrize(("surface", "document"), _cases())
def test_golden_round_trip(surface: str, document: str) -> None:
    from_json, to_json = SURFACES[surface]
    original = json.loads(document)
    message = from_json(codec.loads(document.encode()))
    # Through the wire too: what core receives is the serialized message.
    reparsed = type(message).FromString(message.SerializeToString())
    assert _exact(to_json(reparsed)) == _exact(original)


def test_every_surface_has_fixtures() -> None:
    for surface in SURFACES:
        assert any((GOLDEN / surface).iterdir()), surface
