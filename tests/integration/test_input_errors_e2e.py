"""A model call that fails because of an input says which input, what was sent and what the
signature declares, over REST and gRPC; what the graph accepts still runs."""

from __future__ import annotations

import grpc
import httpx

from tests.integration import models
from tests.integration.conftest import TF2, error_of
from tests.integration.grpc_support import failure, float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess

EXPLAINED = "input 'x': sent float32 [1,3]; the signature declares float32 [-1,4]. "


def test_rest_names_the_input_sent_and_declared(client: httpx.Client) -> None:
    body = {"instances": [[1.0, 2.0, 3.0]]}
    response = client.post(f"/v1/models/{models.MATMUL}:predict", json=body)
    message = error_of(response, 400)
    assert message.startswith(EXPLAINED), message
    assert "Matrix size-incompatible" in message  # TensorFlow's own text follows


def test_grpc_names_the_input_sent_and_declared(rest_server: ServerProcess) -> None:
    request = predict_request(models.MATMUL, x=float_tensor([1.0, 2.0, 3.0], [1, 3]))
    with grpc.insecure_channel(f"127.0.0.1:{rest_server.grpc_port}") as channel:
        code, message = failure(stubs(channel).predict.Predict, request, timeout=30)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith(EXPLAINED), message


def test_inputs_matching_the_signature_keep_tensorflow_s_message(client: httpx.Client) -> None:
    """Both inputs match ``[-1]``: the graph's own complaint (uneven lengths) is all there is."""
    body = {"inputs": {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]}}
    response = client.post(f"/v1/models/{models.TWO_INPUTS}:predict", json=body)
    message = error_of(response, 400)
    assert "input 'a'" not in message and "input 'b'" not in message


def test_shapes_the_graph_accepts_still_run(client: httpx.Client) -> None:
    """TF Serving's TF2 half_plus_two declares ``x`` as ``[1]`` yet serves ``[3]``."""
    response = client.post(f"/v1/models/{TF2}:predict", json={"instances": [1.0, 2.0, 5.0]})
    assert response.status_code == 200, response.text
