"""Helpers for the gRPC end-to-end tests: request builders for the real ``tensorflow_serving.apis``
client, a deliberately slow TF1 SavedModel, and a throwaway PKI made with the ``openssl`` CLI."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

# Clients must raise gRPC's 4 MB default receive limit to read big answers, as with TF Serving.
CLIENT_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
SLOW_ITERATIONS = 2_000_000  # about 3 s of while_loop on one core


@dataclass
class Stubs:
    predict: prediction_service_pb2_grpc.PredictionServiceStub
    models: model_service_pb2_grpc.ModelServiceStub


def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs(
        prediction_service_pb2_grpc.PredictionServiceStub(channel),
        model_service_pb2_grpc.ModelServiceStub(channel),
    )


def float_tensor(values: list[float], shape: list[int]) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=values)
    for size in shape:
        proto.tensor_shape.dim.add().size = size
    return proto


def predict_request(
    model: str, signature: str = "", **inputs: tensor_pb2.TensorProto
) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    for alias, proto in inputs.items():
        request.inputs[alias].CopyFrom(proto)
    return request


def _examples(*xs: float) -> list[example_pb2.Example]:
    result = []
    for x in xs:
        example = example_pb2.Example()
        example.features.feature["x"].float_list.value.append(x)
        result.append(example)
    return result


def classify_request(model: str, signature: str, *xs: float):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    request.input.example_list.examples.extend(_examples(*xs))
    return request


def regress_request(model: str, signature: str, *xs: float):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    request.input.example_list.examples.extend(_examples(*xs))
    return request


def multi_request(model: str, tasks: list[tuple[str, str]], *xs: float):
    request = inference_pb2.MultiInferenceRequest()
    for signature, method in tasks:
        task = request.tasks.add()
        task.model_spec.name = model
        task.model_spec.signature_name = signature
        task.method_name = f"tensorflow/serving/{method}"
    request.input.example_list.examples.extend(_examples(*xs))
    return request


def metadata_request(model: str, *fields: str):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=list(fields))
    request.model_spec.name = model
    return request


def status_request(model: str, version: int | None = None):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    return request


def failure(call, request, **kwargs) -> tuple[grpc.StatusCode, str]:
    """The status code and message of a call that must fail."""
    with pytest.raises(grpc.RpcError) as caught:
        call(request, **kwargs)
    return caught.value.code(), caught.value.details() or ""


def build_slow_model(version_dir: Path) -> None:
    """A TF1 SavedModel whose ``serving_default`` (x -> y = 0.5x + 2) first spins a while_loop
    for a few seconds: a model slower than a client deadline, built without sleep ops (a
    py_function would not survive saving)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf1.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, shape=[None, 1], name="x")
        spins = tf1.while_loop(lambda i: i < SLOW_ITERATIONS, lambda i: i + 1, [tf.constant(0)])
        y = tf.identity(x * 0.5 + 2.0 + tf.cast(spins - spins, tf.float32), name="y")
        with tf1.Session(graph=graph) as session:
            builder = tf1.saved_model.Builder(str(version_dir))
            signature = tf1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(
                session, ["serve"], signature_def_map={"serving_default": signature}
            )
            builder.save()


@dataclass
class Pki:
    ca: bytes
    server_key: bytes
    server_cert: bytes
    client_key: bytes
    client_cert: bytes


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate (EC keys)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=pyserving test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
        (directory / f"{name}.ext").write_text(
            f"subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage={usage}\n"
        )
        _openssl(
            "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
            cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
            cwd=directory,
        )  # fmt: skip
    files = ("ca.pem", "server.key", "server.pem", "client.key", "client.pem")
    return Pki(*((directory / name).read_bytes() for name in files))


def text_string(pem: bytes) -> str:
    """A protobuf text-format string literal."""
    escaped = pem.decode().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
