from __future__ import annotations

import pytest

from core.providers.sse import SSEDecoder, SSEError, SSEEvent

STREAM = (
    b": keepalive comment\r\n\r\n"
    b'event: message\r\ndata: {"a":\r\ndata: 1}\r\n\r\n'
    b'data:{"b": "\xc3\xa9\xe2\x80\xa8x"}\n\n'
    b"id: 7\rretry: 10\rdata: [DONE]\r\r"
)
EXPECTED = [
    SSEEvent(data='{"a":\n1}', event="message"),
    SSEEvent(data='{"b": "\u00e9\u2028x"}'),
    SSEEvent(data="[DONE]"),
]


def _decode(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.close()


def test_whole_stream_with_comments_multiline_data_and_every_line_ending() -> None:
    assert _decode([STREAM]) == EXPECTED


def test_same_result_when_fed_one_byte_at_a_time() -> None:
    # Splits CRLF pairs and multi-byte UTF-8 sequences across feeds.
    assert _decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_last_event_without_blank_line_is_delivered_at_close() -> None:
    assert _decode([b"data: {}\n\ndata: tail"]) == [SSEEvent("{}"), SSEEvent("tail")]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert _decode([b"\n\n\r\n: only a comment\n\n"]) == []


def test_invalid_utf8_is_an_error() -> None:
    with pytest.raises(SSEError):
        SSEDecoder().feed(b"data: \xff\xfe\n\n")


def test_oversized_event_is_an_error() -> None:
    decoder = SSEDecoder(max_event_chars=10)
    with pytest.raises(SSEError):
        decoder.feed(b"data: 0123456789abc")
    decoder = SSEDecoder(max_event_chars=10)
    with pytest.raises(SSEError):
        decoder.feed(b"data: 012345\ndata: 6789ab\n")
