"""Response bodies of the REST API, with TF Serving's layout rules and number spelling.

Bodies are compact JSON (TF Serving pretty-prints; clients must not depend on layout). Numbers
follow TF Serving exactly (``float_format``); non-finite floats are written bare (``NaN``,
``Infinity``), which TF Serving's clients accept. Multi-output objects keep the mapping's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import orjson

from pyserving.codec.float_format import format_float_array
from pyserving.codec.json_tensor import Format
from pyserving.codec.tensor_text import row_texts, whole_text
from pyserving.errors import invalid_argument


def encode_predict_response(fmt: Format, outputs: Mapping[str, np.ndarray]) -> bytes:
    """``{"predictions": [...]}`` for row requests, ``{"outputs": ...}`` for columnar ones.

    Row format: one entry per dim-0 row; with one output the entry is that output's row, with
    several an object ``{alias: row}``. Every output must have rank >= 1 and the same dim 0
    (INVALID_ARGUMENT otherwise, as TF Serving reports after the model ran). Columnar format: the
    output itself (scalars allowed), or an object of outputs. Outputs whose alias ends in
    ``_bytes`` are written as ``{"b64": ...}``; element types JSON cannot express are an
    INVALID_ARGUMENT ``Failed to write JSON value for tensor type: <t>``.
    """
    arrays = {alias: np.asarray(tensor) for alias, tensor in outputs.items()}
    if not arrays:
        raise invalid_argument("Cannot convert empty tensor map to JSON")
    if fmt is Format.COLUMNAR:
        if len(arrays) == 1:
            ((alias, array),) = arrays.items()
            return _body("outputs", whole_text(array, alias))
        members = (_key(alias) + whole_text(array, alias) for alias, array in arrays.items())
        return _body("outputs", "{" + ",".join(members) + "}")
    batch = -1
    for alias, array in arrays.items():
        if array.ndim == 0:
            raise invalid_argument(f"Tensor name: {alias} has no shape information ")
        if batch >= 0 and array.shape[0] != batch:
            raise invalid_argument(
                f"Tensor name: {alias} has inconsistent batch size: {array.shape[0]} "
                f"expecting: {batch}"
            )
        batch = array.shape[0]
    if len(arrays) == 1:
        # The list of one output's rows is exactly that output's own text.
        ((alias, array),) = arrays.items()
        return _body("predictions", whole_text(array, alias))
    columns = [(_key(alias), row_texts(array, alias)) for alias, array in arrays.items()]
    rows = ("{" + ",".join(key + rows[i] for key, rows in columns) + "}" for i in range(batch))
    return _body("predictions", "[" + ",".join(rows) + "]")


def encode_classify_response(classifications: Sequence[Sequence[tuple[bytes, float]]]) -> bytes:
    """``{"results": [[["<label>", <score>], ...], ...]}``: one list of classes per example.

    Labels are UTF-8 text (invalid sequences become U+FFFD); scores are float32 values.
    """
    if not classifications:
        raise invalid_argument("Cannot convert empty ClassificationResults to JSON")
    scores = format_float_array(
        np.array([score for classes in classifications for _, score in classes], np.float32)
    )
    position = 0
    results: list[str] = []
    for classes in classifications:
        pairs: list[str] = []
        for label, _ in classes:
            text = _text(label)
            pairs.append("[" + orjson.dumps(text).decode() + "," + scores[position] + "]")
            position += 1
        results.append("[" + ",".join(pairs) + "]")
    return _body("results", "[" + ",".join(results) + "]")


def encode_regress_response(values: Sequence[float]) -> bytes:
    """``{"results": [<value>, ...]}``, one float32 value per example."""
    if not len(values):
        raise invalid_argument("Cannot convert empty RegressionResults to JSON")
    texts = format_float_array(np.asarray(values, dtype=np.float32).reshape(-1))
    return _body("results", "[" + ",".join(texts) + "]")


def encode_error(message: str) -> bytes:
    """``{"error": "<message>"}`` (TF Serving's error body: the status message, no code)."""
    return orjson.dumps({"error": _valid_text(message)})


def encode_json(document: object) -> bytes:
    """Any JSON-serializable document (status and metadata answers); numpy arrays allowed."""
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def _body(key: str, value_text: str) -> bytes:
    return ('{"' + key + '":' + value_text + "}").encode("utf-8")


def _key(alias: str) -> str:
    return orjson.dumps(_valid_text(alias)).decode() + ":"


def _text(label: bytes | str) -> str:
    data = label if isinstance(label, bytes) else label.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


def _valid_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (messages quote request bytes that were not
    UTF-8, which the parser keeps as ``surrogateescape`` characters: they become U+FFFD here)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")
