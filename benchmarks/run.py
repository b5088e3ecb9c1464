"""``make bench``: every system on the same models under the same load, one table.

Runs with the main venv's Python (pyserving, the ceiling app and the gRPC client live there);
FastAPI+TF and MLServer run from ``.bench-venv``. Everything listens on loopback only. Writes
``.bench/results.json``, the tables in ``docs/benchmarks.md`` and ``docs/img/benchmarks.png``.
Environment: ``BENCH_SECONDS`` (per point, default 5), ``BENCH_CONCURRENCY`` (default
``1,8,32,128``), ``BENCH_MODELS`` (default ``half_plus_two,mlp,cnn``; ``wide_mlp`` on request),
``BENCH_SYSTEMS`` (default all; e.g. ``pyserving`` for pyserving's own rows only).

It also times start-up (``startup.py``): the demo digits classifier served by ``pyserving serve``
as ONNX from ``.onnx-venv`` (no TensorFlow installed) and as a SavedModel from the main venv.

pyserving's gRPC front end is measured on both stacks (``--grpc_server=grpcio`` and ``zttp``),
each with the Python grpc.aio client and with h2load (a C client: the server's cost alone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import report
import systems

from pyserving.protos import grpc_predict_v2_pb2, predict_pb2, types_pb2

ROOT = systems.ROOT
WORK = ROOT / ".bench"
SHARED = ROOT.parent / "shared" / "testdata" / "tfserving"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARMUP_S = 1.0
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,8,32,128").split(",")]
MODELS = os.environ.get("BENCH_MODELS", "half_plus_two,mlp,cnn,half_plus_two_onnx,mlp_onnx").split(
    ","
)
# ONNX twins of half_plus_two and mlp (make_onnx.py, same function): pyserving only, REST and
# gRPC, against its own SavedModel rows.
ONNX_SUFFIX = "_onnx"
# MLPs 784-H-H-10: "mlp" is the reference workload and, once batched (~10 us a row here), cheaper to
# run than a request is to receive; "wide_mlp" streams 280 MB of weights per call, so its limit
# needs bigger batches than 128 clients can form. "cnn" (make_cnn.py) is the compute-bound one.
HIDDEN = {"mlp": 1024, "wide_mlp": 8192}
ONLY = set(filter(None, os.environ.get("BENCH_SYSTEMS", "").split(",")))

Starter = Callable[[systems.Model, Path], AbstractContextManager[systems.Running]]
REST_SYSTEMS: list[tuple[str, Starter]] = [
    ("pyserving", systems.pyserving),
    ("FastAPI+TF", systems.fastapi),
    ("MLServer", systems.mlserver),
    ("ASGI ceiling", systems.ceiling),
]


def write_requests(name: str, base: Path, version: str, x: np.ndarray) -> systems.Model:
    folder = WORK / "requests"
    folder.mkdir(parents=True, exist_ok=True)
    values = [round(float(v), 4) for v in x.ravel()]
    instances = (
        values
        if x.shape[1] == 1
        else [values[i : i + x.shape[1]] for i in range(0, len(values), x.shape[1])]
    )
    tfs = folder / f"{name}.json"
    tfs.write_text(json.dumps({"instances": instances}))
    v2 = folder / f"{name}.v2.json"
    tensor = {"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": values}
    v2.write_text(json.dumps({"inputs": [tensor]}))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    proto = request.inputs["x"]
    proto.dtype = types_pb2.DT_FLOAT
    for size in x.shape:
        proto.tensor_shape.dim.add().size = size
    proto.tensor_content = np.asarray(values, np.float32).tobytes()
    grpc_file = folder / f"{name}.pb"
    grpc_file.write_bytes(request.SerializeToString())
    raw = np.asarray(values, np.float32).tobytes()
    binary_tensor = {**tensor, "parameters": {"binary_data_size": len(raw)}}
    del binary_tensor["data"]
    # As Triton's clients send it: outputs in binary too.
    binary_request = {"inputs": [binary_tensor], "parameters": {"binary_data_output": True}}
    header = json.dumps(binary_request).encode()
    v2_binary = folder / f"{name}.v2.bin"
    v2_binary.write_bytes(header + raw)
    infer = grpc_predict_v2_pb2.ModelInferRequest(model_name=name)
    infer.inputs.add(name="x", datatype="FP32", shape=x.shape)
    infer.raw_input_contents.append(raw)
    v2_grpc = folder / f"{name}.v2.pb"
    v2_grpc.write_bytes(infer.SerializeToString())
    return systems.Model(
        name, base, base / version, tfs, v2, grpc_file, x.shape[0], v2_binary, len(header), v2_grpc
    )


def prepare(name: str) -> systems.Model:
    models = WORK / "models"
    models.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    if name.endswith(ONNX_SUFFIX):
        base = models / name
        twin = name.removesuffix(ONNX_SUFFIX)
        if not (base / "1" / "model.onnx").exists():
            build = [str(systems.HERE / "make_onnx.py"), twin, str(base)]
            subprocess.run(
                [sys.executable, *build, *([str(HIDDEN[twin])] if twin in HIDDEN else [])],
                check=True,
            )
        if twin == "half_plus_two":
            model = write_requests(name, base, "1", np.array([[1.0], [2.0], [5.0]], np.float32))
            # The SavedModel takes [3] as well as [3, 1]; the ONNX graph declares [batch, 1].
            model.tfs_body.write_text(json.dumps({"instances": [[1.0], [2.0], [5.0]]}))
            return model
        # The same request as the SavedModel twin's (the same generator draw).
        return write_requests(name, base, "1", rng.standard_normal((1, 784)).astype(np.float32))
    if name == "half_plus_two":
        base = models / name
        if not base.exists():
            base.symlink_to(SHARED / "saved_model_half_plus_two_cpu")
        return write_requests(name, base, "00000123", np.array([[1.0], [2.0], [5.0]], np.float32))
    base = models / name
    if not (base / "1" / "saved_model.pb").exists():
        if name == "cnn":
            build = [str(systems.HERE / "make_cnn.py"), str(base)]
        else:
            build = [str(systems.HERE / "make_mlp.py"), str(base), str(HIDDEN[name])]
        subprocess.run([sys.executable, *build], check=True)
    return write_requests(name, base, "1", rng.standard_normal((1, 784)).astype(np.float32))


def in_process(model: systems.Model) -> dict[str, float]:
    width = 1 if model.name == "half_plus_two" else 784  # the other models' input width
    args = [
        sys.executable,
        str(systems.HERE / "inprocess.py"),
        str(model.version_dir),
        str(width),
        "3",
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


V2_INFER = "/inference.GRPCInferenceService/ModelInfer"


def measure(
    run: systems.Running,
    rest_script: Path,
    grpc: bool,
    method: str = "",
    client: str = "python",
) -> dict[str, dict[str, float]]:
    points: dict[str, dict[str, float]] = {}
    for concurrency in CONCURRENCY:
        if grpc:
            assert run.grpc_target is not None
            if client == "h2load":
                point = load.h2load(run.grpc_target, run.body, concurrency, SECONDS, WARMUP_S)
            else:
                point = load.grpc(
                    run.grpc_target,
                    run.body,
                    concurrency,
                    SECONDS,
                    WARMUP_S,
                    method or load.PREDICT,
                )
        else:
            load.wrk(run.url, rest_script, concurrency, WARMUP_S)
            point = load.wrk(run.url, rest_script, concurrency, SECONDS)
        points[str(concurrency)] = asdict(point)
        print(
            f"    c={concurrency:<4} {point.rps:10.0f} req/s  p50 {point.p50_ms:8.3f} ms  "
            f"p99 {point.p99_ms:8.3f} ms  errors {point.errors}",
            flush=True,
        )
    return points


def measure_v2(model: systems.Model, run: systems.Running) -> dict[str, object]:
    """pyserving's Open Inference Protocol rows: REST JSON, REST binary extension, gRPC."""
    url = run.url.rpartition("/v1/")[0] + f"/v2/models/{model.name}/infer"
    v2_run = systems.Running(url, model.v2_body, run.process, run.grpc_target)
    binary_headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(model.v2_header_length),
    }
    rows: dict[str, object] = {}
    print("  pyserving V2 (REST JSON)", flush=True)
    rows["pyserving V2 REST"] = measure(v2_run, load.lua_script(model.v2_body), grpc=False)
    print("  pyserving V2 (REST binary)", flush=True)
    script = load.lua_script(model.v2_binary, binary_headers)
    rows["pyserving V2 binary REST"] = measure(v2_run, script, grpc=False)
    print("  pyserving V2 (gRPC)", flush=True)
    grpc_run = systems.Running(url, model.v2_grpc_request, run.process, run.grpc_target)
    rows["pyserving V2 gRPC"] = measure(grpc_run, script, grpc=True, method=V2_INFER)
    return rows


