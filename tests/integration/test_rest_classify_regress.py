"""POST .../:classify and .../:regress with tf.Example JSON (reference §2.7, §10 items 25-26)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    DEFAULT,
    TF2,
    assert_still_serving,
    compact,
    error_of,
    ok_json,
    post,
)

pytestmark = pytest.mark.slow


def _classify(client: httpx.Client, model: str, body: Any) -> httpx.Response:
    return post(client, f"/v1/models/{model}:classify", body)


def _regress(client: httpx.Client, model: str, body: Any) -> httpx.Response:
    return post(client, f"/v1/models/{model}:regress", body)


def test_classify(client: httpx.Client) -> None:
    body = {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}
    response = _classify(client, DEFAULT, body)
    assert ok_json(response) == {"results": [[["", 3.0]]]}
    assert compact(response.text) == '{"results":[[["",3.0]]]}'


def test_regress(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}
    response = _regress(client, DEFAULT, body)
    assert ok_json(response) == {"results": [3.0]}
    assert compact(response.text) == '{"results":[3.0]}'


def test_regress_several_examples_and_list_feature(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}, {"x": [4.0]}]}
    assert ok_json(_regress(client, DEFAULT, body)) == {"results": [3.0, 4.0]}


def test_regress_other_signature(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y2", "examples": [{"x": 2.0}]}
    assert ok_json(_regress(client, DEFAULT, body)) == {"results": [4.0]}


def test_regress_by_version(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}
    response = post(client, f"/v1/models/{DEFAULT}/versions/123:regress", body)
    assert ok_json(response) == {"results": [3.0]}


def test_example_feature_wins_over_context(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "context": {"x": 1.0}, "examples": [{"x": 2.0}]}
    assert ok_json(_regress(client, DEFAULT, body)) == {"results": [3.0]}


def test_context_feature_fills_examples(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "context": {"x": 4.0}, "examples": [{}, {}]}
    assert ok_json(_regress(client, DEFAULT, body)) == {"results": [4.0, 4.0]}


def test_unused_string_and_bool_features_are_accepted(client: httpx.Client) -> None:
    example = {"x": 2.0, "name": "a", "raw": {"b64": "AAE="}, "flag": True, "count": 7}
    body = {"signature_name": "regress_x_to_y", "examples": [example]}
    assert ok_json(_regress(client, DEFAULT, body)) == {"results": [3.0]}


def test_tf2_classify(client: httpx.Client) -> None:
    body = {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}
    assert ok_json(_classify(client, TF2, body)) == {"results": [[["", 3.0]]]}


@pytest.mark.parametrize(
    ("signature", "expected"), [("regress_x_to_y", 3.0), ("regress_x_to_y2", 4.0)]
)
def test_tf2_regress(client: httpx.Client, signature: str, expected: float) -> None:
    body = {"signature_name": signature, "examples": [{"x": 2.0}]}
    assert ok_json(_regress(client, TF2, body)) == {"results": [expected]}


def test_int64_feature_on_float_model_is_400(client: httpx.Client) -> None:
    # {"x": 2} is an int64_list feature; the model parses "x" as float.
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": 2}]}
    message = error_of(_regress(client, DEFAULT, body), 400)
    assert "x" in message
    assert re.search(r"(?i)int64|float|type", message), message
    assert_still_serving(client)


# --- request errors of §2.7, exact messages --------------------------------------------------


@pytest.mark.parametrize("verb", ["classify", "regress"])
def test_missing_examples(client: httpx.Client, verb: str) -> None:
    # TF Serving says "classify" for regress requests too.
    response = post(client, f"/v1/models/{DEFAULT}:{verb}", {"signature_name": "regress_x_to_y"})
    message = error_of(response, 400)
    assert message.endswith("When method is classify, key 'examples' is expected and was not found")
    assert_still_serving(client)


def test_examples_not_a_list(client: httpx.Client) -> None:
    message = error_of(_regress(client, DEFAULT, {"examples": {"x": 2.0}}), 400)
    assert message.endswith("Expecting 'examples' value to be an list/array")
    assert_still_serving(client)


def test_examples_empty(client: httpx.Client) -> None:
    message = error_of(_regress(client, DEFAULT, {"examples": []}), 400)
    assert message.endswith("'examples' value is an empty array")
    assert_still_serving(client)


def test_example_not_an_object(client: httpx.Client) -> None:
    response = _regress(client, DEFAULT, {"examples": [2.0]})
    assert error_of(response, 400) == "Example must be JSON object but got JSON Number"
    assert_still_serving(client)


def test_context_not_an_object(client: httpx.Client) -> None:
    response = _regress(client, DEFAULT, {"context": [1], "examples": [{"x": 2.0}]})
    assert error_of(response, 400) == "Example must be JSON object but got JSON Array"
    assert_still_serving(client)


@pytest.mark.parametrize(("value", "json_type"), [(None, "Null"), ([[1.0]], "Array")])
def test_feature_of_unexpected_json_type(client: httpx.Client, value: Any, json_type: str) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": value}]}
    message = error_of(_regress(client, DEFAULT, body), 400)
    assert message == f"Feature: x has element with unexpected JSON type: {json_type}"
    assert_still_serving(client)


def test_non_b64_object_feature(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": {"y": 1}}]}
    message = error_of(_regress(client, DEFAULT, body), 400)
    assert message == "Feature: x has element with unexpected JSON type: Object"
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("values", "kind"), [([1.0, "a"], "float"), (["a", 1], "bytes"), ([1, 2.5], "int64")]
)
def test_mixed_feature_kinds(client: httpx.Client, values: list[Any], kind: str) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": values}]}
    message = error_of(_regress(client, DEFAULT, body), 400)
    assert message == f"Unexpected element type in feature: x expecting type: {kind}"
    assert_still_serving(client)


def test_uint64_feature(client: httpx.Client) -> None:
    body = '{"signature_name": "regress_x_to_y", "examples": [{"x": 18446744073709551615}]}'
    message = error_of(_regress(client, DEFAULT, body), 400)
    assert message == "Feature: x has uint64_t element. Only int64_t is supported."
    assert_still_serving(client)


def test_bad_base64_feature(client: httpx.Client) -> None:
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": {"b64": "!!!"}}]}
    assert error_of(_regress(client, DEFAULT, body), 400) == "Unable to base64 decode"
    assert_still_serving(client)


def test_unknown_signature(client: httpx.Client) -> None:
    body = {"signature_name": "no_such_signature", "examples": [{"x": 2.0}]}
    message = error_of(_regress(client, DEFAULT, body), 400)
    assert "no_such_signature" in message
    assert_still_serving(client)


def test_classify_unknown_model_is_404(client: httpx.Client) -> None:
    body = {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}
    response = _classify(client, "no_such_model", body)
    assert error_of(response, 404) == "Servable not found for request: Latest(no_such_model)"
    assert_still_serving(client)
