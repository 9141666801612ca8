"""Embeddings: resolve the model, call the upstream, convert, record usage (input tokens only)."""

from __future__ import annotations

from aqueduct.v1 import embedding_pb2

from aqueduct_openai import embedding_list_from_json, embedding_params_to_json
from core.inference.caller import Caller
from core.inference.pipeline import InferenceDeps, Metered, decode_upstream, ensure_usage, upstream_body
from core.inference.response_metadata import ResponseMetadata
from core.inference.token_estimate import estimate_prompt_tokens

ENDPOINT = "embedding"


class EmbeddingInference:
    def __init__(self, deps: InferenceDeps) -> None:
        self._deps = deps

    async def create(
        self,
        params: embedding_pb2.EmbeddingParams,
        caller: Caller,
        *,
        response_metadata: ResponseMetadata | None = None,
    ) -> embedding_pb2.EmbeddingList:
        end_user = params.user_id if params.HasField("user_id") else None
        with Metered(self._deps.meter(caller, end_user)) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(embedding_params_to_json, params)
            rid = caller.request_id
            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                lambda p: p.embeddings(body, request_id=rid),
                request_id=rid,
                response_metadata=response_metadata,
                estimated_input_tokens=estimate_prompt_tokens(body.get("input")),
            ) as response:
                tokens_in, _, estimated = await ensure_usage(
                    response,
                    meter.deployment,
                    lambda count: estimate_prompt_tokens(body.get("input"), count),
                    lambda count: 0,
                    with_output=False,
                )
                result = decode_upstream(embedding_list_from_json, response, self._deps.max_message_bytes)
                if estimated:
                    result.usage.estimated = True
                meter.set_tokens(tokens_in, 0, estimated=estimated)
                return result
