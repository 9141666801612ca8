"""The OpenAI JSON <-> protobuf codec shared by the façade and core.

Pure functions, both directions: the façade maps client JSON to proto and proto back to client JSON; core maps
proto to upstream JSON and upstream JSON back to proto. It lives in clients/ (not in http_facade/ or core/)
because core must never import http_facade, and both sides need the very same mapping.

Rules (DESIGN.md §3): the proto's typed fields carry what it models; every other key passes through losslessly
as JSON object text in the `extra_json` field at the same level, so numbers keep their exact form. A typed key
whose JSON value is null, [] or {} is absent for the proto but its literal is kept in extra_json so the round
trip is exact; any other typed key found in extra_json is an error (CodecError).
"""

from .chat import (
    CHAT_CHUNK_OBJECT,
    CHAT_COMPLETION_OBJECT,
    chat_chunk_from_json,
    chat_chunk_to_json,
    chat_completion_from_json,
    chat_completion_to_json,
    chat_params_from_json,
    chat_params_to_json,
    stream_requested,
)
from .common import MAX_PASS_THROUGH_DEPTH, CodecError, dumps, loads
from .completion import (
    TEXT_COMPLETION_OBJECT,
    completion_from_json,
    completion_params_from_json,
    completion_params_to_json,
    completion_to_json,
)
from .embedding import (
    embedding_list_from_json,
    embedding_list_to_json,
    embedding_params_from_json,
    embedding_params_to_json,
)
from .files import (
    batch_create_from_json,
    batch_to_json,
    file_deleted_json,
    file_to_json,
    list_json,
    resource_id,
)
from .media import (
    image_params_from_json,
    image_params_to_json,
    images_response_from_json,
    images_response_to_json,
    reject_image_stream,
    speech_params_from_json,
    speech_params_to_json,
)
from .model import model_list_to_json, model_to_json
from .transcription import TEXT_FORMATS, transcription_form_fields, transcription_params_from_form

__all__ = [
    "CHAT_CHUNK_OBJECT",
    "CHAT_COMPLETION_OBJECT",
    "MAX_PASS_THROUGH_DEPTH",
    "TEXT_COMPLETION_OBJECT",
    "TEXT_FORMATS",
    "CodecError",
    "batch_create_from_json",
    "batch_to_json",
    "chat_chunk_from_json",
    "chat_chunk_to_json",
    "chat_completion_from_json",
    "chat_completion_to_json",
    "chat_params_from_json",
    "chat_params_to_json",
    "completion_from_json",
    "completion_params_from_json",
    "completion_params_to_json",
    "completion_to_json",
    "dumps",
    "embedding_list_from_json",
    "embedding_list_to_json",
    "embedding_params_from_json",
    "embedding_params_to_json",
    "file_deleted_json",
    "file_to_json",
    "image_params_from_json",
    "image_params_to_json",
    "images_response_from_json",
    "images_response_to_json",
    "list_json",
    "loads",
    "model_list_to_json",
    "model_to_json",
    "reject_image_stream",
    "resource_id",
    "speech_params_from_json",
    "speech_params_to_json",
    "stream_requested",
    "transcription_form_fields",
    "transcription_params_from_form",
]
