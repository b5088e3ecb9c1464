"""Coverage-guided fuzzing of the request decoders with atheris (libFuzzer for Python).

The same decoders and invariants as the hypothesis tests beside this file, driven by libFuzzer's
coverage feedback instead of strategies::

    python -m tests.fuzz.atheris_targets TARGET [libFuzzer flags, e.g. -runs=100000]

(``make fuzz`` runs every target with ``-runs=100000``; ``--list`` prints the targets; the corpus
of each target is kept in ``.fuzz-corpus/<target>``, seeded with valid inputs.) For every
input: the decoder answers or raises :class:`~pyserving.errors.ServingError` (the TFRecord
reader: :class:`~pyserving.tfrecord.CorruptRecordError`) — any other exception is a crash
libFuzzer reports with the input that caused it; the peak traced allocation stays under a
small multiple of the input's size (plus the documented fill-rule cap); and what decodes,
encodes back to the same values.
"""

from __future__ import annotations

import io
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Final

import atheris  # type: ignore[import-untyped]
import numpy as np

with atheris.instrument_imports(include=["pyserving"]):
    from pyserving.api.v2.binary import parse_body
    from pyserving.codec import v2_json
    from pyserving.codec.json_parse import parse_json_body
    from pyserving.codec.json_tensor import decode_predict_inputs, request_signature_name
    from pyserving.codec.tensor_proto import MAX_EXPANDED_BYTES, decode_tensor, encode_tensor
    from pyserving.codec.v2_raw import encode_raw
    from pyserving.dtypes import DataType
    from pyserving.errors import ServingError
    from pyserving.protos import tensor_pb2
    from pyserving.signature import Signature, TensorSpec
    from pyserving.tfrecord import CorruptRecordError, encode_record, read_records

from google.protobuf.message import DecodeError

_SLACK: Final = 1 << 20
CORPUS: Final = Path(__file__).resolve().parents[2] / ".fuzz-corpus"


def _bounded(limit: int, call: Callable[[], object]) -> object:
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if peak > limit:
        raise AssertionError(f"peak allocation {peak} B > limit {limit} B")
    return result


def _signature(**inputs: DataType) -> Signature:
    specs = {name: TensorSpec(f"{name}:0", dtype) for name, dtype in inputs.items()}
    outputs = {"y": TensorSpec("y:0", DataType.DT_FLOAT)}
    return Signature("serving_default", specs, outputs)


_SIGNATURES: Final = [
    _signature(x=DataType.DT_FLOAT),
    _signature(x=DataType.DT_INT64),
    _signature(x=DataType.DT_UINT8),
    _signature(x=DataType.DT_BOOL),
    _signature(x=DataType.DT_STRING),
    _signature(x=DataType.DT_HALF),
    _signature(x=DataType.DT_FLOAT, tokens=DataType.DT_STRING),
]


def rest_json(data: bytes) -> None:
    """TF Serving's REST predict body (row and columnar formats, b64 strings)."""
    if not data:
        return
    signature, body = _SIGNATURES[data[0] % len(_SIGNATURES)], data[1:]

    def decode() -> object:
        try:
            document = parse_json_body(body)
            request_signature_name(document)
            if not isinstance(document, dict):
                raise AssertionError("parse_json_body accepted a non-object")
            return decode_predict_inputs(document, signature)
        except ServingError:
            return None

    decoded = _bounded(1 << 20 | 96 * len(body), decode)
    if decoded is not None:
        tensors: dict[str, object] = decoded[1]  # type: ignore[index]
        for name, array in tensors.items():
            if name not in signature.inputs or not isinstance(array, np.ndarray):
                raise AssertionError(f"decoded an input {name!r} the signature does not have")


def v2_json_body(data: bytes) -> None:
    """The Open Inference Protocol's JSON request."""
    _bounded(1 << 20 | 96 * len(data), lambda: _suppress(lambda: parse_body(data, None)))