def measure_grpc(
    entry: dict[str, object],
    label: str,
    model: systems.Model,
    run: systems.Running,
    script: Path,
) -> None:
    """``label`` with the Python client, and ``label h2load`` with the C client."""
    grpc_run = systems.Running(run.url, model.grpc_request, run.process, run.grpc_target)
    for client, suffix in (("python", ""), ("h2load", " h2load")):
        print(f"  {label}{suffix}", flush=True)
        entry[label + suffix] = measure(grpc_run, script, grpc=True, client=client)


def startup() -> dict[str, object]:
    """Ready time and resident memory of ``pyserving serve`` on the demo digits model: ONNX in the
    venv without TensorFlow, SavedModel in the main venv (``make bench`` builds both)."""
    demo = ROOT / "demo" / "models"
    runs = (
        ("onnx_only", ROOT / ".onnx-venv" / "bin", demo / "digits_onnx"),
        ("tensorflow", systems.ROOT / ".venv" / "bin", demo / "digits"),
    )
    measured: dict[str, object] = {}
    for label, bin_dir, base in runs:
        script = str(systems.HERE / "startup.py")
        out = subprocess.run(
            [str(bin_dir / "python"), script, str(bin_dir), str(base), "5"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        measured[label] = json.loads(out.strip().splitlines()[-1])
        print(f"  start-up {label}: {measured[label]}", flush=True)
    return measured


def main() -> None:
    started = time.monotonic()
    WORK.mkdir(exist_ok=True)
    results: dict[str, object] = {"seconds_per_point": SECONDS, "concurrency": CONCURRENCY}
    # Anything else running on the machine shifts every number: keep the evidence with them.
    load_before = os.getloadavg()[0]
    for name in MODELS:
        model = prepare(name)
        entry: dict[str, object] = {"rows_per_request": model.rows_per_request}
        onnx_model = name.endswith(ONNX_SUFFIX)
        if not onnx_model:  # inprocess.py times the TensorFlow runtime
            entry["in_process"] = in_process(model)
            print(f"{name}: in process {entry['in_process']}", flush=True)
        for system, start in REST_SYSTEMS[:1] if onnx_model else REST_SYSTEMS:
            if ONLY and system not in ONLY:
                continue
            print(f"  {system} (REST)", flush=True)
            with start(model, WORK) as run:
                script = load.lua_script(run.body)
                entry[f"{system} REST"] = measure(run, script, grpc=False)
                if system == "pyserving":
                    measure_grpc(entry, "pyserving gRPC", model, run, script)
                    entry.update(measure_v2(model, run))
            if system == "pyserving":
                with systems.pyserving(model, WORK, grpc_server="zttp") as run:
                    measure_grpc(entry, "pyserving zttp gRPC", model, run, script)
        if not onnx_model and (not ONLY or "gRPC ceiling" in ONLY):
            print("  gRPC ceiling", flush=True)
            with systems.grpc_ceiling(model, WORK) as run:
                entry["gRPC ceiling gRPC"] = measure(run, run.body, grpc=True)
        results[name] = entry
    if not ONLY or "pyserving" in ONLY:
        results["startup"] = startup()
    results["total_seconds"] = round(time.monotonic() - started)
    results["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    report.write(results, ROOT / "docs" / "benchmarks.md")
    plot = [str(systems.BENCH_BIN / "python"), str(systems.HERE / "plot.py")]
    subprocess.run(
        [*plot, str(WORK / "results.json"), str(ROOT / "docs" / "img" / "benchmarks.png")],
        check=True,
    )
    print(report.summary(results))


if __name__ == "__main__":
    main()
