"""TLS for the REST port from the same ``--ssl_config_file`` gRPC uses (TF Serving's text
``SSLConfig``): ``server_key`` and ``server_cert`` (PEM text) make the port HTTPS; ``custom_ca``
makes it verify client certificates signed by that CA, and ``client_verify: true`` requires one
(mutual TLS). ALPN offers HTTP/1.1, and HTTP/2 first with ``--rest_api_http2`` (see
:mod:`pyserving.api.rest.http2`). The file is read by
:mod:`pyserving.config.ssl_config`, as for gRPC.
"""

from __future__ import annotations

import ssl

from pyserving.config.ssl_config import load_server_key_pair, read_server_ssl_config
from pyserving.errors import Code, ServingError


def server_ssl_context(ssl_config_file: str, *, http2: bool = False) -> ssl.SSLContext | None:
    """The REST port's TLS context, or None for plain HTTP (no ``--ssl_config_file``);
    ``http2``: ALPN offers ``h2`` before ``http/1.1``."""
    if not ssl_config_file:
        return None
    config = read_server_ssl_config(ssl_config_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
    try:
        load_server_key_pair(context, config)
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
