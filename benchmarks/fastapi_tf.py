"""What users write instead of a model server: FastAPI + TensorFlow, one model call per request.

Run in the bench venv: ``MODEL_DIR=<version dir> uvicorn fastapi_tf:app --port N``. Serves
``POST /v1/models/<name>:predict`` with TF Serving's row format (``{"instances": [...]}``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import tensorflow as tf
from fastapi import FastAPI
from pydantic import BaseModel

_signature = tf.saved_model.load(os.environ["MODEL_DIR"]).signatures["serving_default"]
_INPUT, _SPEC = next(iter(_signature.structured_input_signature[1].items()))
_OUTPUT = next(iter(_signature.structured_outputs))

app = FastAPI()


class PredictRequest(BaseModel):
    instances: list[Any]


@app.post("/v1/models/{name}:predict")
def predict(name: str, request: PredictRequest) -> dict[str, Any]:
    x = np.asarray(request.instances, dtype=np.float32)
    if x.ndim < len(_SPEC.shape):
        x = x.reshape(-1, *(_SPEC.shape[1:]))
    y = _signature(**{_INPUT: tf.constant(x)})[_OUTPUT].numpy()
    return {"predictions": y.tolist()}
