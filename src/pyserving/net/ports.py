"""Reserving the server's ports before any model loads.

Loading can take minutes; a port that is already in use must fail the start in well under a
second, naming the port and the setting that chose it. The REST socket is bound here but not
listening (clients are refused until the server starts, as in TF Serving) and handed to the REST
server; the gRPC port is probed with a throw-away socket (gRPC binds
its own), which catches any other listener on it.
"""

from __future__ import annotations

import errno
import socket

from pyserving.errors import Code, ServingError

BACKLOG = 2048


def bind_listener(port: int, *, listen: bool = True) -> socket.socket:
    """Listen on all interfaces: IPv6 dual-stack when available, else IPv4 (as TF Serving).
    ``listen=False`` only binds: the port is reserved, yet connections are refused until
    ``sock.listen(BACKLOG)`` (as TF Serving, whose ports open once the models are loaded)."""
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        address: tuple[str, int] = ("::", port)
    except OSError:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = ("0.0.0.0", port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    if listen:
        sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def port_error(flag: str, port: int, exc: OSError) -> ServingError:
    """The startup error for a port that cannot be bound."""
    if exc.errno == errno.EADDRINUSE:
        return ServingError(
            Code.UNAVAILABLE,
            f"{flag}={port} is in use: another process listens on port {port}. Stop it, or "
            f"choose a free port with {flag}.",
        )
    return ServingError(Code.UNAVAILABLE, f"{flag}={port} cannot be used: {exc}")


def probe_port(port: int, flag: str) -> None:
    """Raise :func:`port_error` unless ``port`` can be bound right now (then released)."""
    try:
        bind_listener(port).close()
    except OSError as exc:
        raise port_error(flag, port, exc) from None


def reserve_rest_port(port: int, flag: str) -> socket.socket:
    """The REST socket for ``port`` (0 = any free port), bound but not listening yet."""
    try:
        return bind_listener(port, listen=False)
    except OSError as exc:
        raise port_error(flag, port, exc) from None
