"""The JSON Schemas of the REST API's bodies, for the OpenAPI document (:mod:`.openapi`).

Shapes follow TF Serving's REST API (``/v1``), the Open Inference Protocol (``/v2``) and our admin
API. Schemas describe what a valid request looks like and what every answer may hold; whether a
tensor fits a model's signature is the server's check (400 ``{"error": ...}``), not the schema's.
"""

from __future__ import annotations

from typing import Any, Final

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


_ANY: Final[Schema] = {}
_STRING: Final[Schema] = {"type": "string"}
_BOOL: Final[Schema] = {"type": "boolean"}
_INT: Final[Schema] = {"type": "integer"}
# TF Serving prints int64 version numbers as JSON strings.
_VERSION_TEXT: Final[Schema] = {"type": "string", "pattern": "^[0-9]+$"}


def _object(properties: Schema, required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


_ERROR = _object(
    {"error": {"type": "string", "description": "What was wrong and what to do."}},
    ("error",),
)
_MODEL_SPEC = _object(
    {
        "name": _STRING,
        "signature_name": _STRING,
        "version": _VERSION_TEXT,
        "version_label": _STRING,
    },
    ("name",),
)
_VERSION_STATUS = _object(
    {
        "version": _VERSION_TEXT,
        "state": {
            "type": "string",
            "enum": ["UNKNOWN", "START", "LOADING", "AVAILABLE", "UNLOADING", "END"],
        },
        "status": _object({"error_code": _STRING, "error_message": _STRING}),
    },
    ("version", "state"),
)
_STATUS = _object(
    {"model_version_status": {"type": "array", "items": _VERSION_STATUS}},
    ("model_version_status",),
)
_METADATA = _object(
    {
        "model_spec": ref("ModelSpec"),
        "metadata": _object(
            {"signature_def": {"description": "SignatureDefMap in protobuf JSON form"}}
        ),
    },
    ("model_spec", "metadata"),
)
# A tensor in TF Serving's JSON: nested lists of numbers, strings, booleans, or {"b64": ...}.
_TFS_TENSOR: Final[Schema] = {
    "description": 'A scalar, a nested list, or {"b64": "<base64>"} for binary strings.'
}
_PREDICT_REQUEST = _object(
    {
        "signature_name": _STRING,
        "instances": {
            "type": "array",
            "description": "Row format: one entry per example (an object keyed by input name "
            "when the signature has several inputs).",
            "items": _TFS_TENSOR,
        },
        "inputs": {
            "description": "Columnar format: one tensor, or an object keyed by input name.",
        },
    },
    minProperties=1,
)
_PREDICT_RESPONSE = _object(
    {
        "predictions": {"description": "Row format answer: one entry per example."},
        "outputs": {"description": "Columnar format answer: one tensor or an object of them."},
    },
)
_EXAMPLES_REQUEST = _object(
    {
        "signature_name": _STRING,
        "context": {"type": "object", "description": "Features shared by every example."},
        "examples": {
            "type": "array",
            "items": {"type": "object", "description": "Feature name -> value or list."},
        },
    },
    ("examples",),
)
_CLASSIFY_RESPONSE = _object(
    {
        "result": {
            "type": "array",
            "description": "Per example, a list of [label, score] pairs.",
            "items": {"type": "array", "items": {"type": "array"}},
        }
    },
    ("result",),
)
_REGRESS_RESPONSE = _object(
    {"result": {"type": "array", "items": {"type": "number"}}},
    ("result",),
)

_V2_DATATYPES: Final = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES", "BF16",
]  # fmt: skip
_PARAMETERS = {"type": "object", "description": "Protocol parameters (binary_data_size, ...)."}
_V2_TENSOR_META = _object(
    {
        "name": _STRING,
        "datatype": {"type": "string", "enum": _V2_DATATYPES},
        "shape": {"type": "array", "items": _INT},
    },
    ("name", "datatype", "shape"),
)
_V2_INPUT = _object(
    {
        "name": _STRING,
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": _V2_DATATYPES},
        "parameters": _PARAMETERS,
        "data": {"description": "Row-major values, flat or nested (absent with binary_data_size)."},
    },
    ("name", "shape", "datatype"),
)
_V2_OUTPUT_REQUEST = _object({"name": _STRING, "parameters": _PARAMETERS}, ("name",))
_V2_INFER_REQUEST = _object(
    {
        "id": _STRING,
        "parameters": _PARAMETERS,
        "inputs": {"type": "array", "items": ref("V2InferInput")},
        "outputs": {"type": "array", "items": _V2_OUTPUT_REQUEST},
    },
    ("inputs",),
)
_V2_INFER_RESPONSE = _object(
    {
        "model_name": _STRING,
        "model_version": _STRING,
        "id": _STRING,
        "parameters": _PARAMETERS,
        "outputs": {"type": "array", "items": ref("V2InferOutput")},
    },
    ("model_name", "outputs"),
)
_V2_OUTPUT = _object(
    {
        "name": _STRING,
        "shape": {"type": "array", "items": _INT},
        "datatype": _STRING,
        "parameters": _PARAMETERS,
        "data": {"type": "array"},
    },
    ("name", "shape", "datatype"),
)
_V2_SERVER = _object(
    {"name": _STRING, "version": _STRING, "extensions": {"type": "array", "items": _STRING}},
    ("name", "version", "extensions"),
)
_V2_MODEL = _object(
    {
        "name": _STRING,
        "versions": {"type": "array", "items": _STRING},
        "platform": _STRING,
        "inputs": {"type": "array", "items": ref("V2TensorMetadata")},
        "outputs": {"type": "array", "items": ref("V2TensorMetadata")},
    },
    ("name", "platform", "inputs", "outputs"),
)
_V2_READY = _object({"name": _STRING, "ready": _BOOL}, ("name", "ready"))
_V2_INDEX_REQUEST = _object({"ready": _BOOL})
_V2_INDEX = {
    "type": "array",
    "items": _object(
        {"name": _STRING, "version": _STRING, "state": _STRING, "reason": _STRING}, ("name",)
    ),
}
_V2_LOAD_REQUEST = _object(
    {
        "parameters": _object(
            {"config": {"type": "string", "description": "The admin API's model entry, as JSON."}}
        )
    }
)

