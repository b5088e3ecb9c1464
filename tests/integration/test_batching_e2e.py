"""Batching in a real server with TensorFlow: concurrent requests share model calls and get the
answers an unbatched server gives, over REST and gRPC; TF Serving's batching errors reach clients.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest

from tests.integration.grpc_support import float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

PARAMETERS = (
    "max_batch_size { value: 8 }\n"
    "batch_timeout_micros { value: 2000 }\n"
    "max_enqueued_batches { value: 100 }\n"
    "num_batch_threads { value: 2 }\n"
    "allowed_batch_sizes: [4, 8]\n"
)


@pytest.fixture(scope="module")
def batching_server(
    tmp_path_factory: pytest.TempPathFactory, shared_models: Path
) -> Iterator[ServerProcess]:
    parameters = tmp_path_factory.mktemp("batching") / "batching.txt"
    parameters.write_text(PARAMETERS)
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=half_plus_two",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        "--enable_batching",
        f"--batching_parameters_file={parameters}",
    ]
    with running_server(args, "/v1/models/half_plus_two") as server:
        yield server


def predict(url: str, instances: list[float]) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/models/half_plus_two:predict", json={"instances": instances}, timeout=30
    )


def test_concurrent_requests_get_unbatched_answers(batching_server: ServerProcess) -> None:
    requests = [[float(i), float(i) + 0.5][: 1 + i % 2] for i in range(64)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda xs: predict(batching_server.base_url, xs), requests))
    for xs, response in zip(requests, responses, strict=True):
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [0.5 * x + 2 for x in xs]}


def test_regress_batches_serialized_examples(batching_server: ServerProcess) -> None:
    response = httpx.post(
        f"{batching_server.base_url}/v1/models/half_plus_two:regress",
        json={"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}, {"x": 4.0}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"results": [3.0, 4.0]}


def test_a_request_larger_than_a_batch_is_refused(batching_server: ServerProcess) -> None:
    response = predict(batching_server.base_url, [1.0] * 9)
    assert response.status_code == 400
    assert response.json() == {"error": "Task size 9 is larger than maximum input batch size 8"}


def test_grpc_predict_is_batched_too(batching_server: ServerProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{batching_server.grpc_port}") as channel:
        request = predict_request("half_plus_two", x=float_tensor([2.0, 3.0], [2, 1]))
        response = stubs(channel).predict.Predict(request, timeout=30)
    assert list(response.outputs["y"].float_val) == [3.0, 3.5]


@pytest.fixture(scope="module")
def per_model_server(
    tmp_path_factory: pytest.TempPathFactory, shared_models: Path
) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("per-model")
    batched = root / "half_plus_two"
    shutil.copytree(shared_models / "saved_model_half_plus_two_cpu", batched)
    (batched / "00000123" / "batching_params.pbtxt").write_text("max_batch_size { value: 2 }")
    config = root / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "half_plus_two" base_path: "{batched}" '
        f'model_platform: "tensorflow" }} config {{ name: "half_plus_three" base_path: '
        f'"{shared_models / "saved_model_half_plus_three"}" model_platform: "tensorflow" }} }}'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--enable_batching",
        "--enable_per_model_batching_parameters",
    ]
    with running_server(args, "/v1/models/half_plus_two") as server:
        yield server


def test_per_model_parameters_come_from_each_version(per_model_server: ServerProcess) -> None:
    url = per_model_server.base_url
    refused = httpx.post(
        f"{url}/v1/models/half_plus_two:predict", json={"instances": [1.0, 2.0, 3.0]}, timeout=30
    )
    assert refused.status_code == 400
    assert refused.json() == {"error": "Task size 3 is larger than maximum input batch size 2"}
    within = httpx.post(
        f"{url}/v1/models/half_plus_two:predict", json={"instances": [1.0, 2.0]}, timeout=30
    )
    assert within.json() == {"predictions": [2.5, 3.0]}
    unbatched = httpx.post(  # no batching_params.pbtxt: not batched, any size
        f"{url}/v1/models/half_plus_three:predict", json={"instances": [1.0, 2.0, 3.0]}, timeout=30
    )
    assert unbatched.json() == {"predictions": [3.5, 4.0, 4.5]}
