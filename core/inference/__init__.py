"""The inference domain: chat, completions, embeddings and the model catalog, as plain typed code."""

from core.inference.caller import Caller, current_caller
from core.inference.chat import ChatInference
from core.inference.completion import CompletionInference
from core.inference.embedding import EmbeddingInference
from core.inference.model_catalog import ModelCatalog
from core.inference.pipeline import InferenceDeps

__all__ = [
    "Caller",
    "ChatInference",
    "CompletionInference",
    "EmbeddingInference",
    "InferenceDeps",
    "ModelCatalog",
    "current_caller",
]
