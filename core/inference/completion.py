"""Legacy text completions: the shared text-generation flow with a prompt instead of messages."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import completion_pb2

from aqueduct_openai import completion_from_json, completion_params_to_json
from core.inference.pipeline import InferenceDeps
from core.inference.text_generation import TextEndpoint, TextGeneration
from core.inference.token_estimate import estimate_prompt_tokens
from core.providers.base import JSONObject

ENDPOINT = "completion"


def _choices_text(response: JSONObject) -> str:
    choices: Any = response.get("choices")
    if not isinstance(choices, list):
        return ""
    return "".join(c["text"] for c in choices if isinstance(c, dict) and isinstance(c.get("text"), str))


# A stream's chunks are Completion messages too.
COMPLETION: TextEndpoint[completion_pb2.CompletionParams, completion_pb2.Completion, completion_pb2.Completion] = (
    TextEndpoint(
        name=ENDPOINT,
        params_to_json=completion_params_to_json,
        result_from_json=completion_from_json,
        chunk_from_json=completion_from_json,
        estimate_input=lambda body, count: estimate_prompt_tokens(body.get("prompt"), count),
        result_text=_choices_text,
        chunk_text=_choices_text,
        call=lambda provider, body, rid: provider.completion(body, request_id=rid),
        open_stream=lambda provider, body, rid: provider.stream_completion(body, request_id=rid),
    )
)


class CompletionInference(
    TextGeneration[completion_pb2.CompletionParams, completion_pb2.Completion, completion_pb2.Completion]
):
    def __init__(self, deps: InferenceDeps) -> None:
        super().__init__(deps, COMPLETION)
