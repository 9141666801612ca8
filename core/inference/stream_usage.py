"""Usage bookkeeping of one stream: the gateway always asks the upstream for usage, the client only sees it
if it asked, and text is counted so usage can be estimated when the upstream sends none."""

from __future__ import annotations

from collections.abc import Callable

from core.inference.token_estimate import CHARS_PER_TOKEN
from core.providers.base import JSONObject

_HEADER_KEYS: tuple[str, ...] = ("id", "object", "created", "model")


class StreamUsage:
    def __init__(
        self, *, client_wants_usage: bool, input_estimate: int, output_text: Callable[[JSONObject], str]
    ) -> None:
        self._client_wants_usage = client_wants_usage
        self._input_estimate = input_estimate
        self._output_text = output_text
        self._output_chars = 0
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
            self.saw_output = True
        self._last_event = event  # its header is copied only if an estimated usage chunk is needed
        if self._client_wants_usage or "usage" not in event:
            return event
        if not event.get("choices"):
            return None
        return {k: v for k, v in event.items() if k != "usage"}

    def totals(self) -> tuple[int, int, bool]:
        """(input, output, estimated): the upstream's counts, else an estimate of what was produced so far."""
        usage = self._upstream_usage
        if usage is not None:
            return _count(usage, "prompt_tokens"), _count(usage, "completion_tokens"), False
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
