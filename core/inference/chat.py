"""Chat completions: the shared text-generation flow with messages (core.inference.text_generation)."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import chat_pb2

from aqueduct_openai import chat_chunk_from_json, chat_completion_from_json, chat_params_to_json
from core.inference.pipeline import InferenceDeps
from core.inference.text_generation import TextEndpoint, TextGeneration
from core.inference.token_estimate import estimate_chat_input_tokens, text_of
from core.providers.base import JSONObject

ENDPOINT = "chat"


def _choices_text(response: JSONObject, key: str) -> str:
    choices: Any = response.get("choices")
    if not isinstance(choices, list):
        return ""
    return "".join(text_of(c.get(key)) for c in choices if isinstance(c, dict))


CHAT: TextEndpoint[chat_pb2.ChatCompletionParams, chat_pb2.ChatCompletion, chat_pb2.ChatCompletionChunk] = TextEndpoint(
    name=ENDPOINT,
    params_to_json=chat_params_to_json,
    result_from_json=chat_completion_from_json,
    chunk_from_json=chat_chunk_from_json,
    estimate_input=lambda body, count: estimate_chat_input_tokens(body.get("messages"), count),
    result_text=lambda response: _choices_text(response, "message"),
    chunk_text=lambda event: _choices_text(event, "delta"),
    call=lambda provider, body, rid: provider.chat_completion(body, request_id=rid),
    open_stream=lambda provider, body, rid: provider.stream_chat_completion(body, request_id=rid),
)


class ChatInference(
    TextGeneration[chat_pb2.ChatCompletionParams, chat_pb2.ChatCompletion, chat_pb2.ChatCompletionChunk]
):
    def __init__(self, deps: InferenceDeps) -> None:
        super().__init__(deps, CHAT)
