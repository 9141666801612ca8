"""JSON responses serialized with the codec's dumps (orjson, exact for big ints), no pydantic on the way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from aqueduct_openai import dumps

JSON_MEDIA_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)
