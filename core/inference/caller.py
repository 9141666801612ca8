"""Who is asking: the authenticated principal plus the request facts that label the usage record."""

from __future__ import annotations

from dataclasses import dataclass

from core.auth.principal import Principal, current_principal
from core.governance.authorization import require_inference_caller
from core.request_context import RequestContext


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    request: RequestContext
    # The share of each rate-limit window this request may fill: 1 for live traffic; batch lines use less
    # (Settings.batch_rate_limit_share), so the headroom above it stays for the owner's interactive requests.
    limit_share: float = 1.0

    @property
    def request_id(self) -> str:
        return self.request.request_id


def current_caller(request: RequestContext) -> Caller:
    """The caller of the current RPC, if it may call inference (core.governance.authorization)."""
    principal = current_principal()
    require_inference_caller(principal)
    return Caller(principal=principal, request=request)
