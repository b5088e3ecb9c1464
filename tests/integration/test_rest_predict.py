"""POST .../:predict, row and columnar formats, real TensorFlow (reference §2.5, §2.6)."""

from __future__ import annotations

import base64
import math

import httpx
import pytest

from tests.integration import models
from tests.integration.conftest import (
    DEFAULT,
    HALF_PLUS_THREE,
    TF2,
    TWO_VERSIONS,
    compact,
    ok_json,
    post,
    predict,
)

pytestmark = pytest.mark.slow


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- saved_model_half_plus_two_cpu (y = 0.5x + 2; its [-1,1] signature shape is not checked) ---


def test_row_predict(client: httpx.Client) -> None:
    response = predict(client, DEFAULT, {"instances": [1.0, 2.0, 5.0]})
    assert ok_json(response) == {"predictions": [2.5, 3.0, 4.5]}
    # Integral floats keep their ".0".
    assert compact(response.text) == '{"predictions":[2.5,3.0,4.5]}'


def test_row_predict_nested_instances(client: httpx.Client) -> None:
    response = predict(client, DEFAULT, {"instances": [[2.0], [4.0]]})
    assert ok_json(response) == {"predictions": [[3.0], [4.0]]}
    assert compact(response.text) == '{"predictions":[[3.0],[4.0]]}'


def test_columnar_predict_bare_list(client: httpx.Client) -> None:
    response = predict(client, DEFAULT, {"inputs": [2.0, 3.0, 4.0]})
    assert ok_json(response) == {"outputs": [3.0, 3.5, 4.0]}
    assert compact(response.text) == '{"outputs":[3.0,3.5,4.0]}'


def test_columnar_predict_named_input(client: httpx.Client) -> None:
    assert ok_json(predict(client, DEFAULT, {"inputs": {"x": [[2.0]]}})) == {"outputs": [[3.0]]}


def test_ints_are_accepted_for_float_input(client: httpx.Client) -> None:
    response = predict(client, DEFAULT, {"instances": [2, 4]})
    assert compact(response.text) == '{"predictions":[3.0,4.0]}'


def test_other_keys_are_ignored(client: httpx.Client) -> None:
    body = {"instances": [2.0], "foo": {"bar": 1}, "outputs": "ignored"}
    assert ok_json(predict(client, DEFAULT, body)) == {"predictions": [3.0]}


def test_signature_name_selects_signature(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x2_to_y3", "instances": [2.0]}
    assert ok_json(predict(client, DEFAULT, body)) == {"predictions": [4.0]}


def test_explicit_default_signature_name(client: httpx.Client) -> None:
    body = {"signature_name": "serving_default", "inputs": [2.0]}
    assert ok_json(predict(client, DEFAULT, body)) == {"outputs": [3.0]}


def test_predict_by_version(client: httpx.Client) -> None:
    response = post(client, f"/v1/models/{DEFAULT}/versions/123:predict", {"instances": [2.0]})
    assert ok_json(response) == {"predictions": [3.0]}


def test_float_formatting(client: httpx.Client) -> None:
    # 6 significant digits when they round-trip; ".0" unless in exponent form.
    response = predict(client, DEFAULT, {"instances": [1999994.0, 17999996.0, 0.25]})
    assert compact(response.text) == '{"predictions":[999999.0,9e+06,2.125]}'


def test_nan_and_infinity_round_trip_unquoted(client: httpx.Client) -> None:
    response = predict(client, DEFAULT, '{"instances": [NaN, Infinity, -Infinity]}')
    assert compact(response.text) == '{"predictions":[NaN,Infinity,-Infinity]}'
    values = ok_json(response)["predictions"]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


# --- other shared models -------------------------------------------------------------------


def test_tf2_model_row_predict(client: httpx.Client) -> None:
    assert ok_json(predict(client, TF2, {"instances": [2.0]})) == {"predictions": [3.0]}


def test_tf2_model_columnar_named_input(client: httpx.Client) -> None:
    assert ok_json(predict(client, TF2, {"inputs": {"x": [2.0]}})) == {"outputs": [3.0]}


def test_tf2_model_default_does_not_replace_a_missing_json_input(client: httpx.Client) -> None:
    # serving_default's "x" has a default in this export, but TF Serving's JSON decoder requires
    # every signature input by name (reference §2.5: "Missing named input"); defaults only apply
    # to gRPC requests that omit an input.
    response = predict(client, TF2, {"inputs": {}})
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "Missing named input: x in 'inputs' object."}


