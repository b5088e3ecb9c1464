"""TLS for the REST port from the same ``--ssl_config_file`` gRPC uses (TF Serving's text
``SSLConfig``): ``server_key`` and ``server_cert`` (PEM text) make the port HTTPS; ``custom_ca``
makes it verify client certificates signed by that CA, and ``client_verify: true`` requires one
(mutual TLS). ALPN offers HTTP/1.1 (the REST server speaks HTTP/1.1 only).

:mod:`ssl` loads keys from files only, so the PEM text goes through a private temporary file
(mode 0600, removed at once).
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

from google.protobuf import text_format

from pyserving.errors import Code, ServingError
from pyserving.protos import parse_text, ssl_config_pb2


def read_ssl_config(path: str) -> ssl_config_pb2.SSLConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ServingError(Code.NOT_FOUND, f"{path}; {exc.strerror}") from exc
    try:
        return parse_text(text, ssl_config_pb2.SSLConfig())
    except text_format.ParseError as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"Invalid protobuf file: '{path}' ({exc})"
        ) from exc


def server_ssl_context(ssl_config_file: str) -> ssl.SSLContext | None:
    """The REST port's TLS context, or None for plain HTTP (no ``--ssl_config_file``)."""
    if not ssl_config_file:
        return None
    config = read_ssl_config(ssl_config_file)
    if not config.server_key or not config.server_cert:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"{ssl_config_file}: SSLConfig needs both server_key and server_cert (PEM text)",
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        with tempfile.TemporaryDirectory(prefix="pyserving-tls-") as directory:
            pem = os.path.join(directory, "server.pem")
            fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(config.server_cert.rstrip("\n") + "\n" + config.server_key)
            context.load_cert_chain(pem)
        if config.custom_ca:
            context.load_verify_locations(cadata=config.custom_ca)
            context.verify_mode = ssl.CERT_REQUIRED if config.client_verify else ssl.CERT_OPTIONAL
        elif config.client_verify:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"{ssl_config_file}: client_verify needs custom_ca (the CA that signs client "
                "certificates) for the REST port",
            )
    except (ssl.SSLError, ValueError) as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"{ssl_config_file}: cannot use the key or certificates: {exc}"
        ) from exc
    return context
