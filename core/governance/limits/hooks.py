"""What the inference path asks governance, in one small object: may this caller use this model (exclusions),
and admit this request (rate limits). InferenceDeps holds one; None means no governance (unit tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from core.auth.principal import Principal
from core.errors import model_not_found
from core.governance.access.exclusions import ExclusionPolicy
from core.governance.limits.admission import Admission, Reservation

# (input_tokens, output_tokens) of the request as far as they are known.
TokenSource = Callable[[], tuple[int, int]]


class InferenceGovernance:
    def __init__(self, admission: Admission, exclusions: ExclusionPolicy) -> None:
        self.admission = admission
        self.exclusions = exclusions

    def check_model(self, principal: Principal, model: str, requested: str) -> None:
        """Raises ModelNotFound (naming what the caller asked for) when `model` (the canonical name of
        `requested`) is excluded for the caller."""
        if self.exclusions.is_model_excluded(principal, model):
            raise model_not_found(requested)

    def excluded_models(self, principal: Principal) -> frozenset[str]:
        return self.exclusions.excluded_models(principal)

    @asynccontextmanager
    async def admitted(
        self,
        principal: Principal,
        model: str,
        estimated_input_tokens: int,
        max_output_tokens: int | None,
        tokens: TokenSource,
        *,
        share: float = 1.0,
    ) -> AsyncIterator[Reservation]:
        """Admits on entry (RateLimited propagates, nothing reserved) and settles on exit however the block
        ends, with the tokens `tokens()` reports then (0 / 0 for a failed upstream call: it still counts).
        `max_output_tokens` None reserves the default output reservation; `share` < 1 admits only while every
        window stays within that share of its limit (batch lines)."""
        reservation = await self.admission.admit(
            principal, model, estimated_input_tokens, max_output_tokens, share=share
        )
        try:
            yield reservation
        finally:
            reservation.settle(*tokens())
