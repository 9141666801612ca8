"""Who is asking: the authenticated principal plus the request facts that label the usage record."""

from __future__ import annotations

from dataclasses import dataclass

from core.auth.principal import Principal, current_principal
from core.errors import PermissionDenied
from core.request_context import RequestContext


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    request: RequestContext

    @property
    def request_id(self) -> str:
        return self.request.request_id


def current_caller(request: RequestContext) -> Caller:
    """The caller of the current RPC. Inference is billed to a token, so a principal without one (the
    bootstrap admin credential) is refused."""
    principal = current_principal()
    if principal.token_id is None:
        raise PermissionDenied(
            "The bootstrap admin credential is for administration only; call inference endpoints with an API token."
        )
    return Caller(principal=principal, request=request)
