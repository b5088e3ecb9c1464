"""gRPC in-flight caps on both stacks, against a real server: a client flooding its connection
gets RESOURCE_EXHAUSTED (with grpc-retry-pushback-ms and retry-after trailers) beyond
--grpc_max_in_flight_per_connection while a well-behaved client on another connection is served;
beyond --grpc_max_in_flight every new RPC is refused until some finish; health checks never are.

The model is slow by way of the batcher: a batch of up to 64 waits HOLD_S for more requests, so
RPCs stay in flight for seconds without burning CPU on this shared machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pyserving.config.options import GRPC_SERVERS
from tests.integration.grpc_support import CLIENT_OPTIONS, float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

MODEL = "hp"
HOLD_S = 6
PER_CONNECTION = 2
TOTAL = 5
FLOOD = 8


@pytest.fixture(scope="module", params=GRPC_SERVERS)
def server(
    request: pytest.FixtureRequest, shared_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    parameters = tmp_path_factory.mktemp("grpc_limits") / "batching.txt"
    parameters.write_text(
        "max_batch_size { value: 64 }\n"
        f"batch_timeout_micros {{ value: {HOLD_S * 1_000_000} }}\n"
        "max_enqueued_batches { value: 100 }\n"
        "num_batch_threads { value: 1 }\n"
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        "--enable_batching",
        f"--batching_parameters_file={parameters}",
        "--enable_grpc_healthcheck_service",
        f"--grpc_max_in_flight={TOTAL}",
        f"--grpc_max_in_flight_per_connection={PER_CONNECTION}",
        f"--grpc_server={request.param}",
    ]
    with running_server(args, f"/v1/models/{MODEL}") as process:
        yield process


def _connection(server: ServerProcess) -> grpc.Channel:
    """A channel with a TCP connection of its own (channels to one target share by default)."""
    options = [*CLIENT_OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}", options)
    grpc.channel_ready_future(channel).result(timeout=30)
    return channel


def _predict(channel: grpc.Channel) -> Any:
    request = predict_request(MODEL, x=float_tensor([1.0], [1]))
    return stubs(channel).predict.Predict.future(request, timeout=120)


def _refused(future: Any, flag: str) -> None:
    error = future.exception(timeout=HOLD_S / 2)  # refusals come at once, not after the hold
    assert isinstance(error, grpc.RpcError), "the RPC was served"
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    assert flag in (error.details() or "")
    metadata: Any = error.trailing_metadata() or ()
    trailers = {str(item[0]): item[1] for item in metadata}
    assert trailers.get("grpc-retry-pushback-ms") == "1000"
    assert trailers.get("retry-after") == "1"


def _finished(futures: list[Any], expected: int) -> list[Any]:
    """The futures done once ``expected`` are (or HOLD_S / 2 has passed)."""
    deadline = time.monotonic() + HOLD_S / 2
    while sum(f.done() for f in futures) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # one more would be a bug: give it the time to show
    done = [f for f in futures if f.done()]
    assert len(done) == expected, f"{len(done)} of {len(futures)} RPCs finished, not {expected}"
    return done


def _served(future: Any) -> None:
    response = future.result(timeout=120)
    assert list(response.outputs["y"].float_val) == [2.5]


def test_a_flood_is_refused_while_others_are_served(server: ServerProcess) -> None:
    flooder, polite, third, late = (_connection(server) for _ in range(4))
    try:
        flood = [_predict(flooder) for _ in range(FLOOD)]
        # Exactly PER_CONNECTION of them are held by the batcher; the rest come back at once.
        failed = _finished(flood, FLOOD - PER_CONNECTION)
        for future in failed:
            _refused(future, "--grpc_max_in_flight_per_connection")
        # Another connection is served meanwhile (held with the flood's batch).
        polite_call = _predict(polite)
        more = [_predict(third) for _ in range(PER_CONNECTION)]  # the server's TOTAL now
        time.sleep(0.5)
        assert sum(f.running() for f in [*flood, polite_call, *more]) == TOTAL
        # Past the server's cap every connection is refused, health checks still answered.
        _refused(_predict(late), "--grpc_max_in_flight")
        health = health_pb2_grpc.HealthStub(late)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=30)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        for future in [*(f for f in flood if f not in failed), polite_call, *more]:
            _served(future)
        # Slots are given back: the flooder and the late client are served again.
        again = [_predict(late), _predict(flooder)]
        for future in again:
            _served(future)
    finally:
        for channel in (flooder, polite, third, late):
            channel.close()
