"""The typed client's request building; no sockets."""

from __future__ import annotations

import pytest
from aqueduct.v1 import chat_pb2
from aqueduct_client._chat_messages import to_chat_message
from aqueduct_client.client import chat_params


def test_shorthand_messages_become_protos() -> None:
    message = to_chat_message({"role": "tool", "content": "42", "tool_call_id": "call_1"})
    assert message.role == chat_pb2.CHAT_ROLE_TOOL
    assert (message.text, message.tool_call_id) == ("42", "call_1")
    assert not to_chat_message({"role": "assistant", "content": None}).HasField("text")
    proto = chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_USER, text="hi")
    assert to_chat_message(proto) is proto


@pytest.mark.parametrize("message", [{"role": "robot", "content": "x"}, {"role": "user", "tool_calls": "x"}])
def test_bad_shorthand_messages_are_rejected(message: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        to_chat_message(message)


def test_unset_options_stay_unset_and_zero_is_kept() -> None:
    params = chat_params("m", [{"role": "user", "content": "hi"}], {"temperature": 0.0, "max_tokens": 5})
    assert params.model == "m"
    assert params.HasField("temperature") and params.temperature == 0.0
    assert params.max_tokens == 5
    assert not params.HasField("top_p")
    assert not params.HasField("stream_options")


def test_stream_and_passthrough_options() -> None:
    params = chat_params(
        "m",
        [],
        {"include_usage": True, "metadata": {"k": "v"}, "extra_json": '{"logprobs": true}', "user_id": "u1"},
    )
    assert params.stream_options.include_usage is True
    assert dict(params.metadata) == {"k": "v"}
    assert params.extra_json == '{"logprobs": true}'
    assert params.user_id == "u1"
