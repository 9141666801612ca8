"""The handshake-era generation through the gateway with the official SDK's ClientSession against the reference
server-everything: every feature family arrives as the upstream sent it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import mcp.types as types
import pytest
from mcp.shared.exceptions import MCPError

from tests.integration.mcp.conftest import endpoint, handshake_session
from tests.support.gateway import Gateway


@pytest.mark.parametrize("v1", [True, False])
async def test_tools_echo_structured_and_image(gateway: Gateway, token: str, v1: bool) -> None:
    async with handshake_session(endpoint(gateway, "everything", v1=v1), token) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"echo", "get-structured-content", "get-tiny-image", "get-sum"} <= names
        echoed = await session.call_tool("echo", {"message": "héllo ✓"})
        assert echoed.content[0].text == "Echo: héllo ✓" and not echoed.is_error
        structured = await session.call_tool("get-structured-content", {"location": "New York"})
        assert structured.structured_content is not None and "temperature" in structured.structured_content
        image = await session.call_tool("get-tiny-image", {})
        kinds = {c.type for c in image.content}
        assert "image" in kinds
        picture = next(c for c in image.content if c.type == "image")
        assert picture.mime_type == "image/png" and len(picture.data) > 100
        assert (await session.call_tool("get-sum", {"a": 2, "b": 40})).content[0].text.rstrip(".").endswith("42")


async def test_resources_templates_prompts_and_completion(gateway: Gateway, token: str) -> None:
    async with handshake_session(endpoint(gateway, "everything"), token) as session:
        resources = (await session.list_resources()).resources
        assert resources
        first = await session.read_resource(resources[0].uri)
        assert first.contents and str(first.contents[0].uri) == str(resources[0].uri)
        templates = (await session.list_resource_templates()).resource_templates
        assert any("{resourceId}" in t.uri_template for t in templates)
        dynamic = await session.read_resource("demo://resource/dynamic/text/7")
        assert "7" in dynamic.contents[0].text
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert {"simple-prompt", "args-prompt"} <= prompts
        got = await session.get_prompt("args-prompt", {"city": "Lyon", "state": "Rhône"})
        assert "Lyon" in str(got.messages[0].content)
        completion = await session.complete(
            types.PromptReference(type="ref/prompt", name="completable-prompt"),
            {"name": "department", "value": "E"},
        )
        assert completion.completion.values and all(v.startswith("E") for v in completion.completion.values)


async def test_ping_and_unknown_tool_and_resource_errors_as_the_upstream_words_them(
    gateway: Gateway, token: str
) -> None:
    async with handshake_session(endpoint(gateway, "everything"), token) as session:
        await session.send_ping()
        unknown = await session.call_tool("no-such-tool", {})
        assert unknown.is_error and "no-such-tool" in unknown.content[0].text
        with pytest.raises(MCPError) as missing:
            await session.read_resource("demo://resource/nowhere/42")
        assert missing.value.error.code != 0 and missing.value.error.message


async def test_progress_notifications_arrive_before_the_result(gateway: Gateway, token: str) -> None:
    arrivals: list[tuple[float, float]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append((time.monotonic(), progress))

    async with handshake_session(endpoint(gateway, "everything"), token) as session:
        result = await session.call_tool(
            "trigger-long-running-operation", {"duration": 1.5, "steps": 3}, progress_callback=on_progress
        )
        finished = time.monotonic()
    assert "completed" in result.content[0].text.lower()
    assert [p for _, p in arrivals] == [1, 2, 3]
    # Passed through as they happen, not buffered to the end: the first step came ~1 s before the result.
    assert finished - arrivals[0][0] > 0.6


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_logging_notifications_reach_the_client(gateway: Gateway, token: str) -> None:
    received: list[Any] = []
    arrived = asyncio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        received.append(params)
        arrived.set()

    async with handshake_session(endpoint(gateway, "everything"), token, logging_callback=on_log) as session:
        await session.set_logging_level("debug")
        await session.call_tool("toggle-simulated-logging", {})
        await asyncio.wait_for(arrived.wait(), 20)
        await session.call_tool("toggle-simulated-logging", {})
    assert received and received[0].level


async def test_two_concurrent_sessions_stay_apart(gateway: Gateway, token: str) -> None:
    url = endpoint(gateway, "everything")
    async with handshake_session(url, token) as one, handshake_session(url, token) as two:
        a, b = await asyncio.gather(
            one.call_tool("echo", {"message": "one"}), two.call_tool("echo", {"message": "two"})
        )
        assert (a.content[0].text, b.content[0].text) == ("Echo: one", "Echo: two")
