"""The single import point for pyserving's protobuf messages (generated into ``pyserving._protos``).

Modules keep TF Serving's names: ``predict_pb2.PredictRequest``, ``tensor_pb2.TensorProto``...
All messages live in the private descriptor pool ``POOL`` (TensorFlow owns the default pool's
``tensorflow/...`` files). Consequences for callers:

* build ``Any`` and wrapper fields (``ModelSpec.version``...) with the ``any_pb2``/``wrappers_pb2``
  re-exported here, not with ``google.protobuf.any_pb2``: classes of the default pool are rejected
  by constructors and ``CopyFrom`` (``Any.Pack``/``Unpack`` accept any message);
* messages of the real ``tensorflow``/``tensorflow_serving`` packages are different classes with
  the same wire format: convert with ``SerializeToString``/``ParseFromString``;
* JSON and text format must resolve types (``Any``) in ``POOL``: use the helpers below.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf import json_format, text_format
from google.protobuf.message import Message

from pyserving._protos._pool import POOL as POOL
from pyserving._protos.google.protobuf import any_pb2 as any_pb2
from pyserving._protos.google.protobuf import wrappers_pb2 as wrappers_pb2
from pyserving._protos.inference import grpc_predict_v2_pb2 as grpc_predict_v2_pb2
from pyserving._protos.inference import grpc_predict_v2_pb2_grpc as grpc_predict_v2_pb2_grpc
from pyserving._protos.pyserving import admin_pb2 as admin_pb2
from pyserving._protos.pyserving import admin_pb2_grpc as admin_pb2_grpc
from pyserving._protos.tensorflow.core.example import example_pb2 as example_pb2
from pyserving._protos.tensorflow.core.example import feature_pb2 as feature_pb2
from pyserving._protos.tensorflow.core.framework import resource_handle_pb2 as resource_handle_pb2
from pyserving._protos.tensorflow.core.framework import tensor_pb2 as tensor_pb2
from pyserving._protos.tensorflow.core.framework import tensor_shape_pb2 as tensor_shape_pb2
from pyserving._protos.tensorflow.core.framework import types_pb2 as types_pb2
from pyserving._protos.tensorflow.core.protobuf import config_pb2 as config_pb2
from pyserving._protos.tensorflow.core.protobuf import error_codes_pb2 as error_codes_pb2
from pyserving._protos.tensorflow.core.protobuf import meta_graph_pb2 as meta_graph_pb2
from pyserving._protos.tensorflow.core.protobuf import named_tensor_pb2 as named_tensor_pb2
from pyserving._protos.tensorflow.core.protobuf import saved_model_pb2 as saved_model_pb2
from pyserving._protos.tensorflow.core.protobuf import struct_pb2 as struct_pb2
from pyserving._protos.tensorflow_serving.apis import classification_pb2 as classification_pb2
from pyserving._protos.tensorflow_serving.apis import (
    get_model_metadata_pb2 as get_model_metadata_pb2,
)
from pyserving._protos.tensorflow_serving.apis import get_model_status_pb2 as get_model_status_pb2
from pyserving._protos.tensorflow_serving.apis import inference_pb2 as inference_pb2
from pyserving._protos.tensorflow_serving.apis import input_pb2 as input_pb2
from pyserving._protos.tensorflow_serving.apis import logging_pb2 as logging_pb2
from pyserving._protos.tensorflow_serving.apis import model_management_pb2 as model_management_pb2
from pyserving._protos.tensorflow_serving.apis import model_pb2 as model_pb2
from pyserving._protos.tensorflow_serving.apis import model_service_pb2 as model_service_pb2
from pyserving._protos.tensorflow_serving.apis import (
    model_service_pb2_grpc as model_service_pb2_grpc,
)
from pyserving._protos.tensorflow_serving.apis import predict_pb2 as predict_pb2
from pyserving._protos.tensorflow_serving.apis import prediction_log_pb2 as prediction_log_pb2
from pyserving._protos.tensorflow_serving.apis import (
    prediction_service_pb2 as prediction_service_pb2,
)
from pyserving._protos.tensorflow_serving.apis import (
    prediction_service_pb2_grpc as prediction_service_pb2_grpc,
)
from pyserving._protos.tensorflow_serving.apis import regression_pb2 as regression_pb2
from pyserving._protos.tensorflow_serving.apis import session_service_pb2 as session_service_pb2
from pyserving._protos.tensorflow_serving.apis import status_pb2 as status_pb2
from pyserving._protos.tensorflow_serving.config import (
    file_system_storage_path_source_pb2 as file_system_storage_path_source_pb2,
)
from pyserving._protos.tensorflow_serving.config import (
    log_collector_config_pb2 as log_collector_config_pb2,
)
from pyserving._protos.tensorflow_serving.config import logging_config_pb2 as logging_config_pb2
from pyserving._protos.tensorflow_serving.config import (
    model_server_config_pb2 as model_server_config_pb2,
)
from pyserving._protos.tensorflow_serving.config import (
    monitoring_config_pb2 as monitoring_config_pb2,
)
from pyserving._protos.tensorflow_serving.config import platform_config_pb2 as platform_config_pb2
from pyserving._protos.tensorflow_serving.config import ssl_config_pb2 as ssl_config_pb2
from pyserving._protos.tensorflow_serving.servables.tensorflow import (
    saved_model_bundle_source_adapter_pb2 as saved_model_bundle_source_adapter_pb2,
)
from pyserving._protos.tensorflow_serving.servables.tensorflow import (
    session_bundle_config_pb2 as session_bundle_config_pb2,
)
from pyserving._protos.tensorflow_serving.servables.tensorflow import (
    thread_pool_factory_config_pb2 as thread_pool_factory_config_pb2,
)
from pyserving._protos.tsl.profiler.protobuf import profiler_options_pb2 as profiler_options_pb2
from pyserving._protos.tsl.profiler.protobuf import profiler_service_pb2 as profiler_service_pb2
from pyserving._protos.tsl.profiler.protobuf import (
    profiler_service_pb2_grpc as profiler_service_pb2_grpc,
)

_M = TypeVar("_M", bound=Message)


def message_to_json_dict(msg: Message) -> dict[str, Any]:
    """``msg`` as TF Serving's REST layer prints protos (model status and metadata responses).

    Field names stay snake_case; fields without presence are printed even when default (e.g.
    ``"error_code": "OK"``, ``"version_labels": {}``); enums print by name; 64-bit integers print
    as strings (proto3 JSON mapping); ``Any`` is expanded with its ``@type``.
    """
    return json_format.MessageToDict(
        msg,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        descriptor_pool=POOL,
    )


def parse_text(text: str, message: _M) -> _M:
    """Parse protobuf text format into ``message`` and return it.

    ``message`` should be fresh: like ``text_format.Parse`` this appends to repeated fields already
    set and rejects singular fields set twice. Raises ``google.protobuf.text_format.ParseError``
    (str: ``<line>:<column> : <reason>``) on malformed input or unknown fields.
    """
    return text_format.Parse(text, message, descriptor_pool=POOL)
