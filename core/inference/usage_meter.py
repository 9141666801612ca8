"""Collects what one request consumed and hands exactly one UsageEvent to the sink when it ends."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from core.inference.caller import Caller
from core.usage.events import UsageEvent, UsageSink


class UsageMeter:
    def __init__(self, sink: UsageSink, caller: Caller, *, end_user_id: str | None) -> None:
        self._sink = sink
        self._caller = caller
        self._end_user_id = end_user_id
        self._created_at = datetime.now(UTC)
        self._started = time.perf_counter()
        self._recorded = False
        self._begun: int | None = None
        self._in_flight = False
        self.model: str | None = None
        self.deployment: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.estimated = False
        self.ttft_ms: float | None = None
        # Media quantities (core.inference.speech, images, transcription); None for other endpoints.
        self.characters: int | None = None
        self.images: int | None = None
        self.audio_seconds: float | None = None

    @property
    def caller(self) -> Caller:
        return self._caller

    def mark_first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self._started) * 1000

    def set_tokens(self, input_tokens: int, output_tokens: int, *, estimated: bool) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.estimated = estimated

    def mark_in_flight(self, estimated_input_tokens: int) -> None:
        """The request is about to go upstream: the sink journals it, so a crash before `finish` still bills
        it (as interrupted). Once per request, however many attempts follow."""
        if self._in_flight or self._recorded:
            return
        self._in_flight = True
        self._begun = self._sink.begin(self._event(0, None, input_tokens=estimated_input_tokens, estimated=True))

    def finish(self, status: int, error_message: str | None = None) -> None:
        """Records the event; later calls are ignored so every request yields exactly one."""
        if self._recorded:
            return
        self._recorded = True
        self._sink.record(self._event(status, error_message), self._begun)

    def _event(
        self,
        status: int,
        error_message: str | None,
        *,
        input_tokens: int | None = None,
        estimated: bool | None = None,
    ) -> UsageEvent:
        principal = self._caller.principal
        request = self._caller.request
        return UsageEvent(
            request_id=request.request_id,
            created_at=self._created_at,
            token_id=principal.token_id,
            user_id=principal.user_id,
            org_id=principal.org_id,
            team_id=principal.team_id,
            service_account_id=principal.service_account_id,
            end_user_id=self._end_user_id,
            model=self.model,
            deployment=self.deployment,
            endpoint_method=request.endpoint_method,
            endpoint_path=request.endpoint_path,
            status=status,
            input_tokens=self.input_tokens if input_tokens is None else input_tokens,
            output_tokens=self.output_tokens,
            tokens_estimated=self.estimated if estimated is None else estimated,
            latency_ms=(time.perf_counter() - self._started) * 1000,
            ttft_ms=self.ttft_ms,
            user_agent=request.user_agent,
            client_addr=request.client_addr,
            error_message=error_message,
            characters=self.characters,
            images=self.images,
            audio_seconds=self.audio_seconds,
        )
