"""--enable_signature_method_name_check on neutral signatures: the kinds of call a signature
declares (``Signature.calls``) decide, and the messages name TF Serving's method names."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.service.examples import classify_fetches, regress_fetch
from pyserving.service.method_names import method_name
from pyserving.service.predict import plan_predict
from pyserving.signature import PREDICT_ONLY, CallKind, Signature, TensorSpec

_EXAMPLES = {"inputs": TensorSpec("examples:0", DataType.DT_STRING, (-1,))}
_SCORES = {"scores": TensorSpec("scores:0", DataType.DT_FLOAT, (-1, 1))}
_OUTPUTS = {"outputs": TensorSpec("outputs:0", DataType.DT_FLOAT, (-1, 1))}


def _signature(calls: frozenset[CallKind], outputs: dict[str, TensorSpec]) -> Signature:
    return Signature("s", _EXAMPLES, outputs, calls=calls)


def _error(call: Callable[[], object]) -> ServingError:
    with pytest.raises(ServingError) as caught:
        call()
    return caught.value


def test_method_names_follow_the_declared_calls() -> None:
    assert method_name(_signature(PREDICT_ONLY, _SCORES)) == "tensorflow/serving/predict"
    classify = frozenset({CallKind.PREDICT, CallKind.CLASSIFY})
    assert method_name(_signature(classify, _SCORES)) == "tensorflow/serving/classify"
    regress = frozenset({CallKind.PREDICT, CallKind.REGRESS})
    assert method_name(_signature(regress, _OUTPUTS)) == "tensorflow/serving/regress"
    assert method_name(_signature(frozenset(), _SCORES)) == ""


def test_a_predict_only_signature_refuses_classify_and_regress_when_checked() -> None:
    signature = _signature(PREDICT_ONLY, _SCORES)
    assert classify_fetches(signature, check_method_name=False) == ("examples:0", ["scores"])
    error = _error(lambda: classify_fetches(signature, check_method_name=True))
    assert error.code is Code.INVALID_ARGUMENT
    assert error.message == (
        "Expected classification signature method_name to be tensorflow/serving/classify. "
        "Was: tensorflow/serving/predict"
    )
    regress = _signature(PREDICT_ONLY, _OUTPUTS)
    error = _error(lambda: regress_fetch(regress, check_method_name=True))
    assert error.message.endswith("Was: tensorflow/serving/predict")


def test_classify_signatures_also_serve_predict_and_undeclared_ones_nothing() -> None:
    classify = _signature(frozenset({CallKind.PREDICT, CallKind.CLASSIFY}), _SCORES)
    assert classify_fetches(classify, check_method_name=True)[0] == "examples:0"
    inputs = {"inputs": np.array([b"x"], dtype=object)}
    assert plan_predict(classify, inputs, (), check_method_name=True).fetch_names == ["scores:0"]
    error = _error(lambda: regress_fetch(classify, check_method_name=True))
    assert error.message.endswith("Was: tensorflow/serving/classify")
    undeclared = _signature(frozenset(), _SCORES)
    error = _error(lambda: plan_predict(undeclared, inputs, (), check_method_name=True))
    assert error.code is Code.INTERNAL
    assert error.message.endswith("Was: ")
    assert plan_predict(undeclared, inputs, ()).fetch_names == ["scores:0"]  # unchecked: served
