"""The SYN filter that lets a listener close without resetting accepted connections."""

from __future__ import annotations

import socket
import sys

import pytest

from pyserving.errors import Code, ServingError
from pyserving.net.listeners import listening_sockets_on, refuse_new_handshakes
from pyserving.net.ports import bind_listener, probe_port, reserve_rest_port

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_ATTACH_FILTER")


@linux_only
def test_queued_connections_survive_and_new_handshakes_are_refused() -> None:
    listener = bind_listener(0)
    port = listener.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port), timeout=5)
    assert refuse_new_handshakes(listener)
    late = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    late.settimeout(0.5)
    with pytest.raises(TimeoutError):  # its SYN is dropped: no connection, nothing to reset
        late.connect(("127.0.0.1", port))
    late.close()
    listener.setblocking(True)
    accepted, _ = listener.accept()  # the connection queued before the filter is still there
    queued.sendall(b"ping")
    assert accepted.recv(4) == b"ping"
    accepted.sendall(b"pong")
    assert queued.recv(4) == b"pong"
    for sock in (accepted, queued, listener):
        sock.close()


@linux_only
def test_listening_sockets_on_finds_a_port_without_taking_it() -> None:
    listener = bind_listener(0)
    port = listener.getsockname()[1]
    found = [sock.getsockname()[1] for sock in listening_sockets_on(port)]
    assert found == [port]
    # The views were detached, not closed: the listener still accepts.
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    listener.setblocking(True)
    listener.accept()[0].close()
    client.close()
    listener.close()


def test_a_port_in_use_names_the_flag() -> None:
    taken = bind_listener(0)
    port = taken.getsockname()[1]
    with pytest.raises(ServingError) as caught:
        probe_port(port, "--port")
    assert caught.value.code is Code.UNAVAILABLE
    assert caught.value.message.startswith(f"--port={port} is in use")
    with pytest.raises(ServingError) as caught:
        reserve_rest_port(port, "--rest-port")
    assert f"--rest-port={port} is in use" in caught.value.message
    taken.close()


def test_a_reserved_rest_port_refuses_connections_until_it_listens() -> None:
    reserved = reserve_rest_port(0, "--rest_api_port")
    port = reserved.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    reserved.listen(8)
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    reserved.close()
