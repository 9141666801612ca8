"""A small typed async client for services that call Aqueduct core over gRPC.

    async with AqueductClient("127.0.0.1:50051", token) as client:
        completion = await client.create_chat_completion("gpt-4o", [{"role": "user", "content": "hi"}])
        async for chunk in client.stream_chat_completion("gpt-4o", messages, max_tokens=50):
            ...
        user = await client.users.GetUser(user_service_pb2.GetUserRequest(name="users/a@example.com"))

Every call carries `authorization: Bearer <token>`; results are the generated proto messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Protocol, Self, TypedDict, TypeVar, Unpack

import grpc
from aqueduct.v1 import (
    chat_pb2,
    chat_service_pb2,
    chat_service_pb2_grpc,
    common_pb2,
    embedding_pb2,
    embedding_service_pb2,
    embedding_service_pb2_grpc,
    governance_pb2,
    governance_service_pb2,
    governance_service_pb2_grpc,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    org_service_pb2_grpc,
    service_account_service_pb2_grpc,
    team_service_pb2_grpc,
    token_service_pb2_grpc,
    usage_pb2,
    usage_service_pb2,
    usage_service_pb2_grpc,
    user_service_pb2_grpc,
)
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from aqueduct_client._aio_auth import bearer_interceptors
from aqueduct_client._chat_messages import MessageLike, to_chat_messages

# Deadline for a call that does not set one; matches core's default upstream timeout so the client does not
# give up before core does. None means no deadline.
DEFAULT_TIMEOUT_SECONDS: float | None = 600.0
# Models asked for per page when listing.
MODELS_PAGE_SIZE = 200
# Rate limits and exclusions asked for per page when listing.
GOVERNANCE_PAGE_SIZE = 200


class ChatOptions(TypedDict, total=False):
    """The typed knobs of ChatCompletionParams; anything else goes in extra_json (a JSON object text)."""

    temperature: float
    top_p: float
    max_tokens: int
    max_completion_tokens: int
    n: int
    presence_penalty: float
    frequency_penalty: float
    seed: int
    tools: Sequence[chat_pb2.Tool]
    user: str
    user_id: str
    metadata: Mapping[str, str]
    extra_json: str
    include_usage: bool  # streaming only: ask for a final usage chunk


def chat_params(model: str, messages: Sequence[MessageLike], options: ChatOptions) -> chat_pb2.ChatCompletionParams:
    """ChatCompletionParams from the client's arguments; unset options stay unset (not zero)."""
    params = chat_pb2.ChatCompletionParams(model=model, messages=to_chat_messages(messages))
    if "temperature" in options:
        params.temperature = options["temperature"]
    if "top_p" in options:
        params.top_p = options["top_p"]
    if "presence_penalty" in options:
        params.presence_penalty = options["presence_penalty"]
    if "frequency_penalty" in options:
        params.frequency_penalty = options["frequency_penalty"]
    if "max_tokens" in options:
        params.max_tokens = options["max_tokens"]
    if "max_completion_tokens" in options:
        params.max_completion_tokens = options["max_completion_tokens"]
    if "n" in options:
        params.n = options["n"]
    if "seed" in options:
        params.seed = options["seed"]
    if "user" in options:
        params.user = options["user"]
    if "user_id" in options:
        params.user_id = options["user_id"]
    if "extra_json" in options:
        params.extra_json = options["extra_json"]
    params.tools.extend(options.get("tools", ()))
    params.metadata.update(options.get("metadata", {}))
    if "include_usage" in options:
        params.stream_options.include_usage = options["include_usage"]
    return params


class _Page(Protocol):
    @property
    def next_page_token(self) -> str: ...


_P = TypeVar("_P", bound=_Page)


async def _every_page(fetch: Callable[[str], Awaitable[_P]]) -> list[_P]:
    """fetch(page_token) from the first page until next_page_token is empty."""
    pages = [await fetch("")]
    while pages[-1].next_page_token:
        pages.append(await fetch(pages[-1].next_page_token))
    return pages


