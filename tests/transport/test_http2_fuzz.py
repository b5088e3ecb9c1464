"""A short HTTP/2 conformance/abuse pass over the zttp gRPC server (``make fuzz-http2`` runs
the long one: HTTP2_FUZZ_EXAMPLES examples)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from tests.transport import http2_fuzz
from tests.transport.echo import EchoServer, served

EXAMPLES = int(os.environ.get("HTTP2_FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def server() -> Iterator[EchoServer]:
    yield from served("zttp")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=http2_fuzz.frame_sequences)
def test_random_frames_never_break_the_server(server: EchoServer, frames: list[bytes]) -> None:
    http2_fuzz.send_raw(server.port, b"".join(frames))
    http2_fuzz.assert_alive(server)


@pytest.mark.parametrize("attack", http2_fuzz.ATTACKS, ids=lambda a: a.__name__)
def test_attacks_do_not_starve_other_clients(
    server: EchoServer, attack: Callable[[int], None]
) -> None:
    http2_fuzz.attack_while_serving(server, attack)


def test_bytes_that_are_not_http2(server: EchoServer) -> None:
    http2_fuzz.send_raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", with_preface=False)
    http2_fuzz.send_raw(server.port, b"\x16\x03\x01\x00\xff" + b"\x00" * 300, with_preface=False)
    http2_fuzz.assert_alive(server)
