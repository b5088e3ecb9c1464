"""JSON <-> ``ModelConfig`` entries for the REST admin API.

A model is ``{"name", "base_path", "platform", "version_policy", "version_labels"}``:
``version_policy`` is TF Serving's ``ServableVersionPolicy`` in its proto JSON form
(``{"latest": {"num_versions": 2}}``, ``{"all": {}}``, ``{"specific": {"versions": [1, 2]}}``;
answers show an unset policy as ``latest`` 1, its meaning) and ``version_labels`` maps label ->
version. Unknown keys are rejected so a typo cannot silently drop a setting.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from google.protobuf import json_format

from pyserving.errors import invalid_argument
from pyserving.protos import model_server_config_pb2

Entry = model_server_config_pb2.ModelConfig

MODEL_KEYS: Final = ("name", "base_path", "platform", "version_policy", "version_labels")
_MODEL_TYPE_TENSORFLOW = 1
POLICY_SHAPES: Final = (
    'Expected one of {"latest": {"num_versions": N}}, {"all": {}} or '
    '{"specific": {"versions": [1, 2]}}.'
)


def parse_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (INVALID_ARGUMENT otherwise)."""
    try:
        data = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        raise invalid_argument(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise invalid_argument("The request body must be a JSON object")
    return data


def entry_from_json(name: str, data: dict[str, Any]) -> Entry:
    """The config entry a PUT body describes for model ``name`` (the URL's)."""
    unknown = sorted(set(data) - set(MODEL_KEYS))
    if unknown:
        raise invalid_argument(
            f"Unknown field(s) in the model config: {', '.join(unknown)}; "
            f"expected some of {', '.join(MODEL_KEYS)}"
        )
    if data.get("name", name) != name:
        raise invalid_argument(f"The body names model {data['name']!r} but the URL names {name!r}")
    entry = Entry(name=name)
    base_path = data.get("base_path")
    if not isinstance(base_path, str) or not base_path:
        raise invalid_argument('"base_path" (a non-empty string) is required')
    entry.base_path = base_path
    platform = data.get("platform", "tensorflow")
    if not isinstance(platform, str):
        raise invalid_argument('"platform" must be a string')
    entry.model_platform = platform
    policy = data.get("version_policy")
    if policy is not None:
        try:
            json_format.ParseDict(policy, entry.model_version_policy)
        except json_format.ParseError:
            # protobuf's text names Python internals ("'int' object is not iterable"): say what
            # was sent and which shapes are expected instead.
            raise invalid_argument(
                f'Invalid "version_policy": {orjson.dumps(policy).decode()}. {POLICY_SHAPES}'
            ) from None
    labels = data.get("version_labels", {})
    if not isinstance(labels, dict):
        raise invalid_argument('"version_labels" must be an object of label -> version')
    for label, version in labels.items():
        entry.version_labels[label] = parse_version(version, f"version_labels.{label}")
    return entry


def parse_version(value: object, what: str = "version") -> int:
    """An int64 version from a JSON number or a decimal string (proto JSON allows both)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise invalid_argument(f'"{what}" must be an int64 version number')
    return value


def entry_to_json(entry: Entry) -> dict[str, Any]:
    platform = entry.model_platform
    if not platform and entry.model_type == _MODEL_TYPE_TENSORFLOW:
        platform = "tensorflow"
    return {
        "name": entry.name,
        "base_path": entry.base_path,
        "platform": platform,
        "version_policy": _policy_json(entry),
        "version_labels": {k: int(entry.version_labels[k]) for k in sorted(entry.version_labels)},
    }


def _policy_json(entry: Entry) -> dict[str, Any]:
    policy = entry.model_version_policy
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return {"all": {}}
    if kind == "specific":
        return {"specific": {"versions": [int(v) for v in policy.specific.versions]}}
    num_versions = policy.latest.num_versions if kind == "latest" else 1
    return {"latest": {"num_versions": int(num_versions)}}
