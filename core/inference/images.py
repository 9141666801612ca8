"""Image generation: resolve the model, call the upstream, convert, record usage (tokens when gpt-image
reports them, else the prompt estimated; always the number of images).

A response of several base64 images is many MB. It is read once (inside the attempt, so a body that breaks off
is retried like any upstream failure), parsed once, and its strings move into the proto without another copy
on this side (straight into the RPC's response when the caller passes `into`); the façade writes the JSON once."""

from __future__ import annotations

import functools

from aqueduct.v1 import media_pb2

from aqueduct_openai import image_params_to_json, images_response_from_json
from core.inference.caller import Caller
from core.inference.pipeline import InferenceDeps, Metered, decode_upstream, upstream_body
from core.inference.response_metadata import ResponseMetadata
from core.inference.token_estimate import estimate_text_tokens
from core.providers.base import JSONObject, Provider
from core.providers.media import media_calls
from core.providers.upstream_errors import json_object

ENDPOINT = "image_generation"


class ImageInference:
    def __init__(self, deps: InferenceDeps) -> None:
        self._deps = deps

    async def create(
        self,
        params: media_pb2.ImageGenerationParams,
        caller: Caller,
        *,
        response_metadata: ResponseMetadata | None = None,
        into: media_pb2.ImagesResponse | None = None,
    ) -> media_pb2.ImagesResponse:
        end_user = params.user_id if params.HasField("user_id") else None
        with Metered(self._deps.meter(caller, end_user)) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(image_params_to_json, params)
            estimate = estimate_text_tokens(params.prompt)
            rid = caller.request_id

            async def generate(provider: Provider) -> JSONObject:
                upstream = await media_calls(provider, group.name).image_generation(body, request_id=rid)
                return json_object(await upstream.read(), "JSON response")

            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                generate,
                request_id=rid,
                response_metadata=response_metadata,
                estimated_input_tokens=estimate,
            ) as response:
                result = decode_upstream(
                    functools.partial(images_response_from_json, into=into), response, self._deps.max_message_bytes
                )
                meter.images = len(result.data)
                if result.HasField("usage"):
                    meter.set_tokens(result.usage.input_tokens, result.usage.output_tokens, estimated=False)
                else:
                    meter.set_tokens(estimate, 0, estimated=True)
                return result