def v2_binary(data: bytes) -> None:
    """The binary tensor extension: the first two bytes choose the JSON header's length."""
    if len(data) < 2:
        return
    header_length = str(int.from_bytes(data[:2], "little") % (len(data) + 8)).encode()
    body = data[2:]
    request = _bounded(
        1 << 20 | 96 * len(body), lambda: _suppress(lambda: parse_body(body, header_length))
    )
    if request is None:
        return
    # Round trip: each decoded input, sent back as binary data, decodes to the same array.
    inputs, raw = [], b""
    for tensor in request.inputs:  # type: ignore[attr-defined]
        if tensor.datatype == "BYTES":
            continue
        document, _ = v2_json.output_json(tensor.name, tensor.array)
        chunk = encode_raw(tensor.array)
        del document["data"]
        document["parameters"] = {"binary_data_size": len(chunk)}
        inputs.append(document)
        raw += chunk
    if not inputs:
        return
    header = v2_json.dumps({"inputs": inputs})
    again = parse_body(header + raw, str(len(header)).encode())
    originals = [t for t in request.inputs if t.datatype != "BYTES"]  # type: ignore[attr-defined]
    for before, after in zip(originals, again.inputs, strict=True):
        np.testing.assert_array_equal(before.array, after.array)


def tensor_proto(data: bytes) -> None:
    """The TensorProto decoder (gRPC Predict inputs, warmup records), round-tripped."""
    try:
        proto = tensor_pb2.TensorProto.FromString(data)
    except DecodeError:
        return  # gRPC's deserializer fails such a call before any handler runs
    limit = MAX_EXPANDED_BYTES + _SLACK + 64 * len(data)
    array = _bounded(limit, lambda: _suppress(lambda: decode_tensor(proto, "x")))
    if not isinstance(array, np.ndarray):
        return
    for as_content in (False, True):
        if as_content and array.dtype == object:
            continue
        encoded = tensor_pb2.TensorProto()
        encode_tensor(array, encoded, as_content=as_content)
        back = decode_tensor(tensor_pb2.TensorProto.FromString(encoded.SerializeToString()), "x")
        if back.shape != array.shape or back.dtype != array.dtype:
            raise AssertionError(f"{array.dtype}{array.shape} came back {back.dtype}{back.shape}")
        np.testing.assert_array_equal(back, array)


def tfrecord(data: bytes) -> None:
    """The TFRecord reader; whatever it reads is written back byte for byte."""

    def read() -> list[bytes] | None:
        try:
            return list(read_records(io.BytesIO(data), max_record_bytes=1 << 31))
        except CorruptRecordError:
            return None

    records = _bounded(1 << 16 | 4 * len(data), read)
    if records is not None:
        written = b"".join(encode_record(r) for r in records)  # type: ignore[attr-defined]
        if written != data:
            raise AssertionError("records read do not write back to the same file")


def _suppress(call: Callable[[], object]) -> object:
    try:
        return call()
    except ServingError:
        return None


TARGETS: Final[dict[str, Callable[[bytes], None]]] = {
    "rest_json": rest_json,
    "v2_json": v2_json_body,
    "v2_binary": v2_binary,
    "tensor_proto": tensor_proto,
    "tfrecord": tfrecord,
}


def _seeds(target: str) -> list[bytes]:
    """Valid inputs libFuzzer starts from (mutating them reaches deep paths sooner)."""
    float_row = b'{"instances": [1.0, 2.5, -3]}'
    if target == "rest_json":
        return [
            b"\x00" + float_row,
            b'\x00{"inputs": {"x": [[1, 2], [3, 4]]}, "signature_name": "serving_default"}',
            b'\x04{"instances": [{"b64": "aGVsbG8="}, "text"]}',
            b'\x06{"instances": [{"x": 1.0, "tokens": ["a", "b"]}]}',
        ]
    v2 = b'{"id": "1", "inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}'
    if target == "v2_json":
        return [
            v2,
            b'{"inputs": [{"name": "s", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}',
        ]
    if target == "v2_binary":
        header = (
            b'{"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", '
            b'"parameters": {"binary_data_size": 8}}]}'
        )
        return [len(header).to_bytes(2, "little") + header + bytes(range(8))]
    if target == "tensor_proto":
        protos = [
            np.array([[1.5, 2.0]], dtype=np.float32),
            np.array([b"a", b"bc"], dtype=object),
            np.arange(6, dtype=np.int64).reshape(2, 3),
        ]
        seeds = []
        for array in protos:
            proto = tensor_pb2.TensorProto()
            encode_tensor(array, proto, as_content=False)
            seeds.append(proto.SerializeToString())
        return seeds
    return [encode_record(b"first") + encode_record(b"")]


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        if len(sys.argv) >= 2 and sys.argv[1] == "--list":
            print(" ".join(TARGETS))
            return
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(TARGETS)}}} [libFuzzer flags]")
    name = sys.argv[1]
    # The corpus grows across runs (libFuzzer adds the inputs that found new coverage).
    corpus = CORPUS / name
    corpus.mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(_seeds(name)):
        (corpus / f"seed{index}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *sys.argv[2:], str(corpus)], TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
