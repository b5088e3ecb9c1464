"""Our re-declared protos (pyserving.protos) against the real TensorFlow / TF Serving packages.

Contract under test: same message/enum names, field numbers, names, types, labels, oneofs and
json_names as the real descriptors, hence identical wire format, JSON and `Any` type URLs;
our descriptors live in a private pool that coexists with TensorFlow's default pool.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import descriptor_pool, json_format, text_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, FileDescriptor

from pyserving import protos

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "testdata" / "tfserving"

# The real packages put their descriptors in the default pool of this very process, beside ours
# (protos.POOL): every test below also exercises that coexistence.
tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_serving.apis.predict_pb2")

# Modules existing both in the real packages and (under pyserving._protos) in ours.
_SERVING_APIS = [
    "classification",
    "get_model_metadata",
    "get_model_status",
    "inference",
    "input",
    "logging",
    "model",
    "model_management",
    "model_service",
    "predict",
    "prediction_log",
    "prediction_service",
    "regression",
    "session_service",
    "status",
]
_SERVING_CONFIG = [
    "file_system_storage_path_source",
    "log_collector_config",
    "logging_config",
    "model_server_config",
    "platform_config",
]
_TF_CORE = [
    "framework.types",
    "framework.tensor_shape",
    "framework.tensor",
    "framework.resource_handle",
    "example.example",
    "example.feature",
    "protobuf.config",
    "protobuf.error_codes",
    "protobuf.meta_graph",
    "protobuf.named_tensor",
    "protobuf.saved_model",
    "protobuf.struct",
]
MODULES = (
    [f"tensorflow_serving.apis.{m}_pb2" for m in _SERVING_APIS]
    + [f"tensorflow_serving.config.{m}_pb2" for m in _SERVING_CONFIG]
    + [f"tensorflow.core.{m}_pb2" for m in _TF_CORE]
)
# Our files that the tensorflow-serving-api wheel does not ship (checked against the reference
# and the tensorflow/serving sources instead).
OURS_ONLY_FILES = {
    "tensorflow_serving/config/monitoring_config.proto",
    "tensorflow_serving/config/ssl_config.proto",
    "tensorflow_serving/servables/tensorflow/session_bundle_config.proto",
    "tensorflow_serving/servables/tensorflow/saved_model_bundle_source_adapter.proto",
    "tensorflow_serving/servables/tensorflow/thread_pool_factory_config.proto",
    # pyserving's own API (package pyserving.admin): it has no TF Serving counterpart.
    "pyserving/admin.proto",
    # TensorFlow's profiler service ships as C++ only (field numbers checked against its
    # generated headers); of its options we declare the fields we read (the rest stay unknown
    # fields, preserved on the wire).
    "tsl/profiler/protobuf/profiler_service.proto",
    "tsl/profiler/protobuf/profiler_options.proto",
    # The Open Inference Protocol: compared with Triton's client protos in test_v2_proto.py.
    "inference/grpc_predict_v2.proto",
}
# Fields of TF-internal messages we never inspect, declared as `bytes` on purpose: a message and
# a bytes field share the length-delimited wire type, so the binary format is unchanged.
BYTES_STANDINS = {
    "tensorflow.MetaGraphDef.graph_def",
    "tensorflow.MetaGraphDef.saver_def",
    "tensorflow.MetaGraphDef.object_graph_def",
    "tensorflow.MetaGraphDef.MetaInfoDef.stripped_op_list",
    "tensorflow.GPUOptions.experimental",
    "tensorflow.GraphOptions.rewrite_options",
    "tensorflow.ConfigProto.rpc_options",
    "tensorflow.ConfigProto.cluster_def",
    "tensorflow.ConfigProto.experimental",
    "tensorflow.RunOptions.debug_options",
    "tensorflow.RunOptions.experimental",
    "tensorflow.RunMetadata.step_stats",
    "tensorflow.RunMetadata.cost_graph",
    "tensorflow.RunMetadata.partition_graphs",
    "tensorflow.RunMetadata.function_graphs",
}
# Real files of which we declare only some messages, each with its reason.
NOT_DECLARED_FILES = {
    # Minimal config.proto: only ConfigProto/RunOptions/RunMetadata and what they reference;
    # the rest (CallableOptions, BatchingOptions, nested Experimental messages...) is unused.
    "tensorflow/core/protobuf/config.proto",
}
# Real files whose package differs from ours, with the reason.
FILE_MISMATCH_OK = {
    # Real TF defines tensorflow.error.Code in xla/tsl/protobuf/error_codes.proto and re-exports it
    # from a `tensorflow.error.dummy` file of this path; we define the enum here directly.
    "tensorflow/core/protobuf/error_codes.proto",
}


def _ours(module: str) -> ModuleType:
    return importlib.import_module(f"pyserving._protos.{module}")


def _walk(messages: Any) -> Iterator[Descriptor]:
    for desc in messages:
        yield desc
        yield from _walk(desc.nested_types)


def _all_messages(fd: FileDescriptor) -> list[Descriptor]:
    return list(_walk(fd.message_types_by_name.values()))


def _all_enums(fd: FileDescriptor) -> list[EnumDescriptor]:
    enums = list(fd.enum_types_by_name.values())
    for msg in _all_messages(fd):
        enums.extend(msg.enum_types)
    return enums


def _type_of(field: FieldDescriptor) -> tuple[int, str | None]:
    if field.message_type is not None:
        return field.type, field.message_type.full_name
    if field.enum_type is not None:
        return field.type, field.enum_type.full_name
    return field.type, None


def _field_facts(field: FieldDescriptor) -> dict[str, Any]:
    return {
        "name": field.name,
        "number": field.number,
        "repeated": field.is_repeated,
        "type": _type_of(field),
        "json_name": field.json_name,
        "oneof": field.containing_oneof.name if field.containing_oneof else None,
        "presence": field.has_presence,
    }


def _real_message(full_name: str) -> Descriptor | None:
    try:
        return descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        return None


@pytest.fixture(scope="module", params=MODULES)
def pair(request: pytest.FixtureRequest) -> tuple[FileDescriptor, FileDescriptor]:
    """(our file descriptor, the real one) of one module."""
    module: str = request.param
    return _ours(module).DESCRIPTOR, importlib.import_module(module).DESCRIPTOR


def test_file_names_and_packages_match(pair: tuple[FileDescriptor, FileDescriptor]) -> None:
    ours, real = pair
    assert ours.name == real.name
    if ours.name not in FILE_MISMATCH_OK:
        assert ours.package == real.package


def test_fields_match_real_descriptors(pair: tuple[FileDescriptor, FileDescriptor]) -> None:
    ours, _ = pair
    compared = 0
    for msg in _all_messages(ours):
        real = _real_message(msg.full_name)
        assert real is not None, f"{msg.full_name} does not exist in the real package"
        assert msg.GetOptions().map_entry == real.GetOptions().map_entry, msg.full_name
        for field in msg.fields:
            real_field = real.fields_by_name.get(field.name)
            assert real_field is not None, f"{msg.full_name}.{field.name} is not a real field"
            ours_facts, real_facts = _field_facts(field), _field_facts(real_field)
            if field.full_name in BYTES_STANDINS:
                assert field.type == FieldDescriptor.TYPE_BYTES
                assert real_field.type == FieldDescriptor.TYPE_MESSAGE
                for key in ("type", "presence"):
                    ours_facts.pop(key), real_facts.pop(key)
            assert ours_facts == real_facts, field.full_name
            compared += 1
    assert compared or not ours.message_types_by_name


def test_no_real_field_or_message_missing(pair: tuple[FileDescriptor, FileDescriptor]) -> None:
    ours, real = pair
    ours_messages = {m.full_name: m for m in _all_messages(ours)}
    for real_msg in _all_messages(real):
        ours_msg = ours_messages.get(real_msg.full_name)
        if ours_msg is None:
            assert real.name in NOT_DECLARED_FILES, f"{real_msg.full_name} is not declared"
            continue
        missing = set(real_msg.fields_by_name) - set(ours_msg.fields_by_name)
        assert not missing, f"{real_msg.full_name} lacks fields {sorted(missing)}"


def test_enums_match(pair: tuple[FileDescriptor, FileDescriptor]) -> None:
    ours, _ = pair
    for enum in _all_enums(ours):
        real = descriptor_pool.Default().FindEnumTypeByName(enum.full_name)
        ours_values = {v.name: v.number for v in enum.values}
        assert ours_values == {v.name: v.number for v in real.values}, enum.full_name


def test_services_match(pair: tuple[FileDescriptor, FileDescriptor]) -> None:
    ours, real = pair
    assert set(ours.services_by_name) == set(real.services_by_name)
    for name, service in ours.services_by_name.items():
        real_service = real.services_by_name[name]
        assert service.full_name == real_service.full_name

        def signature(s: Any) -> dict[str, tuple[str, str]]:
            return {m.name: (m.input_type.full_name, m.output_type.full_name) for m in s.methods}

        assert signature(service) == signature(real_service)


def test_every_declared_message_is_checked() -> None:
    """Messages of files without a real counterpart are limited to OURS_ONLY_FILES."""
    import pkgutil

    import pyserving._protos as root

    checked = {_ours(m).DESCRIPTOR.name for m in MODULES}
    for info in pkgutil.walk_packages(root.__path__, "pyserving._protos."):
        if not info.name.endswith("_pb2") or ".google." in info.name:
            continue
        fd = importlib.import_module(info.name).DESCRIPTOR
        assert fd.pool is protos.POOL
        if fd.name not in checked:
            assert fd.name in OURS_ONLY_FILES, f"{fd.name} is compared with nothing"


# ---------------------------------------------------------------------------------------------
# Round trips through the wire format, both directions.

_SIGNATURE_DEF_MAP = {
    "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap",
    "signature_def": {
        "serving_default": {
            "inputs": {
                "x": {
                    "name": "x:0",
                    "dtype": "DT_FLOAT",
                    "tensor_shape": {"dim": [{"size": "-1"}, {"size": "1"}]},
                }
            },
            "outputs": {"y": {"name": "y:0", "dtype": "DT_FLOAT", "tensor_shape": {}}},
            "method_name": "tensorflow/serving/predict",
            "defaults": {"x": {"dtype": "DT_FLOAT", "float_val": [1.0]}},
        },
        "sparse": {
            "inputs": {
                "s": {
                    "coo_sparse": {
                        "values_tensor_name": "v:0",
                        "indices_tensor_name": "i:0",
                        "dense_shape_tensor_name": "d:0",
                    },
                    "dtype": "DT_INT64",
                    "tensor_shape": {"unknown_rank": True},
                }
            },
            "method_name": "tensorflow/serving/classify",
        },
    },
}
ROUND_TRIPS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "tensorflow_serving.apis.predict_pb2",
        "PredictRequest",
        {
            "model_spec": {"name": "m", "version": "7", "signature_name": "serving_default"},
            "inputs": {
                "x": {
                    "dtype": "DT_FLOAT",
                    "tensor_shape": {"dim": [{"size": "2"}, {"size": "1"}]},
                    "float_val": [1.5, -2.0],
                },
                "s": {"dtype": "DT_STRING", "tensor_shape": {}, "string_val": ["aGk="]},
                "raw": {"dtype": "DT_INT32", "tensor_content": "AQAAAAIAAAA="},
            },
            "output_filter": ["y"],
            "client_id": "Y2xpZW50",
            "request_options": {"deterministic_mode": "FIXED_DECODER_SLOT"},
        },
    ),
    (
        "tensorflow_serving.apis.predict_pb2",
        "PredictResponse",
        {
            "model_spec": {"name": "m", "version_label": "stable", "signature_name": "sig"},
            "outputs": {
                "y": {"dtype": "DT_INT64", "tensor_shape": {"dim": [{"size": "3"}]}},
                "z": {"dtype": "DT_DOUBLE", "double_val": [0.25], "int64_val": ["-9"]},
            },
        },
    ),
    (
        "tensorflow_serving.apis.classification_pb2",
        "ClassificationRequest",
        {
            "model_spec": {"name": "c"},
            "input": {
                "example_list_with_context": {
                    "examples": [
                        {
                            "features": {
                                "feature": {
                                    "a": {"float_list": {"value": [1.0, 2.0]}},
                                    "b": {"int64_list": {"value": ["3"]}},
                                    "c": {"bytes_list": {"value": ["eA=="]}},
                                }
                            }
                        }
                    ],
                    "context": {"features": {"feature": {"k": {"int64_list": {"value": ["1"]}}}}},
                }
            },
        },
    ),
    (
        "tensorflow_serving.apis.get_model_metadata_pb2",
        "GetModelMetadataResponse",
        {
            "model_spec": {"name": "m", "version": "123"},
            "metadata": {"signature_def": _SIGNATURE_DEF_MAP},
        },
    ),
    (
        "tensorflow_serving.config.model_server_config_pb2",
        "ModelServerConfig",
        {
            "model_config_list": {
                "config": [
                    {
                        "name": "a",
                        "base_path": "/models/a",
                        "model_platform": "tensorflow",
                        "model_version_policy": {"specific": {"versions": ["42", "43"]}},
                        "version_labels": {"stable": "42", "canary": "43"},
                    },
                    {
                        "name": "b",
                        "base_path": "/models/b",
                        "model_platform": "tensorflow",
                        "model_version_policy": {"latest": {"num_versions": 2}},
                        "logging_config": {"sampling_config": {"sampling_rate": 0.5}},
                    },
                    {"name": "c", "base_path": "/m/c", "model_version_policy": {"all": {}}},
                ]
            }
        },
    ),
    (
        "tensorflow_serving.apis.get_model_status_pb2",
        "GetModelStatusResponse",
        {
            "model_version_status": [
                {"version": "2", "state": "AVAILABLE", "status": {}},
                {
                    "version": "1",
                    "state": "END",
                    "status": {"error_code": "NOT_FOUND", "error_message": "gone"},
                },
            ]
        },
    ),
]


@pytest.mark.parametrize(("module", "name", "data"), ROUND_TRIPS, ids=[r[1] for r in ROUND_TRIPS])
def test_round_trip_with_real_messages(module: str, name: str, data: dict[str, Any]) -> None:
    ours_cls = getattr(_ours(module), name)
    real_cls = getattr(importlib.import_module(module), name)
    ours = json_format.ParseDict(data, ours_cls(), descriptor_pool=protos.POOL)
    real = json_format.ParseDict(data, real_cls())

    ours_bytes = ours.SerializeToString(deterministic=True)
    real_bytes = real.SerializeToString(deterministic=True)
    assert ours_bytes == real_bytes
    # ours -> real and real -> ours give equal messages.
    assert real_cls.FromString(ours_bytes) == real
    assert ours_cls.FromString(real_bytes) == ours
    # Same text and JSON rendering (names, enums, Any expansion).
    assert text_format.MessageToString(ours) == text_format.MessageToString(real)
    assert protos.message_to_json_dict(ours) == json_format.MessageToDict(
        real, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def test_saved_model_files_parse_like_tensorflow() -> None:
    """saved_model.pb read with our SavedModel keeps the signatures (and bytes) TF reads."""
    from tensorflow.core.protobuf import saved_model_pb2 as real_saved_model_pb2

    paths = sorted(SHARED.glob("saved_model_half_plus_*/*/saved_model.pb"))
    assert paths
    for path in paths:
        raw = path.read_bytes()
        ours = protos.saved_model_pb2.SavedModel.FromString(raw)
        real = real_saved_model_pb2.SavedModel.FromString(raw)
        assert real_saved_model_pb2.SavedModel.FromString(ours.SerializeToString()) == real
        for ours_mg, real_mg in zip(ours.meta_graphs, real.meta_graphs, strict=True):
            assert list(ours_mg.meta_info_def.tags) == list(real_mg.meta_info_def.tags)
            assert sorted(ours_mg.signature_def) == sorted(real_mg.signature_def)
            for key, sig in ours_mg.signature_def.items():
                assert sig.SerializeToString(deterministic=True) == real_mg.signature_def[
                    key
                ].SerializeToString(deterministic=True)


# ---------------------------------------------------------------------------------------------
# Private pool, JSON helper, text helper, generated code freshness.


def test_pools_coexist_with_tensorflow() -> None:
    default = descriptor_pool.Default()
    assert protos.POOL is not default
    name = "tensorflow/core/framework/tensor.proto"
    assert protos.tensor_pb2.DESCRIPTOR.pool is protos.POOL
    assert default.FindFileByName(name) is not protos.POOL.FindFileByName(name)
    assert protos.tensor_pb2.DESCRIPTOR.name == name

    real = tf.make_tensor_proto([[1.0, 2.0]], dtype=tf.float32)
    ours = protos.tensor_pb2.TensorProto.FromString(real.SerializeToString())
    assert ours.dtype == protos.types_pb2.DT_FLOAT
    assert [d.size for d in ours.tensor_shape.dim] == [1, 2]
    assert tf.make_ndarray(type(real).FromString(ours.SerializeToString())).tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize(
    "imports",
    ["import tensorflow; import pyserving.protos", "import pyserving.protos; import tensorflow"],
)
def test_import_order_does_not_matter(imports: str) -> None:
    code = (
        f"{imports}; from pyserving import protos; import tensorflow as tf; "
        "t = tf.make_tensor_proto([1, 2]); "
        "assert protos.tensor_pb2.TensorProto.FromString(t.SerializeToString()).tensor_shape.dim"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_well_known_types_belong_to_the_private_pool() -> None:
    spec = protos.model_pb2.ModelSpec(name="m", version=protos.wrappers_pb2.Int64Value(value=3))
    assert spec.version.value == 3
    response = protos.get_model_metadata_pb2.GetModelMetadataResponse()
    response.metadata["signature_def"].Pack(protos.get_model_metadata_pb2.SignatureDefMap())
    assert isinstance(response.metadata["signature_def"], protos.any_pb2.Any)
    assert response.metadata["signature_def"].Is(
        protos.get_model_metadata_pb2.SignatureDefMap.DESCRIPTOR
    )


def test_message_to_json_dict_prints_like_tf_serving() -> None:
    status = protos.get_model_status_pb2.GetModelStatusResponse()
    version = status.model_version_status.add()
    version.version = 123
    version.state = protos.get_model_status_pb2.ModelVersionStatus.AVAILABLE
    version.status.SetInParent()
    assert protos.message_to_json_dict(status) == {
        "model_version_status": [
            {
                "version": "123",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    info = protos.meta_graph_pb2.TensorInfo(name="x:0", dtype=protos.types_pb2.DT_FLOAT)
    info.tensor_shape.dim.add(size=-1)
    assert protos.message_to_json_dict(info) == {
        "name": "x:0",
        "dtype": "DT_FLOAT",
        "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False},
    }


def test_parse_text_config_files() -> None:
    config = protos.parse_text(
        (SHARED / "good_model_config.txt").read_text(),
        protos.model_server_config_pb2.ModelServerConfig(),
    )
    assert [(c.name, c.model_platform) for c in config.model_config_list.config] == [
        ("half_plus_two", "tensorflow"),
        ("half_plus_three", "tensorflow"),
    ]
    batching = protos.parse_text(
        (SHARED / "batching_config.txt").read_text(),
        protos.session_bundle_config_pb2.BatchingParameters(),
    )
    assert batching.max_batch_size.value == 128
    assert batching.HasField("batch_timeout_micros") and batching.batch_timeout_micros.value == 0
    assert batching.max_enqueued_batches.value == 1000000
    assert batching.num_batch_threads.value == 8
    assert not batching.HasField("thread_pool_name")
    monitoring = protos.parse_text(
        (SHARED / "monitoring_config.txt").read_text(),
        protos.monitoring_config_pb2.MonitoringConfig(),
    )
    assert monitoring.prometheus_config.enable
    assert monitoring.prometheus_config.path == "/monitoring/prometheus/metrics"


def test_parse_text_rejects_bad_config() -> None:
    with pytest.raises(text_format.ParseError, match=r"^1:1 : .*has no field named"):
        protos.parse_text(
            (SHARED / "bad_model_config.txt").read_text(),
            protos.model_server_config_pb2.ModelServerConfig(),
        )


def test_parse_text_platform_config_with_any() -> None:
    text = """
    platform_configs {
      key: "tensorflow"
      value {
        source_adapter_config {
          [type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig] {
            legacy_config {
              session_config { intra_op_parallelism_threads: 2 gpu_options { allow_growth: true } }
              batching_parameters { max_batch_size { value: 4 } allowed_batch_sizes: [2, 4] }
              enable_model_warmup: true
              model_warmup_options { num_request_iterations { value: 3 } }
            }
          }
        }
      }
    }
    """
    parsed = protos.parse_text(text, protos.platform_config_pb2.PlatformConfigMap())
    adapter = protos.saved_model_bundle_source_adapter_pb2.SavedModelBundleSourceAdapterConfig()
    assert parsed.platform_configs["tensorflow"].source_adapter_config.Unpack(adapter)
    legacy = adapter.legacy_config
    assert legacy.session_config.intra_op_parallelism_threads == 2
    assert list(legacy.batching_parameters.allowed_batch_sizes) == [2, 4]
    assert legacy.model_warmup_options.num_request_iterations.value == 3


def test_stubs_give_precise_types() -> None:
    """Type-checked by mypy --strict: attribute chains through generated stubs are typed."""
    request = protos.predict_pb2.PredictRequest()
    name: str = request.model_spec.name
    version: int = request.model_spec.version.value
    dims: list[int] = [d.size for d in request.inputs["x"].tensor_shape.dim]
    which: str | None = request.model_spec.WhichOneof("version_choice")
    assert (name, version, dims, which) == ("", 0, [], None)


def test_generated_code_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_reports_stale_files(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        gen = importlib.import_module("gen_protos")
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    fresh, stale = tmp_path / "fresh", tmp_path / "stale"
    for tree in (fresh, stale):
        (tree / "pkg").mkdir(parents=True)
        (tree / "pkg" / "a_pb2.py").write_text("a\n")
    (fresh / "pkg" / "b_pb2.pyi").write_text("b\n")
    (stale / "pkg" / "a_pb2.py").write_text("edited\n")
    (stale / "pkg" / "old_pb2.py").write_text("old\n")
    assert gen.stale_files(fresh, stale) == [
        "pkg/a_pb2.py (differs)",
        "pkg/b_pb2.pyi (missing)",
        "pkg/old_pb2.py (not generated by any .proto)",
    ]
    assert gen.stale_files(fresh, fresh) == []
