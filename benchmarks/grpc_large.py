"""Large gRPC messages on both server stacks, side by side with a real grpcio client.

Usage: python grpc_large.py [SIZE_MIB [CALLS [ROUNDS]]]   (defaults: 16, 20, 3)

For each round and stack (grpcio, zttp) a server process starts with two methods: ``Predict``
takes a PredictRequest (SIZE_MIB of tensor_content, deserialized as the PredictionService does)
and answers a few bytes; ``Echo`` sends SIZE_MIB of bytes back. The client (grpcio's blocking
stub, in this process) times CALLS calls of each after a warm-up, and reads the server process's
CPU time from /proc around them. Prints one line per stack, round and method: p50 and best
latency, and server CPU per call. On a shared machine the latencies are noisy: compare the stacks
within a round, and CPU per call across rounds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc

HERE = Path(__file__).resolve().parent
SERVICE = "bench.Large"
_UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def serve(stack: str) -> None:
    """Run a server on a free loopback port; prints the port, then serves until killed."""
    import uvloop

    from pyserving.api.grpc import transport
    from pyserving.protos import predict_pb2

    async def predict(request: predict_pb2.PredictRequest, context: Any) -> bytes:
        return str(len(request.inputs["x"].tensor_content)).encode()

    async def echo(request: bytes, context: Any) -> bytes:
        return request

    async def main() -> None:
        server = transport.create(stack, "", "", 0)
        handlers = {
            "Predict": grpc.unary_unary_rpc_method_handler(
                predict, request_deserializer=predict_pb2.PredictRequest.FromString
            ),
            "Echo": grpc.unary_unary_rpc_method_handler(echo),
        }
        target = transport.registration_target(server)
        target.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        port = await server.listen_tcp("127.0.0.1", 0)
        await server.start()
        print(port, flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(stack: str, size: int, calls: int) -> dict[str, tuple[float, float, float]]:
    """{method: (p50 ms, best ms, server CPU ms per call)} for one server process."""
    from pyserving.protos import predict_pb2

    args = [sys.executable, str(Path(__file__).resolve()), "serve", stack]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        payload = os.urandom(1024) * (size // 1024)
        request = predict_pb2.PredictRequest()
        request.inputs["x"].tensor_content = payload
        bodies = {"Predict": request.SerializeToString(), "Echo": payload}
        results = {}
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=_UNLIMITED) as channel:
            for method, body in bodies.items():
                call = channel.unary_unary(f"/{SERVICE}/{method}")
                for _ in range(3):
                    call(body, timeout=60)
                times = []
                cpu = _cpu_seconds(process.pid)
                for _ in range(calls):
                    began = time.perf_counter()
                    call(body, timeout=60)
                    times.append(time.perf_counter() - began)
                cpu = _cpu_seconds(process.pid) - cpu
                times.sort()
                results[method] = (times[calls // 2] * 1e3, times[0] * 1e3, cpu / calls * 1e3)
        return results
    finally:
        process.kill()
        process.wait()


def main(size_mib: int, calls: int, rounds: int) -> None:
    print(f"{size_mib} MiB, {calls} calls per point, load average {os.getloadavg()[0]:.1f}")
    for number in range(1, rounds + 1):
        for stack in ("grpcio", "zttp"):
            for method, (p50, best, cpu) in measure(stack, size_mib << 20, calls).items():
                print(
                    f"round {number} {stack:6} {method:7} p50 {p50:6.1f} ms  best {best:6.1f} ms"
                    f"  server CPU {cpu:5.1f} ms/call",
                    flush=True,
                )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    else:
        numbers = [int(arg) for arg in sys.argv[1:4]]
        main(*(numbers + [16, 20, 3][len(numbers) :]))
