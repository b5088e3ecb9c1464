"""gRPC soak: many RPCs over a few long-lived channels, some cancelled by their deadline, against
a real ``tensorflow_model_server`` on half_plus_two. Passes when no RPC fails except the ones
whose deadline expired (connection limits of the HTTP/2 stack must never show as failures).

Usage: python benchmarks/grpc_soak.py [--stack zttp] [--calls 100000] [--concurrency 128]
       [--channels 4] [--cancel-every 100]
Exit status 0 on success, 1 when any RPC failed for another reason (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

METHOD = "/tensorflow.serving.PredictionService/Predict"
ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT.parent / "shared" / "testdata" / "tfserving" / "saved_model_half_plus_two_cpu"
BATCHING = (
    "max_batch_size { value: 1000000 }\nbatch_timeout_micros { value: 0 }\n"
    "max_enqueued_batches { value: 100000 }\nenable_large_batch_splitting { value: true }\n"
    "max_execution_batch_size { value: 256 }\n"
)


def predict_request() -> bytes:
    from pyserving.protos import predict_pb2, types_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "half_plus_two"
    tensor = request.inputs["x"]
    tensor.dtype = types_pb2.DT_FLOAT
    tensor.tensor_shape.dim.add(size=3)
    tensor.float_val.extend([1.0, 2.0, 5.0])
    return request.SerializeToString()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(stack: str, work: Path) -> collections.abc.Iterator[str]:
    port = free_port()
    params = work / "batching.txt"
    params.write_text(BATCHING)
    args = [
        str(Path(sys.executable).parent / "tensorflow_model_server"),
        f"--port={port}",
        "--rest_api_port=0",
        "--model_name=half_plus_two",
        f"--model_base_path={MODEL}",
        f"--grpc_server={stack}",
        "--enable_batching",
        f"--batching_parameters_file={params}",
        "--grpc_max_threads=4096",
    ]
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    target = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        with grpc.insecure_channel(target) as channel:
            call = channel.unary_unary(METHOD)
            while True:
                try:
                    call(predict_request(), timeout=5)
                    break
                except grpc.RpcError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((work / "server.log").read_text()[-3000:]) from None
                    time.sleep(0.5)
        yield target
    finally:
        process.terminate()
        process.wait(60)
        log.close()


async def soak(
    target: str, calls: int, concurrency: int, channels: int, cancel_every: int
) -> dict[str, int]:
    request = predict_request()
    outcomes: collections.Counter[str] = collections.Counter()
    opened = [grpc.aio.insecure_channel(target) for _ in range(channels)]
    next_call = 0

    async def worker(index: int) -> None:
        nonlocal next_call
        call = opened[index % channels].unary_unary(METHOD)
        while next_call < calls:
            number = next_call
            next_call += 1
            cancelled = number % cancel_every == 0
            try:
                # A 1 ms deadline expires while the call is queued or running on the server: the
                # client resets the stream, as an impatient client does.
                await call(request, timeout=0.001 if cancelled else 60)
                outcomes["ok"] += 1
            except grpc.aio.AioRpcError as error:
                if cancelled and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    outcomes["deadline exceeded (expected)"] += 1
                else:
                    outcomes[f"FAILED {error.code().name}: {error.details()}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    outcomes["seconds"] = int(time.perf_counter() - started)
    for channel in opened:
        await channel.close()
    return dict(outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="zttp")
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--cancel-every", type=int, default=100)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="grpc-soak-") as folder,
        server(args.stack, Path(folder)) as target,
    ):
        outcomes = asyncio.run(
            soak(target, args.calls, args.concurrency, args.channels, args.cancel_every)
        )
    for name, count in sorted(outcomes.items()):
        print(f"{name}: {count}")
    failed = sum(count for name, count in outcomes.items() if name.startswith("FAILED"))
    print(f"{args.stack}: {args.calls} RPCs at c={args.concurrency}: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
