"""TF Serving's request and response messages <-> the core's types, for every user of them.

The gRPC adapter, the request logs (:mod:`~pyserving.codec.prediction_log`) and warmup build and
read the same messages, so the builders live here, below the adapters: ``ModelSpec`` (version
wrapper / version_label oneof), Predict inputs decoded lazily (:func:`predict_inputs`), and the
core's results as response messages, ``model_spec`` echoes included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from pyserving.codec.element_limit import check_request, max_elements
from pyserving.codec.tensor_proto import declared_elements, decode_tensor, encode_tensor
from pyserving.protos import (
    classification_pb2,
    inference_pb2,
    model_pb2,
    predict_pb2,
    regression_pb2,
    tensor_pb2,
)
from pyserving.service.types import (
    ClassifyResult,
    InputDecoder,
    ModelSpec,
    PredictResult,
    RegressResult,
    ResolvedSpec,
)
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, Signature

# -- requests ----------------------------------------------------------------------------------


def model_spec(spec: model_pb2.ModelSpec) -> ModelSpec:
    """The core's ModelSpec; an empty name is left for the core to reject with TF's message."""
    choice = spec.WhichOneof("version_choice")
    return ModelSpec(
        name=spec.name,
        version=spec.version.value if choice == "version" else None,
        label=spec.version_label if choice == "version_label" else None,
        signature_name=spec.signature_name,
    )


# An input the signature does not know is never decoded (TF checks the alias first); the core
# rejects it by name before anything runs, so this stand-in is never fed to a model.
_UNKNOWN_ALIAS = np.empty(0, dtype=np.float32)


class _RequestInputs(Mapping[str, np.ndarray]):
    """Request tensors, each decoded when the core first reads it.

    The core validates the input count before reading any tensor and checks each alias before
    using its tensor, so errors come in TF Serving's order: input count, unknown alias, then
    ``tensor parsing error``.
    """

    def __init__(self, protos: Mapping[str, tensor_pb2.TensorProto], known: Mapping[str, object]):
        self._protos = protos
        self._known = known
        self._decoded: dict[str, np.ndarray] = {}

    def __getitem__(self, alias: str) -> np.ndarray:
        tensor = self._decoded.get(alias)
        if tensor is None:
            proto = self._protos[alias]  # KeyError for an absent alias, as a Mapping must
            tensor = decode_tensor(proto, alias) if alias in self._known else _UNKNOWN_ALIAS
            self._decoded[alias] = tensor
        return tensor

    def __iter__(self) -> Iterator[str]:
        return iter(self._protos)

    def __len__(self) -> int:
        return len(self._protos)


def predict_inputs(
    inputs: Mapping[str, tensor_pb2.TensorProto], signature_name: str
) -> InputDecoder:
    """Decoder for ``ServingService.predict``, run once the servable (and signature) is known."""
    protos = dict(inputs)  # a plain dict: indexing a protobuf map would insert missing keys

    def decode(signatures: Mapping[str, Signature]) -> Mapping[str, np.ndarray]:
        # Every shape before any tensor is built: the fill rule expands small messages. One
        # tensor over the cap alone is refused by its decoder, with its name.
        counts = [declared_elements(proto) for proto in protos.values()]
        if max(counts, default=0) <= max_elements():
            check_request(counts)
        signature = signatures.get(signature_name or DEFAULT_SERVING_SIGNATURE)
        return _RequestInputs(protos, signature.inputs if signature is not None else {})

    return decode


# -- responses ---------------------------------------------------------------------------------


def _fill_spec(target: model_pb2.ModelSpec, spec: ResolvedSpec) -> None:
    target.name = spec.name
    target.version.value = spec.version
    target.signature_name = spec.signature_name


def predict_response(result: PredictResult, *, as_content: bool) -> predict_pb2.PredictResponse:
    response = predict_pb2.PredictResponse()
    for alias, tensor in result.outputs.items():
        encode_tensor(tensor, response.outputs[alias], as_content=as_content)
    _fill_spec(response.model_spec, result.spec)
    return response


def _label(label: bytes) -> str:
    # Class.label is a proto3 string: labels that are not UTF-8 cannot travel unchanged.
    return label.decode("utf-8", errors="replace")


def _fill_classifications(
    target: classification_pb2.ClassificationResult, result: ClassifyResult
) -> None:
    for row in result.classifications:
        classes = target.classifications.add().classes
        for label, score in row:
            classes.add(label=_label(label), score=score)


def _fill_regressions(target: regression_pb2.RegressionResult, result: RegressResult) -> None:
    for value in result.values:
        target.regressions.add(value=value)


def classify_response(result: ClassifyResult) -> classification_pb2.ClassificationResponse:
    response = classification_pb2.ClassificationResponse()
    _fill_classifications(response.result, result)
    _fill_spec(response.model_spec, result.spec)
    return response


def regress_response(result: RegressResult) -> regression_pb2.RegressionResponse:
    response = regression_pb2.RegressionResponse()
    _fill_regressions(response.result, result)
    _fill_spec(response.model_spec, result.spec)
    return response


def multi_inference_response(
    results: Sequence[ClassifyResult | RegressResult],
) -> inference_pb2.MultiInferenceResponse:
    response = inference_pb2.MultiInferenceResponse()
    for result in results:
        entry = response.results.add()
        _fill_spec(entry.model_spec, result.spec)
        if isinstance(result, ClassifyResult):
            _fill_classifications(entry.classification_result, result)
        else:
            _fill_regressions(entry.regression_result, result)
    return response
