"""A minimal custom TensorFlow runtime for MLServer (it ships none): one model call per request.

``model-settings.json`` points ``parameters.uri`` at a SavedModel version directory. Requests use
the V2 inference protocol (``POST /v2/models/<name>/infer``).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class TensorFlowRuntime(MLModel):  # type: ignore[misc]
    async def load(self) -> bool:
        uri = self.settings.parameters.uri
        self._signature: Any = tf.saved_model.load(uri).signatures["serving_default"]
        self._input = next(iter(self._signature.structured_input_signature[1]))
        self._output = next(iter(self._signature.structured_outputs))
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).astype("float32")
        y = self._signature(**{self._input: tf.constant(x)})[self._output].numpy()
        return InferenceResponse(
            model_name=self.name, outputs=[NumpyCodec.encode_output(self._output, y)]
        )
