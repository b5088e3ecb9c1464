"""TFLite versions: every signature of ``model.tflite``, run by its signature runner.

A signature's inputs and outputs are keyed by the signature's own names; their tensor names are the
TFLite tensors' names (``serving_default_x:0``), prefixed with ``<signature key>/`` when two
signatures share one. A request runs the one signature its tensors belong to; the runner resizes
inputs to the request's shapes (``resize_tensor_input``), so batches of any size work where the
model allows it. Interpreters are not thread-safe: each version keeps a pool of them (see
:mod:`.options`), and a run waits for a free one.
"""

from __future__ import annotations

import logging
import os
import queue
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyserving.dtypes import DataType, from_numpy
from pyserving.errors import Code, ServingError, failed_precondition, invalid_argument
from pyserving.runtimes.base import LoadOptions, Model, Runtime
from pyserving.runtimes.tflite.options import MODEL_FILE, TfliteLoadOptions
from pyserving.signature import Signature, TensorSpec

logger = logging.getLogger(__name__)


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError:
            raise ServingError(
                Code.FAILED_PRECONDITION,
                "Serving model.tflite needs LiteRT or TensorFlow: pip install 'pyserving[tflite]'",
            ) from None
        return tf.lite.Interpreter
    return Interpreter


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    alias: str
    output: bool


class TfliteRuntime(Runtime):
    platform = "tflite"

    def is_version_complete(self, path: str) -> bool:
        return os.path.isfile(os.path.join(path, MODEL_FILE))

    def load(self, path: str, options: LoadOptions) -> TfliteModel:
        file = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(file):
            raise ServingError(Code.NOT_FOUND, f"Could not find {MODEL_FILE} in {path}")
        settings = options.get(self.platform, TfliteLoadOptions())
        interpreter_class = _interpreter_class()
        try:
            with open(file, "rb") as f:
                content = f.read()
            with warnings.catch_warnings():
                # tf.lite's interpreter warns that it is deprecated in favour of LiteRT, which
                # is used whenever installed: the warning only repeats the [tflite] extra's advice.
                warnings.simplefilter("ignore", UserWarning)
                interpreters = [
                    interpreter_class(model_content=content) for _ in range(settings.interpreters)
                ]
        except (ValueError, RuntimeError) as exc:
            raise ServingError(
                Code.INVALID_ARGUMENT, f"Failed to load the TFLite model at {path}: {exc}"
            ) from None
        signatures, names = _signatures(path, interpreters[0])
        logger.info("Loaded TFLite model %s (%d signatures)", file, len(signatures))
        return TfliteModel(path, interpreters, signatures, names)


class TfliteModel(Model):
    def __init__(
        self,
        path: str,
        interpreters: list[Any],
        signatures: Mapping[str, Signature],
        names: Mapping[str, _Entry],
    ) -> None:
        self._path = path
        self._signatures = signatures
        self._names = names
        self._pool: queue.SimpleQueue[dict[str, Any]] | None = queue.SimpleQueue()
        for interpreter in interpreters:
            self._pool.put({key: interpreter.get_signature_runner(key) for key in signatures})

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return self._signatures

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        pool = self._pool
        if pool is None:
            raise failed_precondition(f"The model loaded from {self._path} has been unloaded")
        key, inputs, outputs = self._resolve(feeds, fetches)
        runners = pool.get()
        try:
            result = runners[key](**inputs)
        except (ValueError, RuntimeError) as exc:
            raise invalid_argument(f"TFLite signature {key} failed: {exc}") from None
        finally:
            pool.put(runners)
        return [np.asarray(result[alias]) for alias in outputs]

    def _resolve(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str]
    ) -> tuple[str, dict[str, np.ndarray], list[str]]:
        keys: set[str] = set()
        inputs: dict[str, np.ndarray] = {}
        outputs: list[str] = []
        for name, array in feeds.items():
            entry = self._names.get(name)
            if entry is None or entry.output:
                raise invalid_argument(f"Tensor {name}, specified in feeds, not in the model")
            keys.add(entry.key)
            inputs[entry.alias] = array
        for name in fetches:
            entry = self._names.get(name)
            if entry is None or not entry.output:
                raise invalid_argument(f"Tensor {name}, specified in fetches, not in the model")
            keys.add(entry.key)
            outputs.append(entry.alias)
        if len(keys) != 1:
            raise invalid_argument(
                "A TFLite run reads and writes the tensors of one signature; got tensors of "
                f"{sorted(keys) or 'none'}"
            )
        return keys.pop(), inputs, outputs

    def unload(self) -> None:
        self._pool = None


def _signatures(path: str, interpreter: Any) -> tuple[dict[str, Signature], dict[str, _Entry]]:
    listed: dict[str, Any] = interpreter.get_signature_list()
    if not listed:
        raise invalid_argument(
            f"The TFLite model at {path} has no signatures; export it with signatures "
            "(tf.lite.TFLiteConverter.from_saved_model keeps the SavedModel's)"
        )
    details = {key: interpreter.get_signature_runner(key) for key in listed}
    raw: dict[str, dict[bool, dict[str, dict[str, Any]]]] = {
        key: {False: runner.get_input_details(), True: runner.get_output_details()}
        for key, runner in details.items()
    }
    counts: dict[str, int] = {}
    for sides in raw.values():
        for side in sides.values():
            for info in side.values():
                counts[info["name"]] = counts.get(info["name"], 0) + 1
    signatures: dict[str, Signature] = {}
    names: dict[str, _Entry] = {}
    for key in sorted(raw):
        specs: dict[bool, dict[str, TensorSpec]] = {False: {}, True: {}}
        for output, side in raw[key].items():
            for alias in sorted(side):
                info = side[alias]
                name = info["name"] if counts[info["name"]] == 1 else f"{key}/{info['name']}"
                dtype = from_numpy(np.dtype(info["dtype"]))
                if dtype is DataType.DT_INVALID:
                    raise invalid_argument(
                        f"Signature {key} of the TFLite model at {path} has tensor {alias} of "
                        f"type {info['dtype']}, which pyserving cannot serve"
                    )
                shape = tuple(int(d) for d in info.get("shape_signature", info["shape"]))
                specs[output][alias] = TensorSpec(name, dtype, shape)
                names[name] = _Entry(key, alias, output)
        signatures[key] = Signature(key, specs[False], specs[True])
    return signatures, names