_ADMIN_ENTRY = _object(
    {
        "name": _STRING,
        "base_path": _STRING,
        "platform": _STRING,
        "version_policy": {"type": "object", "description": "all, specific or latest"},
        "version_labels": {"type": "object", "additionalProperties": _INT},
    },
    description="A model's entry of the model config.",
)
_ADMIN_LIST = _object(
    {"models": {"type": "array", "items": ref("AdminModel")}, "config_file": _STRING},
    ("models",),
)
_ADMIN_LABEL = _object({"version": _INT}, ("version",), additionalProperties=False)

_PROBE_LIVE = _object({"alive": _BOOL}, ("alive",))
_PROBE_READY = _object(
    {
        "ready": _BOOL,
        "shutting_down": _BOOL,
        "unavailable_models": {"type": "object"},
    },
    ("ready",),
)

SCHEMAS: Final[dict[str, Schema]] = {
    "Error": _ERROR,
    "ModelSpec": _MODEL_SPEC,
    "ModelStatus": _STATUS,
    "ModelMetadata": _METADATA,
    "PredictRequest": _PREDICT_REQUEST,
    "PredictResponse": _PREDICT_RESPONSE,
    "ExamplesRequest": _EXAMPLES_REQUEST,
    "ClassifyResponse": _CLASSIFY_RESPONSE,
    "RegressResponse": _REGRESS_RESPONSE,
    "V2InferInput": _V2_INPUT,
    "V2InferOutput": _V2_OUTPUT,
    "V2InferRequest": _V2_INFER_REQUEST,
    "V2InferResponse": _V2_INFER_RESPONSE,
    "V2TensorMetadata": _V2_TENSOR_META,
    "V2ServerMetadata": _V2_SERVER,
    "V2ModelMetadata": _V2_MODEL,
    "V2ModelReady": _V2_READY,
    "V2RepositoryIndexRequest": _V2_INDEX_REQUEST,
    "V2RepositoryIndex": _V2_INDEX,
    "V2RepositoryLoadRequest": _V2_LOAD_REQUEST,
    "AdminModel": _ADMIN_ENTRY,
    "AdminModelList": _ADMIN_LIST,
    "AdminLabel": _ADMIN_LABEL,
    "Alive": _PROBE_LIVE,
    "Ready": _PROBE_READY,
}
