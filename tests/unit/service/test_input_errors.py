"""explain_input_error: names the inputs that differ from the signature, keeps the rest."""

from __future__ import annotations

import numpy as np

from pyserving.dtypes import DataType
from pyserving.errors import Code, ModelRunError, ServingError
from pyserving.service.input_errors import explain_input_error
from pyserving.signature import Signature, TensorSpec

SIGNATURE = Signature(
    key="serving_default",
    inputs={
        "x": TensorSpec("x:0", DataType.DT_FLOAT, (-1, 64)),
        "n": TensorSpec("n:0", DataType.DT_INT32, None),
        "s": TensorSpec("s:0", DataType.DT_STRING, (-1,)),
    },
    outputs={},
)
TF_TEXT = "Matrix size-incompatible: In[0]: [1,3], In[1]: [64,32]"


def test_names_input_dtype_and_shapes() -> None:
    error = ModelRunError(Code.INVALID_ARGUMENT, TF_TEXT)
    inputs: dict[str, np.ndarray] = {
        "x": np.zeros((1, 3), np.float32),
        "n": np.zeros((2,), np.int64),
        "s": np.array([b"a"], dtype=object),
    }
    explained = explain_input_error(error, SIGNATURE, inputs)
    assert explained.code is Code.INVALID_ARGUMENT
    assert explained.message == (
        "input 'n': sent int64 [2]; the signature declares int32 of any shape. "
        "input 'x': sent float32 [1,3]; the signature declares float32 [-1,64]. " + TF_TEXT
    )


def test_matching_inputs_and_other_codes_are_left_alone() -> None:
    matching = {"x": np.zeros((5, 64), np.float32)}
    error = ModelRunError(Code.INVALID_ARGUMENT, TF_TEXT)
    assert explain_input_error(error, SIGNATURE, matching) is error
    internal = ServingError(Code.INTERNAL, "boom")
    assert explain_input_error(internal, SIGNATURE, {"x": np.zeros((1, 3), np.float32)}) is internal


def test_rank_difference_counts() -> None:
    error = ModelRunError(Code.INVALID_ARGUMENT, TF_TEXT)
    explained = explain_input_error(error, SIGNATURE, {"s": np.array([[b"a"]], dtype=object)})
    assert explained.message.startswith(
        "input 's': sent string [1,1]; the signature declares string [-1]. "
    )


def test_errors_found_around_the_model_call_are_left_alone() -> None:
    """The batcher's "Task size 9 is larger than maximum input batch size 8" is exact already."""
    error = ServingError(Code.INVALID_ARGUMENT, "Task size 9 is larger than maximum input ...")
    assert explain_input_error(error, SIGNATURE, {"x": np.zeros((9,), np.float32)}) is error