def test_half_plus_three(client: httpx.Client) -> None:
    assert ok_json(predict(client, HALF_PLUS_THREE, {"instances": [2.0]})) == {"predictions": [4.0]}


@pytest.mark.parametrize("version", [123, 124])
def test_each_version_of_two_versions_model(client: httpx.Client, version: int) -> None:
    path = f"/v1/models/{TWO_VERSIONS}/versions/{version}:predict"
    assert ok_json(post(client, path, {"instances": [2.0]})) == {"predictions": [3.0]}


def test_latest_version_of_two_versions_model(client: httpx.Client) -> None:
    assert ok_json(predict(client, TWO_VERSIONS, {"inputs": [2.0, 4.0]})) == {"outputs": [3.0, 4.0]}


# --- built models --------------------------------------------------------------------------


def test_multi_input_row_objects(client: httpx.Client) -> None:
    body = {"instances": [{"a": 1.0, "b": 2.0}, {"b": 4.0, "a": 3.0}]}
    assert ok_json(predict(client, models.TWO_INPUTS, body)) == {
        "predictions": [{"sum": 3.0, "diff": -1.0}, {"sum": 7.0, "diff": -1.0}]
    }


def test_multi_input_columnar_ignores_extra_keys(client: httpx.Client) -> None:
    body = {"inputs": {"a": [1.0, 5.0], "b": [2.0, 1.0], "c": "not an input"}}
    assert ok_json(predict(client, models.TWO_INPUTS, body)) == {
        "outputs": {"sum": [3.0, 6.0], "diff": [-1.0, 4.0]}
    }


def test_multi_input_columnar_inputs_may_differ_in_dim0(client: httpx.Client) -> None:
    # Columnar requests impose no batch constraint ([2] + [1] broadcasts in the model).
    body = {"inputs": {"a": [1.0, 2.0], "b": [3.0]}}
    assert ok_json(predict(client, models.TWO_INPUTS, body)) == {
        "outputs": {"sum": [4.0, 5.0], "diff": [-2.0, -1.0]}
    }


def test_b64_in_bytes_alias_out(client: httpx.Client) -> None:
    text = "héllo".encode()
    body = {"instances": [{"b64": _b64(text)}, "abc"]}
    assert ok_json(predict(client, models.STRINGS, body)) == {
        "predictions": [
            {"echo_bytes": {"b64": _b64(text)}, "echo": "héllo", "length": 6},
            {"echo_bytes": {"b64": _b64(b"abc")}, "echo": "abc", "length": 3},
        ]
    }


def test_b64_columnar(client: httpx.Client) -> None:
    data = b"\x00\xffbinary"
    body = {"inputs": {"text": [{"b64": _b64(data)}]}}
    outputs = ok_json(predict(client, models.STRINGS, body))["outputs"]
    assert outputs["echo_bytes"] == [{"b64": _b64(data)}]
    assert outputs["length"] == [len(data)]


def test_bare_b64_object_as_columnar_input(client: httpx.Client) -> None:
    body = {"inputs": {"b64": _b64(b"xyz")}}  # one input: the b64 object is the (scalar) value
    outputs = ok_json(predict(client, models.STRINGS, body))["outputs"]
    assert outputs == {"echo_bytes": {"b64": _b64(b"xyz")}, "echo": "xyz", "length": 3}


def test_int32_model(client: httpx.Client) -> None:
    response = predict(client, models.INT32, {"instances": [1, -2, 2147483647 // 2]})
    assert ok_json(response) == {"predictions": [2, -4, 2147483646]}
    assert compact(response.text) == '{"predictions":[2,-4,2147483646]}'  # ints stay ints


def test_rank0_output_is_fine_in_columnar_format(client: httpx.Client) -> None:
    response = predict(client, models.RANK0_OUTPUT, {"inputs": [1.0, 2.0, 3.0]})
    assert compact(response.text) == '{"outputs":6.0}'


def test_uneven_outputs_are_fine_in_columnar_format(client: httpx.Client) -> None:
    response = predict(client, models.UNEVEN_OUTPUTS, {"inputs": [1.0]})
    assert ok_json(response) == {"outputs": {"rows": [1.0], "doubled_rows": [1.0, 1.0]}}
