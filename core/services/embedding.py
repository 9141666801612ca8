"""EmbeddingService servicer: proto in, EmbeddingInference call, proto out."""

from __future__ import annotations

from aqueduct.v1 import embedding_service_pb2, embedding_service_pb2_grpc

from core.inference.embedding import EmbeddingInference
from core.services._inference_call import Context, Served, caller_of, set_served_trailers

_CREATE = "/aqueduct.v1.EmbeddingService/CreateEmbeddings"


class EmbeddingServicer(embedding_service_pb2_grpc.EmbeddingServiceServicer):
    def __init__(self, embeddings: EmbeddingInference) -> None:
        self._embeddings = embeddings

    async def CreateEmbeddings(
        self, request: embedding_service_pb2.CreateEmbeddingsRequest, context: Context
    ) -> embedding_service_pb2.CreateEmbeddingsResponse:
        served = Served()
        result = await self._embeddings.create(request.params, caller_of(context, _CREATE), on_served=served.record)
        set_served_trailers(context, served)
        return embedding_service_pb2.CreateEmbeddingsResponse(embeddings=result)
