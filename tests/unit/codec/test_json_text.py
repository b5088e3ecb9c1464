"""How values are quoted inside TF Serving's error messages (rapidjson's pretty writer)."""

from __future__ import annotations

import math

import pytest

from pyserving.codec.json_text import json_type_name, quote, value_text


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "Null"),
        (True, "True"),
        (False, "False"),
        ({}, "Object"),
        ([], "Array"),
        ("", "String"),
        (1, "Number"),
        (1.5, "Number"),
    ],
)
def test_type_names(value: object, name: str) -> None:
    assert json_type_name(value) == name


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (5, "5"),
        (-(2**63), "-9223372036854775808"),
        ("a", '"a"'),
        ('q"\\\x01\n\u00e9', '"q\\"\\\\\\u0001\\n\u00e9"'),
        # top-level decimals print like tensor outputs, at float precision when in float range
        (1.0, "1.0"),
        (1.1, "1.1"),
        (3.14159265358979, "3.14159274"),
        (1e39, "1e+39"),
        (math.nan, "NaN"),
        (-math.inf, "-Infinity"),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_scalars_and_empty_containers(value: object, text: str) -> None:
    assert value_text(value) == text


def test_documents_are_pretty_printed_with_four_spaces() -> None:
    document = {"instances": [1, 2.5, [], {"b64": "eA=="}], "signature_name": "s", "x": None}
    assert value_text(document) == (
        "{\n"
        '    "instances": [\n'
        "        1,\n"
        "        2.5,\n"
        "        [],\n"
        "        {\n"
        '            "b64": "eA=="\n'
        "        }\n"
        "    ],\n"
        '    "signature_name": "s",\n'
        '    "x": null\n'
        "}"
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.1, "0.1"),
        (1.0, "1.0"),
        (100.0, "100.0"),
        (-0.0, "-0.0"),
        (1e30, "1e30"),
        (1e21, "1e21"),
        (1e16, "10000000000000000.0"),
        (12.34, "12.34"),
        (0.001234, "0.001234"),
        (1.5e-7, "1.5e-7"),
        (1.25e100, "1.25e100"),
    ],
)
def test_doubles_inside_documents_use_rapidjson_shortest_form(number: float, text: str) -> None:
    assert value_text([number]) == "[\n    " + text + "\n]"


def test_non_finite_inside_a_document_stops_the_text_like_rapidjson() -> None:
    assert value_text([1, math.nan, 2]) == "[\n    1,\n    "
    assert value_text({"a": [math.inf]}) == '{\n    "a": [\n        '
    assert value_text({"k": -math.inf}) == '{\n    "k": '


def test_deep_documents_print_without_recursion() -> None:
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    text = value_text(deep)
    assert text.count("[") == 5000 and text.count("]") == 5000


def test_quote_escapes_like_rapidjson() -> None:
    assert quote("\b\f\t\x1f/") == '"\\b\\f\\t\\u001F/"'