class AqueductClient:
    """Async client over one grpc.aio channel. Use as `async with`, or call close()."""

    def __init__(
        self,
        target: str,
        token: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        interceptors = bearer_interceptors(token, timeout)
        if credentials is None:
            self._channel = aio.insecure_channel(target, interceptors=interceptors)
        else:
            self._channel = aio.secure_channel(target, credentials, interceptors=interceptors)
        self._chat = chat_service_pb2_grpc.ChatServiceStub(self._channel)
        self._embeddings = embedding_service_pb2_grpc.EmbeddingServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._governance = governance_service_pb2_grpc.GovernanceServiceStub(self._channel)
        self._usage = usage_service_pb2_grpc.UsageServiceStub(self._channel)
        self._orgs = org_service_pb2_grpc.OrgServiceStub(self._channel)
        self._users = user_service_pb2_grpc.UserServiceStub(self._channel)
        self._teams = team_service_pb2_grpc.TeamServiceStub(self._channel)
        self._tokens = token_service_pb2_grpc.TokenServiceStub(self._channel)
        self._service_accounts = service_account_service_pb2_grpc.ServiceAccountServiceStub(self._channel)

    # The tenancy services' raw stubs (resource names per AIP-122, e.g. `orgs/acme/teams/eng`); their calls
    # carry the bearer token too.
    @property
    def orgs(self) -> org_service_pb2_grpc.OrgServiceAsyncStub:
        return self._orgs

    @property
    def users(self) -> user_service_pb2_grpc.UserServiceAsyncStub:
        return self._users

    @property
    def teams(self) -> team_service_pb2_grpc.TeamServiceAsyncStub:
        """Teams and their members."""
        return self._teams

    @property
    def tokens(self) -> token_service_pb2_grpc.TokenServiceAsyncStub:
        return self._tokens

    @property
    def service_accounts(self) -> service_account_service_pb2_grpc.ServiceAccountServiceAsyncStub:
        return self._service_accounts

    @property
    def channel(self) -> aio.Channel:
        return self._channel

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def create_chat_completion(
        self, model: str, messages: Sequence[MessageLike], **options: Unpack[ChatOptions]
    ) -> chat_pb2.ChatCompletion:
        request = chat_service_pb2.CreateChatCompletionRequest(params=chat_params(model, messages, options))
        response = await self._chat.CreateChatCompletion(request)
        return response.completion

    async def stream_chat_completion(
        self, model: str, messages: Sequence[MessageLike], **options: Unpack[ChatOptions]
    ) -> AsyncIterator[chat_pb2.ChatCompletionChunk]:
        """Yields chunks one by one; leaving the loop early cancels the call (core then stops the upstream)."""
        request = chat_service_pb2.StreamChatCompletionRequest(params=chat_params(model, messages, options))
        call = self._chat.StreamChatCompletion(request)
        try:
            async for response in call:
                for chunk in response.chunks:
                    yield chunk
        finally:
            call.cancel()

    async def create_embeddings(
        self,
        model: str,
        input: str | Sequence[str],
        *,
        dimensions: int | None = None,
        encoding_format: str | None = None,
        user_id: str | None = None,
    ) -> embedding_pb2.EmbeddingList:
        params = embedding_pb2.EmbeddingParams(model=model)
        if isinstance(input, str):
            params.text = input
        else:
            params.texts.CopyFrom(common_pb2.StringList(values=list(input)))
        if dimensions is not None:
            params.dimensions = dimensions
        if encoding_format is not None:
            params.encoding_format = encoding_format
        if user_id is not None:
            params.user_id = user_id
        response = await self._embeddings.CreateEmbeddings(embedding_service_pb2.CreateEmbeddingsRequest(params=params))
        return response.embeddings

    async def list_models(self) -> list[model_pb2.Model]:
        """Every model the caller may use, across all pages."""

        async def fetch(token: str) -> model_service_pb2.ListModelsResponse:
            return await self._models.ListModels(
                model_service_pb2.ListModelsRequest(page_size=MODELS_PAGE_SIZE, page_token=token)
            )

        return [model for page in await _every_page(fetch) for model in page.models]

    async def get_model(self, model: str) -> model_pb2.Model:
        response = await self._models.GetModel(model_service_pb2.GetModelRequest(id=model))
        return response.model

    # Governance and usage. Scopes and settings are resource names (aqueduct_client.governance_names builds
    # them: `orgs/acme`, `users/a@example.com/rateLimits/member`, ...).

    async def get_rate_limit(self, name: str) -> governance_pb2.RateLimit:
        """A rate limit with the values enforced there (and their sources) and its current window."""
        response = await self._governance.GetRateLimit(governance_service_pb2.GetRateLimitRequest(name=name))
        return response.rate_limit

    async def list_rate_limits(self, scope: str) -> list[governance_pb2.RateLimit]:
        """Every rate limit of a scope, across all pages."""

        async def fetch(token: str) -> governance_service_pb2.ListRateLimitsResponse:
            request = governance_service_pb2.ListRateLimitsRequest(
                parent=scope, page_size=GOVERNANCE_PAGE_SIZE, page_token=token
            )
            return await self._governance.ListRateLimits(request)

        return [limit for page in await _every_page(fetch) for limit in page.rate_limits]

    async def update_rate_limit(
        self,
        name: str,
        *,
        rpm: int | None = None,
        input_tpm: int | None = None,
        output_tpm: int | None = None,
        clear: Sequence[str] = (),
        allow_missing: bool = False,
    ) -> governance_pb2.RateLimit:
        """Stores the given values and removes the dimensions named in `clear` (rpm, input_tpm, output_tpm);
        the others keep theirs. `allow_missing` stores them even where nothing is stored yet."""
        limit = governance_pb2.RateLimit(name=name)
        given = {"rpm": rpm, "input_tpm": input_tpm, "output_tpm": output_tpm}
        for field, value in given.items():
            if value is not None:
                setattr(limit, field, value)
        paths = [field for field, value in given.items() if value is not None] + list(clear)
        request = governance_service_pb2.UpdateRateLimitRequest(
            rate_limit=limit, update_mask=FieldMask(paths=paths), allow_missing=allow_missing
        )
        return (await self._governance.UpdateRateLimit(request)).rate_limit

    async def delete_rate_limit(self, name: str) -> None:
        await self._governance.DeleteRateLimit(governance_service_pb2.DeleteRateLimitRequest(name=name))

    async def create_exclusion(
        self, scope: str, kind: governance_pb2.ExclusionKind.ValueType, target: str
    ) -> governance_pb2.Exclusion:
        exclusion = governance_pb2.Exclusion(kind=kind, target=target)
        request = governance_service_pb2.CreateExclusionRequest(parent=scope, exclusion=exclusion)
        return (await self._governance.CreateExclusion(request)).exclusion

    async def delete_exclusion(self, name: str) -> None:
        await self._governance.DeleteExclusion(governance_service_pb2.DeleteExclusionRequest(name=name))

    async def list_exclusions(self, scope: str) -> list[governance_pb2.Exclusion]:
        """A scope's own exclusions, across all pages."""

        async def fetch(token: str) -> governance_service_pb2.ListExclusionsResponse:
            request = governance_service_pb2.ListExclusionsRequest(
                parent=scope, page_size=GOVERNANCE_PAGE_SIZE, page_token=token
            )
            return await self._governance.ListExclusions(request)

        return [exclusion for page in await _every_page(fetch) for exclusion in page.exclusions]

    async def get_exclusion_policy(self, name: str) -> governance_pb2.ExclusionPolicy:
        request = governance_service_pb2.GetExclusionPolicyRequest(name=name)
        return (await self._governance.GetExclusionPolicy(request)).exclusion_policy

    async def update_exclusion_policy(
        self, name: str, *, merge_models: bool | None = None, merge_mcp_servers: bool | None = None
    ) -> governance_pb2.ExclusionPolicy:
        """Sets the merge flags given (None keeps a flag as it is)."""
        policy = governance_pb2.ExclusionPolicy(name=name)
        paths = []
        if merge_models is not None:
            policy.merge_models = merge_models
            paths.append("merge_models")
        if merge_mcp_servers is not None:
            policy.merge_mcp_servers = merge_mcp_servers
            paths.append("merge_mcp_servers")
        if not paths:
            raise ValueError("give merge_models, merge_mcp_servers or both")
        request = governance_service_pb2.UpdateExclusionPolicyRequest(
            exclusion_policy=policy, update_mask=FieldMask(paths=paths)
        )
        return (await self._governance.UpdateExclusionPolicy(request)).exclusion_policy

    async def get_usage_report(
        self,
        scope: str = "",
        *,
        start_time: Timestamp | None = None,
        end_time: Timestamp | None = None,
        group_by: usage_pb2.UsageGroupBy.ValueType = usage_pb2.USAGE_GROUP_BY_UNSPECIFIED,
        bucket: usage_pb2.UsageBucket.ValueType = usage_pb2.USAGE_BUCKET_UNSPECIFIED,
        include_end_user: bool = False,
    ) -> usage_service_pb2.GetUsageReportResponse:
        """Totals, groups and a time series; `scope` (a resource name) narrows what the caller may see. The
        groups of every page are fetched and joined (each page stays below gRPC's message limit)."""
        request = usage_service_pb2.GetUsageReportRequest(
            scope=scope,
            start_time=start_time,
            end_time=end_time,
            group_by=group_by,
            bucket=bucket,
            include_end_user=include_end_user,
        )
        report = await self._usage.GetUsageReport(request)
        while report.next_page_token:
            request.page_token = report.next_page_token
            page = await self._usage.GetUsageReport(request)
            report.groups.extend(page.groups)
            report.next_page_token = page.next_page_token
        return report

    async def export_usage_records(
        self,
        scope: str = "",
        *,
        start_time: Timestamp | None = None,
        end_time: Timestamp | None = None,
        include_end_user: bool = False,
    ) -> AsyncIterator[usage_pb2.UsageRecord]:
        """The raw records of the range, oldest first; leaving the loop early cancels the export."""
        request = usage_service_pb2.ExportUsageRecordsRequest(
            scope=scope, start_time=start_time, end_time=end_time, include_end_user=include_end_user
        )
        call = self._usage.ExportUsageRecords(request)
        try:
            async for batch in call:
                for record in batch.records:
                    yield record
        finally:
            call.cancel()
