"""Models: the OpenAI model object and list (response side only; the requests carry no body)."""

from __future__ import annotations

from collections.abc import Iterable

from aqueduct.v1 import model_pb2

from .common import JsonObject

MODEL_OBJECT = "model"


def model_to_json(m: model_pb2.Model) -> JsonObject:
    """OpenAI's model object. Aqueduct's mode and aliases are not part of it."""
    return {"id": m.id, "object": MODEL_OBJECT, "created": m.created, "owned_by": m.owned_by}


def model_list_to_json(models: Iterable[model_pb2.Model]) -> JsonObject:
    """OpenAI's `GET /v1/models` answer."""
    return {"object": "list", "data": [model_to_json(m) for m in models]}
