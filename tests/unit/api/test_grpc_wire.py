"""gRPC-over-HTTP/2 framing of the zttp server: grpc-timeout, grpc-message, metadata, messages."""

from __future__ import annotations

import gzip
import struct

import pytest

from pyserving.api.grpc.transport.zttp_server import wire
from pyserving.errors import Code, ServingError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(b"1S", 1.0), (b"100m", 0.1), (b"5M", 300.0), (b"2H", 7200.0), (b"250u", 250e-6)],
)
def test_parse_timeout(value: bytes, seconds: float) -> None:
    assert wire.parse_timeout(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [b"", b"S", b"10", b"10x", b"123456789S", b"-1S", b"1.5S"])
def test_malformed_timeout_is_no_deadline(value: bytes) -> None:
    assert wire.parse_timeout(value) is None


def test_message_text_round_trip() -> None:
    text = "bad v\u00e4lue: 100% wrong\n"
    encoded = wire.encode_message_text(text)
    assert encoded == b"bad v%C3%A4lue: 100%25 wrong%0A"
    assert wire.decode_message_text(encoded) == text


def test_metadata_skips_transport_headers_and_decodes_binary() -> None:
    headers = [
        (b":path", b"/a/b"),
        (b"content-type", b"application/grpc"),
        (b"grpc-timeout", b"1S"),
        (b"x-user", b"me"),
        (b"x-trace-bin", b"AAH+"),  # unpadded base64 of 00 01 fe
    ]
    assert wire.decode_metadata(headers) == (("x-user", "me"), ("x-trace-bin", b"\x00\x01\xfe"))
    assert wire.encode_metadata([("x-trace-bin", b"\x00\x01\xfe"), ("x-user", "me")]) == [
        (b"x-trace-bin", b"AAH+"),
        (b"x-user", b"me"),
    ]


def test_reader_splits_messages_across_chunks() -> None:
    body = wire.frame(b"first") + wire.frame(b"") + wire.frame(b"x" * 1000)
    reader = wire.MessageReader(limit=1000)
    for i in range(0, len(body), 7):
        reader.feed(body[i : i + 7])
    assert reader.messages == [(False, b"first"), (False, b""), (False, b"x" * 1000)]
    assert not reader.partial


def test_reader_refuses_a_declared_length_over_the_limit_before_buffering() -> None:
    reader = wire.MessageReader(limit=10)
    with pytest.raises(ServingError) as caught:
        reader.feed(struct.pack(">BI", 0, 1 << 30))
    assert caught.value.code == Code.RESOURCE_EXHAUSTED
    assert caught.value.message == "Received message larger than max (1073741824 vs. 10)"


def test_reader_reports_a_body_ending_inside_a_message() -> None:
    reader = wire.MessageReader(limit=100)
    reader.feed(wire.frame(b"abcdef")[:-2])
    assert reader.partial


def test_gzip_is_inflated_only_up_to_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(ServingError) as caught:
        wire.Decompressor("gzip").inflate(bomb, limit=1000)
    assert caught.value.code == Code.RESOURCE_EXHAUSTED
    assert wire.Decompressor("gzip").inflate(gzip.compress(b"hi"), limit=10) == b"hi"


def test_unknown_encoding_is_unimplemented() -> None:
    with pytest.raises(ServingError) as caught:
        wire.Decompressor("snappy")
    assert caught.value.code == Code.UNIMPLEMENTED
