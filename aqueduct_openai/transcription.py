"""Transcriptions and translations: multipart form fields <-> TranscriptionParams.

Form values are text, so typed fields are parsed from their text (`temperature=0.2`, `stream=true`); every
other field passes through to the upstream as it came, in order. The audio file itself is not modelled here:
it travels as bytes beside the params."""

from __future__ import annotations

from collections.abc import Iterable

from aqueduct.v1 import media_pb2

from .common import CodecError, check_user_id, missing

FormFields = list[tuple[str, str]]

TEXT_FORMATS = frozenset({"json", "text", "srt", "verbose_json", "vtt"})
_GRANULARITIES = ("timestamp_granularities[]", "timestamp_granularities")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


def transcription_params_from_form(
    fields: Iterable[tuple[str, str]], *, translate: bool, file_name: str, file_content_type: str
) -> media_pb2.TranscriptionParams:
    """The non-file form fields of a client request -> params. Raises CodecError naming the field."""
    task = media_pb2.AUDIO_TASK_TRANSLATION if translate else media_pb2.AUDIO_TASK_TRANSCRIPTION
    params = media_pb2.TranscriptionParams(task=task, file_name=file_name, file_content_type=file_content_type)
    seen_model = False
    for name, value in fields:
        if name == "model":
            params.model, seen_model = value, True
        elif name in ("language", "prompt"):
            setattr(params, name, value)
        elif name == "response_format":
            if value not in TEXT_FORMATS:
                raise CodecError(
                    f"Invalid value for 'response_format': expected one of {', '.join(sorted(TEXT_FORMATS))}.",
                    "response_format",
                )
            params.response_format = value
        elif name == "temperature":
            params.temperature = _float(value, name)
        elif name in _GRANULARITIES:
            params.timestamp_granularities.append(value)
        elif name == "stream":
            params.stream = _bool(value, name)
        elif name == "user_id":
            params.user_id = check_user_id(value, "user_id")
        else:
            params.extra_fields.add(name=name, value=value)
    if not seen_model or not params.model:
        raise missing("model")
    return params


def transcription_form_fields(params: media_pb2.TranscriptionParams) -> FormFields:
    """Params -> the upstream's form fields but `model` (the deployment's name goes first) and never `user_id`."""
    out: FormFields = []
    for key in ("language", "prompt", "response_format"):
        if params.HasField(key):
            out.append((key, getattr(params, key)))
    if params.HasField("temperature"):
        out.append(("temperature", repr(params.temperature)))
    out.extend(("timestamp_granularities[]", g) for g in params.timestamp_granularities)
    if params.stream:
        out.append(("stream", "true"))
    out.extend((f.name, f.value) for f in params.extra_fields)
    return out


def _float(value: str, field: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CodecError(f"Invalid value for '{field}': expected a number.", field) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise CodecError(f"Invalid value for '{field}': expected a finite number.", field)
    return number


def _bool(value: str, field: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CodecError(f"Invalid value for '{field}': expected true or false.", field)
