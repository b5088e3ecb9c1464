"""A TensorFlow-free half_plus_two behind the real ServingService, for the gRPC adapter tests.

``FakeServables`` stands in for the lifecycle's ServerCore (acquire, model_status, reload); the
model computes ``y = 0.5 * x + 2`` like TF Serving's half_plus_two test model, and has signatures
that sleep (deadlines) or raise (unexpected errors).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pyserving.config.models import models_from_config
from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.config import ModelConfig
from pyserving.lifecycle.state import ServableState, VersionStatus
from pyserving.protos import example_pb2, meta_graph_pb2, model_server_config_pb2
from pyserving.runtimes.base import Model
from pyserving.service.method_names import CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD
from pyserving.signature import (
    PREDICT_ONLY,
    CallKind,
    NativeSignatures,
    Signature,
    TensorSpec,
)

MODEL = "half_plus_two"
VERSION = 123
SLEEP_SECONDS = 2.0


def _signature(
    key: str, method: str, inputs: dict[str, TensorSpec], outputs: dict[str, TensorSpec]
) -> tuple[Signature, bytes]:
    """The neutral signature and its SignatureDef, as the TensorFlow runtime gives both."""
    proto = meta_graph_pb2.SignatureDef(method_name=method)
    for alias, spec in inputs.items():
        proto.inputs[alias].name = spec.name
        proto.inputs[alias].dtype = int(spec.dtype)  # type: ignore[assignment]
    for alias, spec in outputs.items():
        proto.outputs[alias].name = spec.name
        proto.outputs[alias].dtype = int(spec.dtype)  # type: ignore[assignment]
    calls = _CALLS[method]
    return Signature(key, inputs, outputs, calls=calls), proto.SerializeToString()


_CALLS = {
    PREDICT_METHOD: PREDICT_ONLY,
    CLASSIFY_METHOD: frozenset({CallKind.PREDICT, CallKind.CLASSIFY}),
    REGRESS_METHOD: frozenset({CallKind.PREDICT, CallKind.REGRESS}),
}


_X = TensorSpec("x:0", DataType.DT_FLOAT, (-1, 1))
_Y = TensorSpec("y:0", DataType.DT_FLOAT, (-1, 1))
_EXAMPLES = TensorSpec("tf_example:0", DataType.DT_STRING, (-1,))
_Y_FROM_EXAMPLES = TensorSpec("y_examples:0", DataType.DT_FLOAT, (-1, 1))

_SIGNATURES_AND_DEFS = {
    "serving_default": _signature("serving_default", PREDICT_METHOD, {"x": _X}, {"y": _Y}),
    "two_outputs": _signature(
        "two_outputs",
        PREDICT_METHOD,
        {"x": _X},
        {"y": _Y, "y_again": TensorSpec("y_again:0", DataType.DT_FLOAT)},
    ),
    "classify_x_to_y": _signature(
        "classify_x_to_y", CLASSIFY_METHOD, {"inputs": _EXAMPLES}, {"scores": _Y_FROM_EXAMPLES}
    ),
    "regress_x_to_y": _signature(
        "regress_x_to_y", REGRESS_METHOD, {"inputs": _EXAMPLES}, {"outputs": _Y_FROM_EXAMPLES}
    ),
    "slow": _signature(
        "slow", PREDICT_METHOD, {"x": _X}, {"y": TensorSpec("slow:0", DataType.DT_FLOAT)}
    ),
    "boom": _signature(
        "boom", PREDICT_METHOD, {"x": _X}, {"y": TensorSpec("boom:0", DataType.DT_FLOAT)}
    ),
}
SIGNATURES = {key: pair[0] for key, pair in _SIGNATURES_AND_DEFS.items()}
NATIVE_SIGNATURES = NativeSignatures(
    "tensorflow.SignatureDef", {key: pair[1] for key, pair in _SIGNATURES_AND_DEFS.items()}
)


def _x_of_examples(serialized: np.ndarray) -> np.ndarray:
    values = []
    for record in serialized.tolist():
        example = example_pb2.Example()
        example.ParseFromString(record)
        values.append(example.features.feature["x"].float_list.value[0])
    return np.array(values, dtype=np.float32).reshape(-1, 1)


class HalfPlusTwo(Model):
    signatures: Mapping[str, Signature] = SIGNATURES
    native_signatures = NATIVE_SIGNATURES

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        if "tf_example:0" in feeds:
            x = _x_of_examples(feeds["tf_example:0"])
        else:
            x = np.asarray(feeds["x:0"], dtype=np.float32)
        outputs: list[np.ndarray] = []
        for name in fetches:
            if name == "slow:0":
                time.sleep(SLEEP_SECONDS)
            if name == "boom:0":
                raise RuntimeError("the fake model exploded")
            outputs.append(x * np.float32(0.5) + np.float32(2.0))
        return outputs

    def unload(self) -> None:
        pass


@dataclass
class Lease:
    model: HalfPlusTwo
    version: int
    released: list[int]
    name: str = "m"

    def release(self) -> None:
        self.released.append(self.version)


@dataclass
class FakeServables:
    """ServerCore's request and reload surface; ``fail_reload`` makes added models fail."""

    model: HalfPlusTwo = field(default_factory=HalfPlusTwo)
    released: list[int] = field(default_factory=list)
    reloaded: list[list[ModelConfig]] = field(default_factory=list)
    fail_reload: bool = False
    on_reload: Callable[[], None] | None = None

    def acquire(self, name: str, version: int | None = None, label: str | None = None) -> Lease:
        if not name:
            raise ServingError(Code.INVALID_ARGUMENT, "ModelSpec has no name specified.")
        if label is not None:
            if label != "stable":
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"Unrecognized servable version label: {label}"
                )
            version = VERSION
        if name != MODEL or version not in (None, VERSION):
            what = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            raise ServingError(Code.NOT_FOUND, f"Servable not found for request: {what}")
        return Lease(self.model, VERSION, self.released)

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        statuses = {
            MODEL: [VersionStatus(VERSION, ServableState.AVAILABLE)],
            "broken": [
                VersionStatus(2, ServableState.END, Code.NOT_FOUND, "no SavedModel bundle in 2")
            ],
        }.get(name)
        if statuses is None:
            raise ServingError(Code.NOT_FOUND, f"Could not find any versions of model {name}")
        if version is not None:
            statuses = [s for s in statuses if s.version == version]
            if not statuses:
                raise ServingError(
                    Code.NOT_FOUND, f"Could not find version {version} of model {name}"
                )
        return statuses

    def reload(
        self, config: model_server_config_pb2.ModelServerConfig, *, timeout: float | None = None
    ) -> None:
        """The ConfigController's reload: records the models; ``on_reload`` runs meanwhile."""
        self.reloaded.append(models_from_config(config))
        if self.on_reload is not None:
            self.on_reload()
        if self.fail_reload:
            raise ServingError(
                Code.UNKNOWN,
                "1 model(s) did not become available: {{{name: broken version: 2} due to error: "
                "NOT_FOUND: no SavedModel bundle in 2}, }",
            )
