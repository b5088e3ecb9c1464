"""``/console/api/models``: every configured model with its versions, states, labels, platform
and signatures, in one JSON document the console polls.

Signatures are read from the loaded versions (what a request would see) and cached per
(model, version) while that version stays AVAILABLE: a loaded version's signatures never change.
"""

from __future__ import annotations

from typing import Any

from pyserving.codec.proto_views import signature_def_map
from pyserving.errors import ServingError
from pyserving.lifecycle.state import ServableState
from pyserving.management.controller import ConfigController
from pyserving.service.core import ServingService
from pyserving.service.types import ModelSpec
from pyserving.signature import Signature, TensorSpec

# TensorFlow's own entries in the signature map (``__saved_model_init_op``): not callable.
_INTERNAL = "__"


class ModelsView:
    """Builds the models document from the served config and the core's version statuses."""

    def __init__(self, service: ServingService, controller: ConfigController) -> None:
        self._service = service
        self._controller = controller
        self._signatures: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def document(self) -> dict[str, Any]:
        config = self._controller.current()
        models = [self._model(entry) for entry in config.model_config_list.config]
        return {"models": models, "config_file": self._controller.config_file}

    def _model(self, entry: Any) -> dict[str, Any]:
        name: str = entry.name
        versions = []
        live: set[tuple[str, int]] = set()
        try:
            statuses = self._service.model_status(name)
        except ServingError:  # added to the config a moment ago: no version known yet
            statuses = []
        for status in statuses:
            row: dict[str, Any] = {
                "version": status.version,
                "state": status.state.name,
                "error_code": status.error_code.name,
                "error_message": status.error_message,
            }
            if status.state is ServableState.AVAILABLE:
                live.add((name, status.version))
                row["signatures"] = self._signatures_of(name, status.version)
            versions.append(row)
        for key in [k for k in self._signatures if k[0] == name and k not in live]:
            del self._signatures[key]
        return {
            "name": name,
            "base_path": entry.base_path,
            "platform": entry.model_platform or "tensorflow",
            "labels": dict(sorted(entry.version_labels.items())),
            "versions": versions,
        }

    def _signatures_of(self, name: str, version: int) -> list[dict[str, Any]]:
        cached = self._signatures.get((name, version))
        if cached is not None:
            return cached
        try:
            result = self._service.metadata(ModelSpec(name, version))
        except ServingError:  # unloaded between the status read and now
            return []
        # Method names as TF Serving's metadata reports them (TensorFlow's own for SavedModels).
        signature_defs = signature_def_map(result.signatures, result.native_signatures)
        signatures = [
            _signature_json(s, signature_defs.signature_def[key].method_name)
            for key, s in sorted(result.signatures.items())
            if not key.startswith(_INTERNAL)
        ]
        self._signatures[(name, version)] = signatures
        return signatures


def _signature_json(signature: Signature, method_name: str) -> dict[str, Any]:
    return {
        "key": signature.key,
        "method_name": method_name,
        "inputs": [_tensor_json(alias, t) for alias, t in sorted(signature.inputs.items())],
        "outputs": [_tensor_json(alias, t) for alias, t in sorted(signature.outputs.items())],
    }


def _tensor_json(alias: str, tensor: TensorSpec) -> dict[str, Any]:
    """``shape`` is null for an unknown rank; -1 marks an unknown dimension."""
    return {
        "alias": alias,
        "name": tensor.name,
        "dtype": tensor.dtype.name,
        "shape": None if tensor.shape is None else list(tensor.shape),
    }
