"""Usage bookkeeping of one stream: the gateway always asks the upstream for usage, the client only sees it
if it asked, and the output text is kept so usage can be estimated when the upstream sends none: with the
upstream model's tokenizer once the stream has ended (`count_tokens`, in a worker thread), or chars/4 for a
stream cut short (cancelled or failed) before that."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from core.inference.token_estimate import CHARS_PER_TOKEN, TokenCounter, token_counter
from core.providers.base import JSONObject

_HEADER_KEYS: tuple[str, ...] = ("id", "object", "created", "model")


class StreamUsage:
    def __init__(
        self,
        *,
        client_wants_usage: bool,
        input_estimate: int,
        output_text: Callable[[JSONObject], str],
        count_input: Callable[[TokenCounter], int] | None = None,
        model: Callable[[], str | None] = lambda: None,
    ) -> None:
        """`input_estimate`: the chars/4 count (the reservation's); `count_input` counts the input again with
        a tokenizer; `model` names the upstream model once routing has chosen a deployment."""
        self._client_wants_usage = client_wants_usage
        self._input_estimate = input_estimate
        self._output_text = output_text
        self._count_input = count_input
        self._model = model
        self._output_chars = 0
        self._output_parts: list[str] = []
        self._counted: tuple[int, int] | None = None
        self._upstream_usage: JSONObject | None = None
        self._last_event: JSONObject = {}
        self.saw_output = False

    def accept(self, event: JSONObject) -> JSONObject | None:
        """Records the event and returns what the client gets: the event, a copy without `usage`, or None
        for a usage-only event the client did not ask for."""
        usage = event.get("usage")
        if isinstance(usage, dict):
            self._upstream_usage = usage
        text = self._output_text(event)
        if text:
            self._output_chars += len(text)
            self._output_parts.append(text)
            self.saw_output = True
        self._last_event = event  # its header is copied only if an estimated usage chunk is needed
        if self._client_wants_usage or "usage" not in event:
            return event
        if not event.get("choices"):
            return None
        return {k: v for k, v in event.items() if k != "usage"}

    async def count_tokens(self) -> None:
        """When the upstream sent no usage: counts input and output with the model's tokenizer (off the event
        loop), for `totals` and the estimated usage chunk."""
        if self._upstream_usage is not None or self._counted is not None:
            return
        model, text = self._model(), "".join(self._output_parts)

        def count() -> tuple[int, int]:
            counter = token_counter(model)
            prompt = self._count_input(counter) if self._count_input is not None else self._input_estimate
            return prompt, counter(text)

        self._counted = await asyncio.to_thread(count)

    def totals(self) -> tuple[int, int, bool]:
        """(input, output, estimated): the upstream's counts, else the tokenizer's (count_tokens), else
        chars/4 of what was produced so far."""
        usage = self._upstream_usage
        if usage is not None:
            return _count(usage, "prompt_tokens"), _count(usage, "completion_tokens"), False
        if self._counted is not None:
            return (*self._counted, True)
        return self._input_estimate, -(-self._output_chars // CHARS_PER_TOKEN), True

    def estimated_usage_event(self) -> JSONObject | None:
        """The usage chunk to add at the end when the client asked for one and the upstream sent none."""
        if not self._client_wants_usage or self._upstream_usage is not None:
            return None
        prompt, completion, _ = self.totals()
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        last = self._last_event
        header: JSONObject = {k: last[k] for k in _HEADER_KEYS if k in last}
        return {**header, "choices": [], "usage": usage}


def _count(usage: JSONObject, key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
