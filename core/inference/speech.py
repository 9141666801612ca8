"""Text to speech: resolve the model, open the upstream's audio, relay its bytes as they arrive, record usage.

The audio is never buffered: each read of the upstream body goes out as one message at once (the first byte
reaches the client as soon as it reaches the gateway). With `stream_format: sse` the upstream's events are
relayed as bytes too, and watched on the side for the final event and its usage. Usage: the input's characters
always, its tokens from the upstream when it reports them, else estimated (four characters per token)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from aqueduct.v1 import media_pb2

from aqueduct_openai import speech_params_to_json
from core.inference.caller import Caller
from core.inference.media_usage import EventWatcher
from core.inference.pipeline import InferenceDeps, Metered, upstream_body
from core.inference.response_metadata import ResponseMetadata
from core.inference.token_estimate import estimate_text_tokens
from core.providers.media import media_calls
from core.providers.upstream_errors import truncated_stream

ENDPOINT = "audio_speech"
SSE_FORMAT = "sse"

# (content type, bytes): the content type in the first call only, then "".
Emit = Callable[[str, bytes], Awaitable[None]]


class SpeechInference:
    def __init__(self, deps: InferenceDeps) -> None:
        self._deps = deps

    async def stream(
        self,
        params: media_pb2.SpeechParams,
        caller: Caller,
        *,
        on_accepted: Callable[[], Awaitable[None]],
        emit: Emit,
        response_metadata: ResponseMetadata | None = None,
    ) -> None:
        """Calls `on_accepted` once the upstream accepted, then `emit` with the content type and each read."""
        end_user = params.user_id if params.HasField("user_id") else None
        with Metered(self._deps.meter(caller, end_user)) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(speech_params_to_json, params)
            estimate = estimate_text_tokens(params.input)
            meter.characters = len(params.input)
            watcher = EventWatcher() if params.stream_format == SSE_FORMAT else None
            rid = caller.request_id
            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                lambda p: media_calls(p, group.name).speech(body, request_id=rid),
                request_id=rid,
                response_metadata=response_metadata,
                estimated_input_tokens=estimate,
            ) as upstream:
                try:
                    await on_accepted()
                    await emit(upstream.content_type, b"")
                    async with contextlib.aclosing(upstream.chunks()) as chunks:
                        async for chunk in chunks:
                            meter.mark_first_token()
                            if watcher is not None:
                                watcher.feed(chunk)
                            await emit("", chunk)
                    if watcher is not None and not watcher.done:
                        model, deployment, origin = group.name, meter.deployment or "", ""
                        raise truncated_stream(model, deployment, origin)
                finally:
                    usage = watcher.usage if watcher is not None else None
                    if usage is not None and usage.has_tokens:
                        meter.set_tokens(usage.input_tokens or 0, usage.output_tokens or 0, estimated=False)
                    else:
                        meter.set_tokens(estimate, 0, estimated=True)
                    await upstream.aclose()
