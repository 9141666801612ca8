"""TokenService servicer: proto in, Tokens call with the current principal, proto out. Secrets appear only in
the Create and Regenerate responses."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import grpc
from aqueduct.v1 import token_service_pb2 as pb
from aqueduct.v1 import token_service_pb2_grpc

from core.auth.principal import current_principal
from core.errors import InvalidRequest
from core.services._tenancy_messages import token_message, update_paths
from core.tenancy import TokenChanges, Tokens
from core.tenancy.names import optional_user, token_name

Context = grpc.aio.ServicerContext[Any, Any]
_MUTABLE = ("display_name", "expire_time")


class TokenServicer(token_service_pb2_grpc.TokenServiceServicer):
    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens

    async def GetToken(self, request: pb.GetTokenRequest, context: Context) -> pb.GetTokenResponse:
        return pb.GetTokenResponse(
            token=token_message(await self._tokens.get(current_principal(), token_name(request.name)))
        )

    async def ListTokens(self, request: pb.ListTokensRequest, context: Context) -> pb.ListTokensResponse:
        owner = optional_user(request.user, "user")
        page = await self._tokens.list(current_principal(), owner, request.page_size, request.page_token)
        return pb.ListTokensResponse(
            tokens=[token_message(t) for t in page.items], next_page_token=page.next_page_token
        )

    async def CreateToken(self, request: pb.CreateTokenRequest, context: Context) -> pb.CreateTokenResponse:
        token = request.token
        expires_at = token.expire_time.ToDatetime(tzinfo=UTC) if token.HasField("expire_time") else None
        owner = optional_user(token.user, "token.user")
        created = await self._tokens.create(current_principal(), owner, token.display_name, expires_at)
        return pb.CreateTokenResponse(token=token_message(created.token), secret=created.secret)

    async def UpdateToken(self, request: pb.UpdateTokenRequest, context: Context) -> pb.UpdateTokenResponse:
        token = request.token
        name = token_name(token.name, "token.name")
        paths = update_paths(request.update_mask, token, _MUTABLE)
        if not paths:
            raise InvalidRequest("nothing to update: name a field in update_mask", field="update_mask")
        changes = TokenChanges(
            display_name=token.display_name if "display_name" in paths else None,
            change_expiry="expire_time" in paths,
            expires_at=token.expire_time.ToDatetime(tzinfo=UTC) if token.HasField("expire_time") else None,
        )
        return pb.UpdateTokenResponse(
            token=token_message(await self._tokens.update(current_principal(), name, changes))
        )

    async def DeleteToken(self, request: pb.DeleteTokenRequest, context: Context) -> pb.DeleteTokenResponse:
        await self._tokens.delete(current_principal(), token_name(request.name))
        return pb.DeleteTokenResponse()

    async def RegenerateToken(self, request: pb.RegenerateTokenRequest, context: Context) -> pb.RegenerateTokenResponse:
        created = await self._tokens.regenerate(current_principal(), token_name(request.name))
        return pb.RegenerateTokenResponse(token=token_message(created.token), secret=created.secret)
