"""TF Serving's text ``SSLConfig`` (``--ssl_config_file``, ``--rest_api_ssl_config_file``), read
once for every port that serves TLS: the gRPC stacks and the REST server."""

from __future__ import annotations

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


def read_server_ssl_config(path: str) -> ssl_config_pb2.SSLConfig:
    """The file's SSLConfig, which must hold a server key and certificate."""
    config = read_ssl_config(path)
    if not config.server_key or not config.server_cert:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"{path}: SSLConfig needs both server_key and server_cert (PEM text)",
        )
    return config


def load_server_key_pair(context: ssl.SSLContext, config: ssl_config_pb2.SSLConfig) -> None:
    """Load ``config``'s PEM key pair into ``context``. The ssl module reads key pairs from files
    only: they go through a private folder (key file mode 0600), removed at once. Raises
    ``ssl.SSLError`` / ``ValueError`` for a key or certificate it cannot use."""
    with tempfile.TemporaryDirectory(prefix="pyserving-tls-") as folder:
        cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert.write_text(config.server_cert, encoding="utf-8")
        key.touch(mode=0o600)
        key.write_text(config.server_key, encoding="utf-8")
        context.load_cert_chain(cert, key)
