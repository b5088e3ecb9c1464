"""gRPC server settings from the flags: channel arguments, TLS credentials, concurrency.

* ``--grpc_channel_arguments``: ``k=v,k=v``; a value that parses completely as an int32 is passed
  as an int, anything else as a string (TF Serving's ``parseGrpcChannelArgs``). They come after the
  message-size limits, which are INT32_MAX as in TF Serving, so a flag may still lower them.
* ``--ssl_config_file``: a text ``SSLConfig``; PEM strings ``server_key``/``server_cert``, optional
  ``custom_ca``; ``client_verify`` requires and verifies client certificates (against
  ``custom_ca``, or gRPC's bundled roots when there is none, as gRPC C++ does with an empty
  ``pem_root_certs``).
* ``--grpc_max_threads``: TF Serving caps gRPC's sync-server threads with a resource quota, so at
  most that many RPCs run at once and the next one fails RESOURCE_EXHAUSTED. grpc.aio has no
  request threads; its equivalent is ``maximum_concurrent_rpcs``, which rejects RPCs beyond the
  limit with RESOURCE_EXHAUSTED the same way. A value <= 0 means no limit.

Configuration errors are ServingErrors (INVALID_ARGUMENT), raised before any port opens.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Final

import grpc

from pyserving.config.ssl_config import load_server_key_pair, read_server_ssl_config
from pyserving.errors import Code, ServingError

INT32_MAX: Final = 2**31 - 1
_INT32_MIN: Final = -(2**31)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")

ChannelOption = tuple[str, int | str]


def _int32(value: str) -> int | None:
    """TF's ``safe_strto32``: the whole value is a decimal int32 (surrounding spaces allowed)."""
    if not _INTEGER.fullmatch(value):
        return None
    number = int(value)
    return number if _INT32_MIN <= number <= INT32_MAX else None


def channel_options(arguments: str) -> list[ChannelOption]:
    """Server channel options: unlimited (INT32_MAX) message sizes, then the flag's arguments."""
    options: list[ChannelOption] = [
        ("grpc.max_send_message_length", INT32_MAX),
        ("grpc.max_receive_message_length", INT32_MAX),
    ]
    for item in arguments.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"--grpc_channel_arguments: expected key=value, got {item!r}",
            )
        number = _int32(value)
        options.append((key, value if number is None else number))
    # grpc core reads the first value of a repeated key: keep only the last one given.
    last = {key: index for index, (key, _) in enumerate(options)}
    return [option for index, option in enumerate(options) if last[option[0]] == index]


def max_concurrent_rpcs(grpc_max_threads: int) -> int | None:
    return grpc_max_threads if grpc_max_threads > 0 else None


def _default_roots() -> bytes:
    roots = Path(grpc.__file__).resolve().parent / "_cython" / "_credentials" / "roots.pem"
    try:
        return roots.read_bytes()
    except OSError as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "SSLConfig.client_verify needs custom_ca (gRPC's default roots are not available)",
        ) from exc


def server_credentials(ssl_config_file: str) -> grpc.ServerCredentials | None:
    """TLS credentials from ``--ssl_config_file``, or None for plaintext."""
    if not ssl_config_file:
        return None
    config = read_server_ssl_config(ssl_config_file)
    roots: bytes | None = config.custom_ca.encode() if config.custom_ca else None
    if config.client_verify and roots is None:
        roots = _default_roots()
    try:
        return grpc.ssl_server_credentials(
            [(config.server_key.encode(), config.server_cert.encode())],
            root_certificates=roots,
            require_client_auth=config.client_verify,
        )
    except (ValueError, TypeError) as exc:
        raise ServingError(Code.INVALID_ARGUMENT, f"{ssl_config_file}: {exc}") from exc


def ssl_context(ssl_config_file: str) -> ssl.SSLContext | None:
    """The same ``--ssl_config_file`` as an ``ssl.SSLContext`` for a server on asyncio: TLS 1.2+,
    ALPN ``h2`` (gRPC clients require it), client certificates required and verified when
    ``client_verify`` is set. None for plaintext."""
    if not ssl_config_file:
        return None
    config = read_server_ssl_config(ssl_config_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    try:
        load_server_key_pair(context, config)
        if config.client_verify:
            roots = config.custom_ca or _default_roots().decode("ascii")
            context.load_verify_locations(cadata=roots)
            context.verify_mode = ssl.CERT_REQUIRED
    except (ssl.SSLError, ValueError) as exc:
        raise ServingError(Code.INVALID_ARGUMENT, f"{ssl_config_file}: {exc}") from exc
    return context


def int_option(options: list[ChannelOption], key: str, default: int) -> int:
    """The last integer value of channel option ``key`` (later options win, as in gRPC)."""
    value = default
    for name, given in options:
        if name == key and isinstance(given, int):
            value = given
    return value
