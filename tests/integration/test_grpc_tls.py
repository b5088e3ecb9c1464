"""gRPC over TLS (``--ssl_config_file`` with ``client_verify``), on TCP and the unix socket, with
``--enable_serialization_as_tensor_content`` outputs. The CA and certificates are made by the
``openssl`` CLI for this test only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest
import tensorflow as tf

from pyserving.config.options import GRPC_SERVERS
from tests.integration.grpc_support import (
    CLIENT_OPTIONS,
    Pki,
    float_tensor,
    make_pki,
    predict_request,
    stubs,
    text_string,
)
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

MODEL = "half_plus_two"


@dataclass
class Served:
    server: ServerProcess
    pki: Pki
    socket_path: Path


@pytest.fixture(scope="module", params=GRPC_SERVERS)
def served(
    request: pytest.FixtureRequest, shared_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("grpc_tls")
    pki = make_pki(work)
    ssl_config = work / "ssl.config"
    ssl_config.write_text(
        f"server_key: {text_string(pki.server_key)}\n"
        f"server_cert: {text_string(pki.server_cert)}\n"
        f"custom_ca: {text_string(pki.ca)}\n"
        "client_verify: true\n"
    )
    socket_path = work / "grpc.sock"
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        f"--ssl_config_file={ssl_config}",
        f"--grpc_socket_path={socket_path}",
        f"--grpc_server={request.param}",
        "--enable_serialization_as_tensor_content",
    ]
    with running_server(args, f"/v1/models/{MODEL}") as server:  # REST stays plain HTTP
        yield Served(server, pki, socket_path)


def _channel(served: Served, target: str, *, client_cert: bool) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=served.pki.ca,
        private_key=served.pki.client_key if client_cert else None,
        certificate_chain=served.pki.client_cert if client_cert else None,
    )
    # The server certificate names localhost; a unix target has no host name to check.
    options = [*CLIENT_OPTIONS, ("grpc.ssl_target_name_override", "localhost")]
    return grpc.secure_channel(target, credentials, options)


def _targets(served: Served) -> dict[str, str]:
    return {"tcp": f"localhost:{served.server.grpc_port}", "unix": f"unix:{served.socket_path}"}


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_verified_client_is_served_with_tensor_content(served: Served, transport: str) -> None:
    with _channel(served, _targets(served)[transport], client_cert=True) as channel:
        request = predict_request(MODEL, x=float_tensor([2.0], [1, 1]))
        response = stubs(channel).predict.Predict(request, timeout=30)
    y = response.outputs["y"]
    assert y.tensor_content and not y.float_val  # --enable_serialization_as_tensor_content
    np.testing.assert_array_equal(tf.make_ndarray(y), [[3.0]])
    assert response.model_spec.version.value == 123


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_client_without_certificate_is_rejected(served: Served, transport: str) -> None:
    with _channel(served, _targets(served)[transport], client_cert=False) as channel:
        request = predict_request(MODEL, x=float_tensor([2.0], [1, 1]))
        with pytest.raises(grpc.RpcError) as caught:
            stubs(channel).predict.Predict(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_is_rejected(served: Served) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{served.server.grpc_port}") as channel:
        request = predict_request(MODEL, x=float_tensor([2.0], [1, 1]))
        with pytest.raises(grpc.RpcError) as caught:
            stubs(channel).predict.Predict(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
