"""Short-hand chat messages for the typed client: {"role": "user", "content": "hi"} -> ChatMessage.

Only the plain-text shape is accepted here; messages with content parts or tool calls are built as
ChatMessage protos (or converted by aqueduct_openai)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aqueduct.v1 import chat_pb2

# A ChatMessage proto, or a mapping with "role" and optional "content" / "name" / "tool_call_id" strings.
MessageLike = chat_pb2.ChatMessage | Mapping[str, str | None]

CHAT_ROLES: dict[str, chat_pb2.ChatRole.ValueType] = {
    "system": chat_pb2.CHAT_ROLE_SYSTEM,
    "developer": chat_pb2.CHAT_ROLE_DEVELOPER,
    "user": chat_pb2.CHAT_ROLE_USER,
    "assistant": chat_pb2.CHAT_ROLE_ASSISTANT,
    "tool": chat_pb2.CHAT_ROLE_TOOL,
    "function": chat_pb2.CHAT_ROLE_FUNCTION,
}
_KEYS = frozenset({"role", "content", "name", "tool_call_id"})


def to_chat_message(message: MessageLike) -> chat_pb2.ChatMessage:
    if isinstance(message, chat_pb2.ChatMessage):
        return message
    unknown = set(message) - _KEYS
    if unknown:
        raise ValueError(f"unsupported chat message keys {sorted(unknown)}; build a ChatMessage proto instead")
    role = message.get("role")
    if role not in CHAT_ROLES:
        raise ValueError(f"unknown chat role {role!r}; expected one of {', '.join(CHAT_ROLES)}")
    proto = chat_pb2.ChatMessage(role=CHAT_ROLES[role])
    content = message.get("content")
    if content is not None:
        proto.text = content
    name = message.get("name")
    if name is not None:
        proto.name = name
    tool_call_id = message.get("tool_call_id")
    if tool_call_id is not None:
        proto.tool_call_id = tool_call_id
    return proto


def to_chat_messages(messages: Sequence[MessageLike]) -> list[chat_pb2.ChatMessage]:
    return [to_chat_message(message) for message in messages]
