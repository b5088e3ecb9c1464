"""Closing a listening TCP socket without resetting connections the kernel already accepted.

Closing a listener resets (RST) every connection waiting in its accept queue: clients whose
``connect`` had succeeded see ``ECONNRESET`` although they did nothing wrong. Before a front end
closes its listener, :func:`refuse_new_handshakes` attaches a classic BPF socket filter that drops
incoming SYN segments (new handshakes) while letting everything else through, so connections
whose handshake is under way still complete. The front end keeps accepting (and answering) for a
short drain window, which empties the accept queue; the close then resets nobody. A client that
tries to connect meanwhile retransmits its SYN (after about a second) and is refused once the
listener is gone: it never had a connection.

Linux only (``SO_ATTACH_FILTER``); elsewhere this is a no-op and closing behaves as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import socket
import stat
import struct
import sys
from collections.abc import Iterator
from typing import Final

logger = logging.getLogger(__name__)

#: How long a front end keeps accepting after refusing new handshakes: handshakes under way
#: complete within a round trip, and the accept loop empties the queue.
HANDSHAKE_DRAIN_SECONDS: Final = 0.2

_SO_ATTACH_FILTER = 26
_TCP_FLAGS_OFFSET = 13  # in the TCP header, where a TCP socket filter's packet data starts
_SYN, _ACK = 0x02, 0x10

# ldb [13]; and #(SYN|ACK); jeq #SYN -> drop, else accept.
_PROGRAM = (
    (0x30, 0, 0, _TCP_FLAGS_OFFSET),  # BPF_LD | BPF_B | BPF_ABS
    (0x54, 0, 0, _SYN | _ACK),  # BPF_ALU | BPF_AND | BPF_K
    (0x15, 0, 1, _SYN),  # BPF_JMP | BPF_JEQ | BPF_K: a bare SYN?
    (0x06, 0, 0, 0),  # BPF_RET: drop
    (0x06, 0, 0, 0xFFFFFFFF),  # BPF_RET: keep the whole segment
)


def refuse_new_handshakes(sock: socket.socket) -> bool:
    """Drop new SYNs on the listening ``sock`` (see the module docstring); False if the
    platform cannot (the listener then closes the old way)."""
    if not sys.platform.startswith("linux"):
        return False
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in _PROGRAM)
    buffer = ctypes.create_string_buffer(code, len(code))
    program = struct.pack("HL", len(_PROGRAM), ctypes.addressof(buffer))
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, program)
    except OSError as exc:
        logger.debug("Could not attach the SYN filter to %s: %s", sock, exc)
        return False
    return True


def listening_sockets_on(port: int) -> Iterator[socket.socket]:
    """The TCP sockets of this process listening on ``port`` (for listeners a library owns,
    such as gRPC's). Each is a borrowed view of the descriptor: use it inside the loop only;
    it is detached (never closed) afterwards."""
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return
    for name in descriptors:
        fd = int(name)
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            if (
                sock.type == socket.SOCK_STREAM
                and sock.family in (socket.AF_INET, socket.AF_INET6)
                and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                and sock.getsockname()[1] == port
            ):
                yield sock
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.detach()
