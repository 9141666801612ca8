"""Usage of MCP calls: one usage record per JSON-RPC request of a message (a notification or response alone
is recorded as one row of its own), with the server, method, tool / prompt / resource name, the JSON-RPC error
code of the answer, latency, and the request's and answer's bytes (on the message's first row)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson

from core.inference.caller import Caller
from core.inference.outcome import outcome_of
from core.mcp.message import MessageFacts
from core.mcp.upstream import event_data
from core.usage.events import UsageEvent, UsageSink


class McpMeter:
    def __init__(self, sink: UsageSink, caller: Caller, server: str, facts: MessageFacts, bytes_in: int) -> None:
        self._sink = sink
        self._caller = caller
        self._server = server
        self._facts = facts
        self._bytes_in = bytes_in
        self._created_at = datetime.now(UTC)
        self._started = time.perf_counter()
        self._codes: dict[bytes, int | None] = {}
        self._answered: set[bytes] = set()
        self._wanted = {r.id_json for r in facts.requests}
        self.bytes_out = 0
        self._recorded = False

    @property
    def pending(self) -> list[bytes]:
        """Ids (JSON text) of the message's requests not answered yet."""
        return [r.id_json for r in self._facts.requests if r.id_json not in self._answered]

    def observe_json(self, body: bytes) -> None:
        """Notes the answers (results or JSON-RPC errors) in a JSON body or SSE event data."""
        if not self._wanted or b'"id"' not in body:
            return
        try:
            loaded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        for item in loaded if isinstance(loaded, list) else [loaded]:
            if not isinstance(item, dict) or "method" in item or "id" not in item:
                continue
            key = orjson.dumps(item["id"])
            if key not in self._wanted:
                continue
            self._answered.add(key)
            error = item.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            self._codes[key] = code if isinstance(code, int) and not isinstance(code, bool) else None

    def observe_event(self, event: bytes) -> None:
        self.bytes_out += len(event)
        if self._wanted and b'"id"' in event:
            self.observe_json(event_data(event))

    def finish(self, status: int, error: BaseException | None = None) -> None:
        """Records the rows once; `error` (when the call failed) gives the status and message."""
        if self._recorded:
            return
        self._recorded = True
        message = None
        if error is not None:
            status, message = outcome_of(error)
        latency = (time.perf_counter() - self._started) * 1000
        principal = self._caller.principal
        request = self._caller.request
        rows: list[tuple[str, str | None, str | None, bytes | None]] = [
            (r.method, r.name, r.end_user_id, r.id_json) for r in self._facts.requests
        ]
        if not rows:
            method = self._facts.notifications[0] if self._facts.notifications else None
            rows = [(method or "", None, None, None)]
        for index, (method, name, end_user, id_json) in enumerate(rows):
            code = self._codes.get(id_json) if id_json is not None else None
            self._sink.record(
                UsageEvent(
                    request_id=request.request_id if index == 0 else f"{request.request_id}:{index}",
                    created_at=self._created_at,
                    token_id=principal.token_id,
                    user_id=principal.user_id,
                    org_id=principal.org_id,
                    team_id=principal.team_id,
                    service_account_id=principal.service_account_id,
                    end_user_id=end_user,
                    model=None,
                    deployment=None,
                    endpoint_method=request.endpoint_method,
                    endpoint_path=request.endpoint_path,
                    status=status,
                    input_tokens=0,
                    output_tokens=0,
                    tokens_estimated=False,
                    latency_ms=latency,
                    ttft_ms=None,
                    user_agent=request.user_agent,
                    client_addr=request.client_addr,
                    error_message=message,
                    mcp_server=self._server,
                    mcp_method=method or None,
                    mcp_name=name,
                    rpc_error_code=code,
                    bytes_in=self._bytes_in if index == 0 else 0,
                    bytes_out=self.bytes_out if index == 0 else 0,
                )
            )
