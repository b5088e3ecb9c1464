"""Bad predict requests: exact messages and HTTP codes, and the server keeps serving after each.

Reference §2.5-§2.8 and §10 items 19-24, 27. Row-format decoding errors are wrapped by TF Serving
(``Failed to process element: N of 'instances' list. Error: <status>``), so those are matched on
their inner message; columnar errors are returned as they are and are matched exactly.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import httpx
import pytest

from tests.integration import models
from tests.integration.conftest import (
    DEFAULT,
    MAX_BODY_BYTES,
    TIMEOUT_MS,
    TWO_VERSIONS,
    assert_still_serving,
    error_of,
    ok_json,
    post,
    predict,
)

pytestmark = pytest.mark.slow


def _predict_error(client: httpx.Client, model: str, body: Any, status: int = 400) -> str:
    message = error_of(predict(client, model, body), status)
    assert_still_serving(client)
    return message


# --- JSON document -----------------------------------------------------------------------------


def test_malformed_json(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, '{"instances": [1.0, 2.0}')
    assert (
        message == "JSON Parse error: Missing a comma or ']' after an array element. at offset: 23"
    )


def test_truncated_object(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, "{")
    assert message == "JSON Parse error: Missing a name for object member. at offset: 1"


def test_empty_body(client: httpx.Client) -> None:
    assert _predict_error(client, DEFAULT, b"") == "JSON Parse error: The document is empty"


@pytest.mark.parametrize("body", ["[1.0, 2.0]", "2.0", '"instances"', "null"])
def test_non_object_document(client: httpx.Client, body: str) -> None:
    message = _predict_error(client, DEFAULT, body)
    assert message.startswith("JSON Value: ") and message.endswith("Is not object"), message


def test_deeply_nested_unterminated_json(client: httpx.Client) -> None:
    _predict_error(client, DEFAULT, "[" * 100_000)


def test_deeply_nested_valid_json(client: httpx.Client) -> None:
    body = '{"instances": ' + "[" * 100_000 + "]" * 100_000 + "}"
    _predict_error(client, DEFAULT, body)


# --- request structure -------------------------------------------------------------------------


def test_both_instances_and_inputs(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"instances": [2.0], "inputs": [2.0]})
    assert (
        "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist"
        in (message)
    )


def test_neither_instances_nor_inputs(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"signature_name": "serving_default"})
    assert message == "Missing 'inputs' or 'instances' key"


def test_instances_not_a_list(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"instances": 2.0})
    assert message.endswith("Expecting 'instances' to be an list/array")


def test_instances_empty(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"instances": []})
    assert message.endswith("No values in 'instances' array")


def test_signature_name_not_a_string(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"signature_name": 5, "instances": [2.0]})
    assert message.endswith("'signature_name' key must be a string value.")


def test_unknown_signature(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"signature_name": "nope", "instances": [2.0]})
    assert message == 'Serving signature name: "nope" not found in signature def'


def test_zero_input_signature_is_not_callable(client: httpx.Client) -> None:
    # saved_model_counter's signatures are meant for gRPC; over REST an input-less one fails.
    body = {"signature_name": "get_counter", "instances": [1.0]}
    assert _predict_error(client, "counter", body) == (
        "Failed to get input map for signature: get_counter"
    )


# --- values and dtypes ---------------------------------------------------------------------


def test_float_for_int32_columnar(client: httpx.Client) -> None:
    message = _predict_error(client, models.INT32, {"inputs": [1.5]})
    assert message == "JSON Value: 1.5 Type: Number is not of expected type: int32"


@pytest.mark.parametrize("value", [1.0, 1.5, 3_000_000_000, "1"])
def test_non_int32_for_int32_row(client: httpx.Client, value: Any) -> None:
    message = _predict_error(client, models.INT32, {"instances": [value]})
    assert message.startswith("Failed to process element: 0 of 'instances' list. Error: ")
    assert message.endswith("is not of expected type: int32"), message


def test_string_for_float_columnar(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"inputs": ["abc"]})
    assert message == 'JSON Value: "abc" Type: String is not of expected type: float'


def test_string_for_float_row(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"instances": [1.0, "abc"]})
    assert message.startswith("Failed to process element: 1 of 'instances' list. Error: ")
    assert message.endswith('JSON Value: "abc" Type: String is not of expected type: float')


def test_bool_for_float(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"inputs": [True]})
    assert message == "JSON Value: true Type: True is not of expected type: float"


def test_bad_base64(client: httpx.Client) -> None:
    message = _predict_error(client, models.STRINGS, {"inputs": [{"b64": "!!!"}]})
    assert message == "Unable to base64 decode"


def test_half_input_columnar_is_501(client: httpx.Client) -> None:
    message = _predict_error(client, models.HALF_INPUT, {"inputs": [1.0]}, status=501)
    assert message == "Conversion of JSON Value: 1.0 to type: half"


def test_half_input_row_is_rejected(client: httpx.Client) -> None:
    # In row format TF Serving re-wraps the UNIMPLEMENTED status as INVALID_ARGUMENT.
    response = predict(client, models.HALF_INPUT, {"instances": [1.0]})
    assert response.status_code in (400, 501), response.text
    assert "Conversion of JSON Value: 1.0 to type: half" in response.json()["error"]
    assert_still_serving(client)


# --- shapes ------------------------------------------------------------------------------------


def test_ragged_columnar_list(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"inputs": [[1.0, 2.0], [3.0]]})
    assert message == "Encountered list at unexpected size: 1 at level: 1 expected size: 2"


def test_list_deeper_than_first_element(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"inputs": [1.0, [2.0]]})
    assert message.startswith("Encountered list at unexpected level: 1"), message


def test_value_shallower_than_first_element(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"inputs": [[1.0], 2.0]})
    assert message.startswith("JSON Value: 2.0 found at incorrect level:"), message


def test_ragged_row_instances(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"instances": [[1.0, 2.0], [3.0]]})
    assert message.startswith("Failed to process element: 1 of 'instances' list. Error: ")
    assert "Expecting tensor size: 2 but got: 1" in message


# --- multiple inputs -----------------------------------------------------------------------


def test_multi_input_row_plain_list(client: httpx.Client) -> None:
    message = _predict_error(client, models.TWO_INPUTS, {"instances": [1.0, 2.0]})
    assert message == (
        "instances is a plain list, but expecting list of objects as multiple input tensors "
        "required as per tensorinfo_map"
    )


def test_multi_input_row_missing_key(client: httpx.Client) -> None:
    message = _predict_error(client, models.TWO_INPUTS, {"instances": [{"a": 1.0}]})
    assert message.startswith("Failed to process element: 0 of 'instances' list. JSON object: ")
    assert message.endswith("a,b"), message


def test_multi_input_row_extra_key(client: httpx.Client) -> None:
    body = {"instances": [{"a": 1.0, "b": 2.0, "c": 3.0}]}
    message = _predict_error(client, models.TWO_INPUTS, body)
    assert message.startswith("Failed to process element: 0 key: c of 'instances' list. Error: ")
    assert "does not have named input: c" in message


def test_multi_input_row_object_then_list(client: httpx.Client) -> None:
    body = {"instances": [{"a": 1.0, "b": 2.0}, [1.0, 2.0]]}
    message = _predict_error(client, models.TWO_INPUTS, body)
    assert message == "Expecting object but got list at item 1 of input list"


def test_single_input_row_value_then_object(client: httpx.Client) -> None:
    message = _predict_error(client, DEFAULT, {"instances": [1.0, {"x": 1.0}]})
    assert message == "Expecting value/list but got object at item 1 of input list"


def test_multi_input_columnar_missing_input(client: httpx.Client) -> None:
    message = _predict_error(client, models.TWO_INPUTS, {"inputs": {"a": [1.0]}})
    assert message == "Missing named input: b in 'inputs' object."


def test_multi_input_columnar_plain_list(client: httpx.Client) -> None:
    message = _predict_error(client, models.TWO_INPUTS, {"inputs": [1.0, 2.0]})
    assert message == (
        "inputs is a plain value/list, but expecting an object as multiple input tensors "
        "required as per tensorinfo_map"
    )


# --- outputs that row format cannot express ------------------------------------------------


def test_rank0_output_in_row_format(client: httpx.Client) -> None:
    message = _predict_error(client, models.RANK0_OUTPUT, {"instances": [1.0, 2.0]})
    assert message == "Tensor name: total has no shape information "


def test_inconsistent_batch_size_in_row_format(client: httpx.Client) -> None:
    message = _predict_error(client, models.UNEVEN_OUTPUTS, {"instances": [1.0]})
    # Which output is named depends on map order: either way the sizes are 1 and 2.
    assert message in (
        "Tensor name: doubled_rows has inconsistent batch size: 2 expecting: 1",
        "Tensor name: rows has inconsistent batch size: 1 expecting: 2",
    )


# --- model resolution ----------------------------------------------------------------------


def test_unknown_model(client: httpx.Client) -> None:
    message = _predict_error(client, "no_such_model", {"instances": [2.0]}, status=404)
    assert message == "Servable not found for request: Latest(no_such_model)"


def test_unknown_version(client: httpx.Client) -> None:
    response = post(client, f"/v1/models/{DEFAULT}/versions/999:predict", {"instances": [2.0]})
    assert error_of(response, 404) == f"Servable not found for request: Specific({DEFAULT}, 999)"
    assert_still_serving(client)


def test_unknown_version_of_two_versions_model(client: httpx.Client) -> None:
    path = f"/v1/models/{TWO_VERSIONS}/versions/125:predict"
    response = post(client, path, {"instances": [2.0]})
    assert error_of(response, 404) == (
        f"Servable not found for request: Specific({TWO_VERSIONS}, 125)"
    )
    assert_still_serving(client)


def test_unknown_label(client: httpx.Client) -> None:
    path = f"/v1/models/{DEFAULT}/labels/no_such_label:predict"
    response = post(client, path, {"instances": [2.0]})
    assert error_of(response, 400) == "Unrecognized servable version label: no_such_label"
    assert_still_serving(client)


# --- transport: body size, gzip, timeout -------------------------------------------------


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    padding = " " * MAX_BODY_BYTES  # whitespace keeps the JSON valid: only the size is wrong
    response = predict(client, DEFAULT, '{"instances": [2.0]}' + padding)
    assert response.status_code == 413, response.text[:200]
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
    assert_still_serving(client)


def test_body_just_under_the_limit_is_accepted(client: httpx.Client) -> None:
    head = '{"instances": [2.0]}'
    body = head + " " * (MAX_BODY_BYTES - len(head))
    assert ok_json(predict(client, DEFAULT, body)) == {"predictions": [3.0]}


def test_gzip_body(client: httpx.Client) -> None:
    body = gzip.compress(json.dumps({"instances": [1.0, 2.0, 5.0]}).encode())
    response = post(
        client, f"/v1/models/{DEFAULT}:predict", body, headers={"Content-Encoding": "gzip"}
    )
    assert ok_json(response) == {"predictions": [2.5, 3.0, 4.5]}


def test_gzip_body_inflating_over_the_limit_is_413(client: httpx.Client) -> None:
    body = gzip.compress(b'{"instances": [2.0]}' + b" " * (2 * MAX_BODY_BYTES))
    assert len(body) < MAX_BODY_BYTES
    response = post(
        client, f"/v1/models/{DEFAULT}:predict", body, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 413, response.text
    assert_still_serving(client)


def test_slow_model_times_out_with_504(client: httpx.Client) -> None:
    started = time.monotonic()
    response = predict(client, models.SLOW, {"instances": [1.0]})
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
    # The model would spin for SLOW_SECONDS; the answer must come at about the timeout instead.
    assert TIMEOUT_MS / 1000 * 0.9 <= elapsed < models.SLOW_SECONDS * 0.75, elapsed
    assert_still_serving(client)
