"""EmbeddingService servicer: proto in, EmbeddingInference call, proto out."""

from __future__ import annotations

from aqueduct.v1 import embedding_service_pb2, embedding_service_pb2_grpc

from core.inference.embedding import EmbeddingInference
from core.inference.response_metadata import ResponseMetadata
from core.services._inference_call import Context, caller_of, send_response_metadata

_CREATE = "/aqueduct.v1.EmbeddingService/CreateEmbeddings"


class EmbeddingServicer(embedding_service_pb2_grpc.EmbeddingServiceServicer):
    def __init__(self, embeddings: EmbeddingInference) -> None:
        self._embeddings = embeddings

    async def CreateEmbeddings(
        self, request: embedding_service_pb2.CreateEmbeddingsRequest, context: Context
    ) -> embedding_service_pb2.CreateEmbeddingsResponse:
        metadata = ResponseMetadata()
        result = await self._embeddings.create(request.params, caller_of(context, _CREATE), response_metadata=metadata)
        await send_response_metadata(context, metadata)
        return embedding_service_pb2.CreateEmbeddingsResponse(embeddings=result)
