"""Classify/Regress bodies to tensorflow.Example records: reference section 2.7."""

from __future__ import annotations

import math

import pytest

from pyserving.codec.json_examples import decode_examples_request
from pyserving.codec.json_parse import parse_json_body
from pyserving.errors import Code, ServingError
from pyserving.protos import example_pb2, feature_pb2


def decode(body: bytes, method: str = "classify") -> tuple[str, list[bytes], bytes | None]:
    return decode_examples_request(parse_json_body(body), method)


def features(serialized: bytes) -> dict[str, feature_pb2.Feature]:
    return dict(example_pb2.Example.FromString(serialized).features.feature)


def values(feature: feature_pb2.Feature) -> tuple[str | None, list[object]]:
    kind = feature.WhichOneof("kind")
    if kind is None:
        return None, []
    return kind, list(getattr(feature, kind).value)


def test_feature_kinds_follow_the_json_tokens() -> None:
    body = (
        b'{"examples": [{"f": 2.0, "i": 2, "s": "hi", "b": {"b64": "aGk="}, "t": [true, false],'
        b' "fl": [1.5, 2e3, NaN], "il": [-9223372036854775808, 9223372036854775807],'
        b' "sl": ["a", {"b64": "Yg=="}], "e": []}]}'
    )
    name, examples, context = decode(body)
    assert (name, context, len(examples)) == ("serving_default", None, 1)
    got = {key: values(feature) for key, feature in features(examples[0]).items()}
    assert got["f"] == ("float_list", [2.0])
    assert got["i"] == ("int64_list", [2])
    assert got["s"] == ("bytes_list", [b"hi"])
    assert got["b"] == ("bytes_list", [b"hi"])
    assert got["t"] == ("int64_list", [1, 0])
    kind, floats = got["fl"]
    assert kind == "float_list" and floats[:2] == [1.5, 2000.0] and math.isnan(floats[2])  # type: ignore[arg-type]
    assert got["il"] == ("int64_list", [-(2**63), 2**63 - 1])
    assert got["sl"] == ("bytes_list", [b"a", b"b"])
    assert got["e"] == (None, [])


def test_floats_are_float32_and_overflow_to_infinity() -> None:
    _, examples, _ = decode(b'{"examples": [{"x": [0.1, 1e39, -1e39]}]}')
    _, floats = values(features(examples[0])["x"])
    assert floats == [pytest.approx(0.1), math.inf, -math.inf]
    assert floats[0] != 0.1  # stored as float32


def test_context_and_signature_name() -> None:
    body = b'{"signature_name": "regress_x", "context": {"c": "ctx"}, "examples": [{"x": 1}, {}]}'
    name, examples, context = decode(body, "regress")
    assert name == "regress_x"
    assert context is not None and values(features(context)["c"]) == ("bytes_list", [b"ctx"])
    assert len(examples) == 2 and features(examples[1]) == {}


def test_string_features_keep_raw_bytes() -> None:
    _, examples, _ = decode(b'{"examples": [{"x": "caf\xc3\xa9 \xff"}]}')
    assert values(features(examples[0])["x"]) == ("bytes_list", ["café ".encode() + b"\xff"])


ERRORS = [
    (b"[1]", "JSON Value: [\n    1\n] Is not object"),
    (
        b'{"signature_name": 1, "examples": []}',
        'JSON Value: {\n    "signature_name": 1,\n    "examples": []\n} not formatted correctly. '
        "'signature_name' key must be a string value.",
    ),
    (
        b'{"example": [{}]}',
        'JSON Value: {\n    "example": [\n        {}\n    ]\n} When method is classify, '
        "key 'examples' is expected and was not found",
    ),
    (
        b'{"examples": {"x": 1}}',
        'JSON Value: {\n    "examples": {\n        "x": 1\n    }\n}'
        " Expecting 'examples' value to be an list/array",
    ),
    (
        b'{"examples": []}',
        "JSON Value: {\n    \"examples\": []\n} 'examples' value is an empty array",
    ),
    (b'{"examples": [1]}', "Example must be JSON object but got JSON Number"),
    (b'{"examples": [[]]}', "Example must be JSON object but got JSON Array"),
    (b'{"examples": ["x"]}', "Example must be JSON object but got JSON String"),
    (b'{"context": null, "examples": [{}]}', "Example must be JSON object but got JSON Null"),
    (b'{"examples": [{"x": null}]}', "Feature: x has element with unexpected JSON type: Null"),
    (b'{"examples": [{"x": [1, [2]]}]}', "Feature: x has element with unexpected JSON type: Array"),
    (
        b'{"examples": [{"x": {"a": 1}}]}',
        "Feature: x has element with unexpected JSON type: Object",
    ),
    (
        b'{"examples": [{"x": [{"b64": 1}]}]}',
        "Feature: x has element with unexpected JSON type: Object",
    ),
    (
        b'{"examples": [{"x": [1, 2.0]}]}',
        "Unexpected element type in feature: x expecting type: int64",
    ),
    (
        b'{"examples": [{"x": [2.0, 1]}]}',
        "Unexpected element type in feature: x expecting type: float",
    ),
    (
        b'{"examples": [{"x": ["a", true]}]}',
        "Unexpected element type in feature: x expecting type: bytes",
    ),
    (
        b'{"examples": [{"x": [true, "a"]}]}',
        "Unexpected element type in feature: x expecting type: int64",
    ),
    (
        b'{"examples": [{"x": [1.5, {"b64": "YQ=="}]}]}',
        "Unexpected element type in feature: x expecting type: float",
    ),
    (
        b'{"examples": [{"x": 9223372036854775808}]}',
        "Feature: x has uint64_t element. Only int64_t is supported.",
    ),
    (b'{"examples": [{"x": {"b64": "%%"}}]}', "Unable to base64 decode"),
]


@pytest.mark.parametrize(("body", "message"), ERRORS)
def test_errors(body: bytes, message: str) -> None:
    with pytest.raises(ServingError) as caught:
        decode(body)
    assert (caught.value.code, caught.value.message) == (Code.INVALID_ARGUMENT, message)


def test_missing_examples_message_names_classify_for_regress_too() -> None:
    # TF Serving's text is fixed ("When method is classify") whatever the method.
    with pytest.raises(ServingError) as caught:
        decode(b'{"context": {}}', "regress")
    assert "When method is classify, key 'examples' is expected" in caught.value.message


def test_context_errors_come_before_examples_errors() -> None:
    with pytest.raises(ServingError) as caught:
        decode(b'{"context": {"c": null}}')
    assert caught.value.message == "Feature: c has element with unexpected JSON type: Null"
