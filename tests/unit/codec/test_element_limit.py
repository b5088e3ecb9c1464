"""--max_tensor_elements_per_request where it is enforced: the TensorProto fill rule, the gRPC
Predict decoder (all shapes before any tensor), and the core's check of decoded inputs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import numpy as np
import pytest

from pyserving.codec import element_limit
from pyserving.codec.tensor_proto import decode_tensor
from pyserving.codec.tfs_proto import predict_inputs
from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.protos import tensor_pb2
from pyserving.service.calls import PredictCall
from pyserving.service.types import ModelSpec
from pyserving.signature import Signature, TensorSpec

CAP = 100
FLAG = "--max_tensor_elements_per_request"


@pytest.fixture(autouse=True)
def cap() -> Iterator[None]:
    element_limit.set_max_elements(CAP)
    yield
    element_limit.set_max_elements(element_limit.DEFAULT_MAX_ELEMENTS)


def _proto(shape: list[int], values: list[float]) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=int(DataType.DT_FLOAT), float_val=values)  # type: ignore[arg-type]
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    return proto


SIGNATURES = {
    "serving_default": Signature(
        "serving_default",
        {"x": TensorSpec("x:0", DataType.DT_FLOAT), "z": TensorSpec("z:0", DataType.DT_FLOAT)},
        {"y": TensorSpec("y:0", DataType.DT_FLOAT)},
    )
}


def _refused(call: object) -> str:
    with pytest.raises(ServingError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == Code.INVALID_ARGUMENT
    assert FLAG in caught.value.message and f"limit of {CAP} elements" in caught.value.message
    return caught.value.message


def test_the_fill_rule_is_refused_beyond_the_cap_before_allocating() -> None:
    assert decode_tensor(_proto([CAP], [1.0]), "x").size == CAP
    tracemalloc.start()
    try:
        message = _refused(lambda: decode_tensor(_proto([10**9], [1.0]), "x"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    assert message.startswith("tensor parsing error: x (shape [1000000000] has 1000000000")
    _refused(lambda: decode_tensor(_proto([CAP + 1], []), "x"))  # zero fill too


def test_grpc_predict_adds_up_every_shape_before_decoding() -> None:
    halves = {"x": _proto([CAP // 2 + 1], [1.0]), "z": _proto([CAP // 2], [1.0])}
    _refused(lambda: predict_inputs(halves, "")(SIGNATURES))
    fits = {"x": _proto([CAP // 2], [1.0]), "z": _proto([CAP // 2], [1.0])}
    assert len(predict_inputs(fits, "")(SIGNATURES)) == 2


def test_the_core_checks_every_protocol_s_decoded_inputs() -> None:
    spec = ModelSpec("m")
    over = {"x": np.zeros(CAP, np.float32), "z": np.zeros(1, np.float32)}
    _refused(lambda: PredictCall(spec, over).plan(SIGNATURES))
    at_cap = {"x": np.zeros(CAP - 1, np.float32), "z": np.zeros(1, np.float32)}
    feeds, _ = PredictCall(spec, at_cap).plan(SIGNATURES)
    assert sum(a.size for a in feeds.values()) == CAP
