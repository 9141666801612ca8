"""anthropic/ models through the OpenAI SDK, the façade and core, against a loopback Messages API that checks
the wire format (tests/support/fake_anthropic.py): chat with system prompts, tools and tool results, images,
streaming, max_tokens, usage and stop reasons, Anthropic's errors as OpenAI's, and what it cannot do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.integration.providers.providers_harness import Setup, serving, settings, through_gateway
from tests.support.fake_anthropic import FakeAnthropic

KEY = "sk-ant-upstream-key-1234"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Looks a word up.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        },
    }
]


def entry(api_base: str, **params: Any) -> dict[str, Any]:
    info = params.pop("model_info", {})
    return {
        "model_name": "claude",
        "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_base": api_base, "api_key": KEY, **params},
        "model_info": info,
    }


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAnthropic, str]]:
    upstream = FakeAnthropic(api_key=KEY)
    async with serving(upstream.app) as url:
        yield upstream, url


@pytest.fixture
async def setup(fake: tuple[FakeAnthropic, str]) -> AsyncIterator[Setup]:
    async with through_gateway(settings(entry(fake[1]))) as s:
        yield s


async def test_chat_with_a_system_prompt_maps_request_headers_usage_and_stop_reason(
    fake: tuple[FakeAnthropic, str], setup: Setup
) -> None:
    upstream, _ = fake
    result = await setup.client.chat.completions.create(
        model="claude",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"},
        ],
        temperature=0.5,
        user="end-user-7",
    )
    assert result.choices[0].message.content == "echo: hello there"
    assert result.choices[0].finish_reason == "stop"
    assert result.choices[0].message.role == "assistant"
    assert result.usage is not None and result.usage.completion_tokens == 3
    assert result.usage.total_tokens == result.usage.prompt_tokens + 3
    sent = upstream.received[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["system"] == [{"type": "text", "text": "Be brief."}]
    assert sent.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]
    assert sent.body["max_tokens"] == 4096  # the documented default when neither request nor config has one
    assert sent.body["temperature"] == 0.5 and sent.body["metadata"] == {"user_id": "end-user-7"}


async def test_max_tokens_comes_from_the_request_or_model_info_and_length_is_the_finish_reason(
    fake: tuple[FakeAnthropic, str],
) -> None:
    upstream, url = fake
    config = settings(entry(url, model_info={"max_output_tokens": 2}))
    async with through_gateway(config) as s:
        short = await s.client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "one two three"}]
        )
        assert upstream.received[-1].body["max_tokens"] == 2
        assert short.choices[0].finish_reason == "length" and short.choices[0].message.content == "echo: one"
        asked = await s.client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "one two three"}], max_completion_tokens=50
        )
        assert upstream.received[-1].body["max_tokens"] == 50 and asked.choices[0].finish_reason == "stop"


async def test_stop_sequences_and_cached_prompt_tokens(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    result = await setup.client.chat.completions.create(
        model="claude",
        messages=[
            {
                "role": "system",
                "content": [{"type": "text", "text": "Long context", "cache_control": {"type": "ephemeral"}}],
            },  # type: ignore[list-item]
            {"role": "user", "content": "alpha beta gamma"},
        ],
        stop=["gamma"],
    )
    assert upstream.received[-1].body["stop_sequences"] == ["gamma"]
    assert upstream.received[-1].body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert result.choices[0].finish_reason == "stop" and result.choices[0].message.content == "echo: alpha beta "
    assert result.usage is not None and result.usage.prompt_tokens_details is not None
    assert result.usage.prompt_tokens_details.cached_tokens == 3


async def test_tools_and_tool_results_round_trip(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    first = await setup.client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "weather"}], tools=TOOLS, tool_choice="required"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "lookup" and call.function.arguments == '{"q":"weather"}'
    sent = upstream.received[-1].body
    assert sent["tool_choice"] == {"type": "any"}
    assert sent["tools"] == [
        {
            "name": "lookup",
            "description": "Looks a word up.",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        }
    ]
    second = await setup.client.chat.completions.create(
        model="claude",
        messages=[
            {"role": "user", "content": "weather"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
        tools=TOOLS,
        parallel_tool_calls=False,
    )
    assert second.choices[0].message.content == "result: sunny"
    sent = upstream.received[-1].body
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": call.id, "name": "lookup", "input": {"q": "weather"}}],
    }
    assert sent["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
    }
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


async def test_images_as_base64_and_url_blocks(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    result = await setup.client.chat.completions.create(
        model="claude",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://images.example/cat.jpg"}},
                ],
            }
        ],
    )
    assert result.choices[0].message.content == "echo: what is this images: 2"
    blocks = upstream.received[-1].body["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert blocks[2] == {"type": "image", "source": {"type": "url", "url": "https://images.example/cat.jpg"}}


async def test_streaming_maps_events_to_chunks_with_usage(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    stream = await setup.client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "stream me please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    sent = upstream.received[-1].body
    assert sent["stream"] is True and "stream_options" not in sent
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream me please"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4 and chunks[-1].usage.prompt_tokens > 0
    assert {c.id for c in chunks} == {"msg_01fake"}


async def test_streaming_without_include_usage_sends_no_usage_chunk(setup: Setup) -> None:
    stream = await setup.client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hi"


async def test_streaming_tool_calls(setup: Setup) -> None:
    stream = await setup.client.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": "look"}],
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "lookup"}},
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += delta.id or ""
                if delta.function is not None:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
    assert calls == {0: {"id": "toolu_01fake", "name": "lookup", "arguments": '{"q":"look"}'}}
    assert finish == "tool_calls"


async def test_rate_limit_is_a_429_with_retry_after(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    upstream.fail_next(
        "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", retry_after="7"
    )
    with pytest.raises(openai.RateLimitError) as info:
        await setup.client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "7"
    body: Any = info.value.body
    assert body["type"] == "rate_limit_error" and body["code"] == "rate_limit_exceeded"
    assert "per-minute rate limit" in body["message"]


async def test_overloaded_529_is_a_503_for_openai_clients(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    upstream.fail_next("overloaded_error", "Overloaded")
    with pytest.raises(openai.InternalServerError) as info:
        await setup.client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 503
    body: Any = info.value.body
    assert body["message"] == "Overloaded" and body["type"] == "server_error"


async def test_invalid_request_and_context_length_errors_are_400s(
    fake: tuple[FakeAnthropic, str], setup: Setup
) -> None:
    upstream, _ = fake
    with pytest.raises(openai.BadRequestError) as info:
        # Anthropic's temperature range is [0, 1]; the upstream's own 400 comes back with its message.
        await setup.client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "hi"}], temperature=1.5
        )
    body: Any = info.value.body
    assert "temperature" in body["message"] and body["type"] == "invalid_request_error"
    upstream.fail_next("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")
    with pytest.raises(openai.BadRequestError) as too_long:
        await setup.client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}])
    body = too_long.value.body
    assert body["code"] == "context_length_exceeded"


async def test_the_gateways_key_refused_is_a_502_without_the_key(fake: tuple[FakeAnthropic, str]) -> None:
    _, url = fake
    async with through_gateway(settings(entry(url, api_key="sk-ant-wrong-key-999"))) as s:
        with pytest.raises(openai.APIStatusError) as info:
            await s.client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 502
    assert "sk-ant-wrong-key-999" not in str(info.value.body)


async def test_an_error_event_mid_stream_reaches_the_sdk(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    upstream.fail_next("overloaded_error", "Overloaded", mid_stream=True)
    stream = await setup.client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    received: list[str] = []
    with pytest.raises(openai.APIError) as info:
        async for chunk in stream:
            received.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(received) == "echo:"
    assert "Overloaded" in str(info.value)


async def test_a_stream_cut_before_message_stop_is_an_error_not_a_complete_answer(
    fake: tuple[FakeAnthropic, str], setup: Setup
) -> None:
    upstream, _ = fake
    upstream.cut_next_stream()
    stream = await setup.client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "one two"}], stream=True
    )
    with pytest.raises(openai.APIError) as info:
        async for _ in stream:
            pass
    assert "no message_stop" in str(info.value)


async def test_usage_is_recorded_from_anthropics_counts(setup: Setup) -> None:
    stream = await setup.client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "count these words"}], stream=True
    )
    [chunk async for chunk in stream]
    await setup.client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "and these"}])
    streamed, unary = await setup.gateway.sink.wait_for(2)
    assert (streamed.status, streamed.output_tokens, streamed.tokens_estimated) == (200, 4, False)
    assert (unary.status, unary.output_tokens, unary.tokens_estimated) == (200, 3, False)
    assert streamed.input_tokens > 0 and unary.input_tokens > 0
    assert streamed.deployment == "claude-sonnet-4-5"


async def test_n_above_one_is_a_clear_400_naming_the_parameter(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    before = len(upstream.received)
    for extra in ({"n": 2}, {"presence_penalty": 0.5}, {"response_format": {"type": "json_object"}}):
        with pytest.raises(openai.BadRequestError) as info:
            await setup.client.chat.completions.create(
                model="claude", messages=[{"role": "user", "content": "hi"}], **extra
            )
        body: Any = info.value.body
        (name,) = extra
        assert body["param"] == name and "drop_params" in body["message"] and "Anthropic" in body["message"]
    assert len(upstream.received) == before  # refused before anything was sent
    ok = await setup.client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}], n=1)
    assert ok.choices[0].message.content == "echo: hi"


async def test_drop_params_drops_what_anthropic_cannot_do(fake: tuple[FakeAnthropic, str]) -> None:
    upstream, url = fake
    for config in (settings(entry(url), drop_params=True), settings(entry(url, drop_params=True))):
        async with through_gateway(config) as s:
            result = await s.client.chat.completions.create(
                model="claude", messages=[{"role": "user", "content": "hi"}], n=2, seed=3, presence_penalty=0.1
            )
        assert result.choices[0].message.content == "echo: hi"
        assert not {"n", "seed", "presence_penalty"} & set(upstream.received[-1].body)


async def test_anthropic_parameters_pass_through(fake: tuple[FakeAnthropic, str], setup: Setup) -> None:
    upstream, _ = fake
    await setup.client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "hi"}], extra_body={"top_k": 5}
    )
    assert upstream.received[-1].body["top_k"] == 5


async def test_embeddings_and_legacy_completions_are_clear_400s(fake: tuple[FakeAnthropic, str]) -> None:
    upstream, url = fake
    embed = {**entry(url), "model_name": "claude-embed", "model_info": {"mode": "embedding"}}
    async with through_gateway(settings(entry(url), embed)) as s:
        with pytest.raises(openai.BadRequestError) as info:
            await s.client.embeddings.create(model="claude-embed", input="hi")
        with pytest.raises(openai.BadRequestError) as legacy:
            await s.client.completions.create(model="claude", prompt="hi")
    assert "Anthropic has no embeddings API" in str(info.value.body)
    assert "legacy completions" in str(legacy.value.body)
    assert upstream.received == []
