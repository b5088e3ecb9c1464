"""The ``tensorflow`` platform: SavedModels, or ``model.tflite`` with ``--prefer_tflite_model``.

Imports no TensorFlow itself: the SavedModel runtime (and TensorFlow) is imported at the first
SavedModel load, so a server serving TFLite versions through LiteRT never loads TensorFlow.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from pyserving.runtimes.base import LoadOptions, Model, Runtime
from pyserving.runtimes.tflite.options import MODEL_FILE as TFLITE_FILE
from pyserving.runtimes.tflite.options import TfliteLoadOptions

if TYPE_CHECKING:
    from pyserving.runtimes.tensorflow.runtime import TensorFlowRuntime


class TensorFlowPlatform(Runtime):
    platform = "tensorflow"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved_models: TensorFlowRuntime | None = None

    def saved_model_runtime(self) -> TensorFlowRuntime:
        with self._lock:
            if self._saved_models is None:
                from pyserving.runtimes.tensorflow.runtime import TensorFlowRuntime

                self._saved_models = TensorFlowRuntime()
            return self._saved_models

    def is_version_complete(self, path: str) -> bool:
        # A model.tflite is complete as written (TF Serving's TFLite path reads just that file).
        if os.path.isfile(os.path.join(path, TFLITE_FILE)):
            return True
        return self.saved_model_runtime().is_version_complete(path)

    def load(self, path: str, options: LoadOptions) -> Model:
        tflite = options.get("tflite", TfliteLoadOptions())
        if tflite.prefer_tflite_model and os.path.isfile(os.path.join(path, TFLITE_FILE)):
            from pyserving.runtimes.registry import get_runtime

            return get_runtime("tflite").load(path, options)
        return self.saved_model_runtime().load(path, options)
