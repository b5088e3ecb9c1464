"""The tensorflow_model_server flag table, parser, usage text and validation (reference §1)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from pyserving.config.flags import (
    FLAGS,
    FLAGS_BY_NAME,
    IMPLEMENTED_FLAGS,
    FlagValue,
    Kind,
    parse_flags,
    unsupported_flag_message,
    unsupported_flags_in_use,
    usage,
    validate,
)
from pyserving.config.models import models_from_options
from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError

CPUS = len(os.sched_getaffinity(0))

# Reference §1: every flag with its type and default, in TF Serving's order.
REFERENCE: list[tuple[str, Kind, FlagValue]] = [
    ("port", Kind.INT32, 8500),
    ("grpc_socket_path", Kind.STRING, ""),
    ("rest_api_port", Kind.INT32, 0),
    ("rest_api_num_threads", Kind.INT32, 4 * CPUS),
    ("rest_api_timeout_in_ms", Kind.INT32, 30000),
    ("rest_api_enable_cors_support", Kind.BOOL, False),
    ("enable_batching", Kind.BOOL, False),
    ("allow_version_labels_for_unavailable_models", Kind.BOOL, False),
    ("batching_parameters_file", Kind.STRING, ""),
    ("enable_per_model_batching_parameters", Kind.BOOL, False),
    ("model_config_file", Kind.STRING, ""),
    ("model_config_file_poll_wait_seconds", Kind.INT32, 0),
    ("model_name", Kind.STRING, "default"),
    ("model_base_path", Kind.STRING, ""),
    ("num_load_threads", Kind.INT32, 0),
    ("num_unload_threads", Kind.INT32, 0),
    ("max_num_load_retries", Kind.INT32, 5),
    ("load_retry_interval_micros", Kind.INT64, 60_000_000),
    ("file_system_poll_wait_seconds", Kind.INT32, 1),
    ("flush_filesystem_caches", Kind.BOOL, True),
    ("tensorflow_session_parallelism", Kind.INT64, 0),
    ("tensorflow_session_config_file", Kind.STRING, ""),
    ("tensorflow_intra_op_parallelism", Kind.INT64, 0),
    ("tensorflow_inter_op_parallelism", Kind.INT64, 0),
    ("use_alts_credentials", Kind.BOOL, False),
    ("ssl_config_file", Kind.STRING, ""),
    ("platform_config_file", Kind.STRING, ""),
    ("per_process_gpu_memory_fraction", Kind.FLOAT, 0.0),
    ("saved_model_tags", Kind.STRING, "serve"),
    ("grpc_channel_arguments", Kind.STRING, ""),
    ("grpc_max_threads", Kind.INT32, 4 * CPUS),
    ("enable_model_warmup", Kind.BOOL, True),
    ("num_request_iterations_for_warmup", Kind.INT32, 0),
    ("version", Kind.BOOL, False),
    ("monitoring_config_file", Kind.STRING, ""),
    ("remove_unused_fields_from_bundle_metagraph", Kind.BOOL, True),
    ("prefer_tflite_model", Kind.BOOL, False),
    ("num_tflite_pools", Kind.INT32, CPUS),
    ("num_tflite_interpreters_per_pool", Kind.INT32, 1),
    ("enable_signature_method_name_check", Kind.BOOL, False),
    ("xla_cpu_compilation_enabled", Kind.BOOL, False),
    ("xla_gpu_compilation_enabled", Kind.BOOL, False),
    ("enable_profiler", Kind.BOOL, True),
    ("thread_pool_factory_config_file", Kind.STRING, ""),
    ("mixed_precision", Kind.STRING, ""),
    ("skip_initialize_tpu", Kind.BOOL, False),
    ("enable_grpc_healthcheck_service", Kind.BOOL, False),
    ("enable_serialization_as_tensor_content", Kind.BOOL, False),
]
EXTENSIONS: list[tuple[str, Kind, FlagValue]] = [
    ("rest_api_max_body_bytes", Kind.INT64, 64 * 1024 * 1024),
    ("log_format", Kind.STRING, "text"),
    ("access_log", Kind.BOOL, False),
    ("enable_console", Kind.BOOL, False),
    ("request_log_dir", Kind.STRING, ""),
    ("request_log_max_bytes", Kind.INT64, 128 * 1024 * 1024),
    ("shutdown_grace_seconds", Kind.INT32, 30),
    ("shutdown_delay_seconds", Kind.INT32, 0),
    ("grpc_server", Kind.STRING, "zttp"),
    ("model_cache_dir", Kind.STRING, ""),
    ("onnx_intra_op_threads", Kind.INT32, 0),
    ("onnx_inter_op_threads", Kind.INT32, 0),
    ("onnx_graph_optimization_level", Kind.STRING, "all"),
    ("onnx_allow_spinning", Kind.BOOL, False),
    ("auth_tokens_file", Kind.STRING, ""),
    ("enable_admin_api", Kind.BOOL, False),
    ("model_base_path_allowlist", Kind.STRING, ""),
    ("rest_api_ssl_config_file", Kind.STRING, ""),
    ("rest_api_max_in_flight", Kind.INT32, 1000),
    ("rest_api_header_timeout_seconds", Kind.INT32, 10),
    ("rest_api_body_timeout_seconds", Kind.INT32, 30),
    ("rest_api_max_header_bytes", Kind.INT64, 64 * 1024),
    ("default_platform", Kind.STRING, ""),
    ("max_tensor_elements_per_request", Kind.INT64, 0),
    ("grpc_max_in_flight", Kind.INT32, 0),
    ("grpc_max_in_flight_per_connection", Kind.INT32, 256),
    ("rest_api_http2", Kind.BOOL, False),
]
PY_TYPES = {Kind.INT32: int, Kind.INT64: int, Kind.FLOAT: float, Kind.BOOL: bool, Kind.STRING: str}


def test_table_is_reference_then_extensions() -> None:
    assert [(f.name, f.kind, f.default) for f in FLAGS] == REFERENCE + EXTENSIONS


@pytest.mark.parametrize(("name", "kind", "default"), REFERENCE + EXTENSIONS)
def test_server_options_defaults(name: str, kind: Kind, default: FlagValue) -> None:
    value = getattr(ServerOptions(), name)
    assert value == default
    assert type(value) is PY_TYPES[kind]


def test_every_option_but_the_cli_only_ones_is_a_flag() -> None:
    fields = {f.name for f in dataclasses.fields(ServerOptions)}
    assert fields - set(FLAGS_BY_NAME) == {
        "model_config_inline",
        "batching_defaults",
        "keep_serving_on_load_failure",
        "retry_deterministic_load_errors",
        "serve_unversioned_as_v1",
        "metrics_path",
        "inline_version_policy",
        "port_flag_names",
    }
    assert ServerOptions().model_config_inline == ()
    assert ServerOptions().batching_defaults == "tensorflow"
    assert ServerOptions().default_platform == ""


def test_implemented_flags_are_known_flags() -> None:
    assert set(FLAGS_BY_NAME) >= IMPLEMENTED_FLAGS


def test_no_arguments_give_defaults() -> None:
    parsed = parse_flags([])
    assert parsed.options == ServerOptions()
    assert (parsed.unknown, parsed.errors, parsed.explicit) == ((), (), frozenset())
    assert parsed.ok and not parsed.help_requested and not parsed.version_requested


@pytest.mark.parametrize(
    ("arg", "name", "value"),
    [
        ("--port=9000", "port", 9000),
        ("--port=+9000", "port", 9000),
        ("--port= 9000 ", "port", 9000),  # absl::SimpleAtoi allows surrounding whitespace
        ("--port=-1", "port", -1),
        ("--port=2147483647", "port", 2**31 - 1),
        ("--port=-2147483648", "port", -(2**31)),
        ("--load_retry_interval_micros=2147483648", "load_retry_interval_micros", 2**31),
        ("--load_retry_interval_micros=-5", "load_retry_interval_micros", -5),
        (
            "--tensorflow_session_parallelism=9223372036854775807",
            "tensorflow_session_parallelism",
            2**63 - 1,
        ),
        ("--per_process_gpu_memory_fraction=0.5", "per_process_gpu_memory_fraction", 0.5),
        ("--per_process_gpu_memory_fraction=1e-1", "per_process_gpu_memory_fraction", 0.1),
        ("--per_process_gpu_memory_fraction=1", "per_process_gpu_memory_fraction", 1.0),
        ("--model_name=digits", "model_name", "digits"),
        ("--model_name=", "model_name", ""),
        ("--grpc_channel_arguments=a=1,b=2", "grpc_channel_arguments", "a=1,b=2"),
        ("--enable_batching", "enable_batching", True),
        ("--enable_batching=true", "enable_batching", True),
        ("--enable_batching=TRUE", "enable_batching", True),
        ("--enable_batching=True", "enable_batching", True),
        ("--enable_batching=1", "enable_batching", True),
        ("--enable_model_warmup=false", "enable_model_warmup", False),
        ("--enable_model_warmup=FALSE", "enable_model_warmup", False),
        ("--enable_model_warmup=0", "enable_model_warmup", False),
        ("--version", "version", True),
        ("--rest_api_max_body_bytes=1024", "rest_api_max_body_bytes", 1024),
        ("--log_format=json", "log_format", "json"),
        ("--access_log", "access_log", True),
        ("--enable_console", "enable_console", True),
        ("--enable_console=false", "enable_console", False),
    ],
)
def test_value_is_set(arg: str, name: str, value: FlagValue) -> None:
    parsed = parse_flags([arg])
    assert parsed.ok and not parsed.unknown
    assert getattr(parsed.options, name) == value
    assert type(getattr(parsed.options, name)) is type(value)
    assert parsed.explicit == {name}


@pytest.mark.parametrize(
    ("arg", "shown"),
    [
        ("--port=abc", "abc"),
        ("--port=", ""),
        ("--port=1.5", "1.5"),
        ("--port=1_000", "1_000"),
        ("--port=0x10", "0x10"),
        ("--port=٣", "٣"),  # a non-ASCII digit: Python's int() would take it
        ("--port=2147483648", "2147483648"),  # int32 overflow
        ("--rest_api_port=-2147483649", "-2147483649"),
        ("--load_retry_interval_micros=9223372036854775808", "9223372036854775808"),
        ("--per_process_gpu_memory_fraction=abc", "abc"),
        ("--per_process_gpu_memory_fraction=1_0", "1_0"),
        ("--enable_batching=yes", "yes"),
        ("--enable_batching=", ""),
        ("--enable_batching=2", "2"),
    ],
)
def test_bad_value_is_an_error(arg: str, shown: str) -> None:
    name = arg[2:].partition("=")[0]
    parsed = parse_flags([arg, "--model_name=x"])
    assert not parsed.ok
    assert parsed.errors == (f"Couldn't interpret value {shown} for flag {name}.",)
    assert getattr(parsed.options, name) == getattr(ServerOptions(), name)  # left unchanged
    assert parsed.explicit == {"model_name"}  # parsing went on


@pytest.mark.parametrize(
    ("argv", "unknown"),
    [
        (["--port", "9000"], ("--port", "9000")),  # a value must be attached with '='
        (["--model_name", "x"], ("--model_name", "x")),
        (["-port=9000"], ("-port=9000",)),
        (["port=9000"], ("port=9000",)),
        (["--nope=1"], ("--nope=1",)),
        (["--enable_batchingX"], ("--enable_batchingX",)),
        (["--=1"], ("--=1",)),
        (["--", "--model_name=x", "--port=1"], ("--", "--model_name=x", "--port=1")),
    ],
)
def test_unknown_arguments_are_collected(argv: list[str], unknown: tuple[str, ...]) -> None:
    parsed = parse_flags(argv)
    assert parsed.unknown == unknown
    assert parsed.ok  # unknown arguments are not fatal
    assert parsed.options == ServerOptions()


def test_last_value_wins() -> None:
    assert parse_flags(["--port=1", "--port=2"]).options.port == 2


@pytest.mark.parametrize(
    ("argv", "help_requested"),
    [
        (["--help"], True),
        (["--port=1", "--help"], True),
        (["--help", "foo"], True),
        (["foo", "--help"], False),  # TF only looks at the first leftover argument
        (["--help=1"], False),
        (["-h"], False),
    ],
)
def test_help(argv: list[str], help_requested: bool) -> None:
    parsed = parse_flags(argv)
    assert parsed.help_requested is help_requested
    assert parsed.ok is not help_requested


def test_usage_layout() -> None:
    text = usage("prog")
    lines = text.split("\n")
    assert lines[:2] == ["usage: prog", "Flags:"]
    assert lines[-1] == ""  # ends with a newline
    assert len(lines) == 2 + len(FLAGS) + 1
    assert lines[2] == (
        "\t--port=8500                      \tint32\t"
        "TCP port to listen on for gRPC/HTTP API. Disabled if port set to zero."
    )
    assert '\t--model_name="default"           \tstring\tname of model' in text
    assert "\t--enable_model_warmup=true       \tbool\t" in text
    assert "\t--per_process_gpu_memory_fraction=0.000000\tfloat\t" in text
    threads = f"--grpc_max_threads={4 * CPUS}"
    assert f"\t{threads:<33}\tint32\tMax grpc server threads to handle grpc messages.\n" in text
    assert "\t--load_retry_interval_micros=60000000\tint64\t" in text
    for flag in FLAGS:
        assert f"\t--{flag.name}=" in text
    for name, _, _ in EXTENSIONS:
        assert "(pyserving extension) " in FLAGS_BY_NAME[name].help


def test_usage_default_program_name() -> None:
    assert usage().startswith("usage: tensorflow_model_server\nFlags:\n")


VALID = ServerOptions(model_base_path="/models/m")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"port": 0},
            "At least one of server_options.grpc_port or server_options.grpc_socket_path "
            "must be set.",
        ),
        (
            {"use_alts_credentials": True, "ssl_config_file": "/ssl.conf"},
            "Either use_alts_credentials must be false or ssl_config_file must be empty.",
        ),
        (
            {"model_base_path": ""},
            "Both server_options.model_base_path and server_options.model_config_file are empty!",
        ),
        (
            {"batching_parameters_file": "/batching.conf"},
            "server_options.batching_parameters_file is set without setting "
            "server_options.enable_batching to true.",
        ),
        (
            {
                "tensorflow_session_parallelism": 1,
                "tensorflow_intra_op_parallelism": 2,
                "tensorflow_inter_op_parallelism": 3,
            },
            "Either configure server_options.tensorflow_session_parallelism or "
            "(server_options.tensorflow_intra_op_parallelism, "
            "server_options.tensorflow_inter_op_parallelism) separately. "
            "You cannot configure all.",
        ),
        (
            {"model_config_file": "/m.config", "model_config_inline": (("a", "/a"),)},
            "Inline models and --model_config_file cannot be used together.",
        ),
        ({"log_format": "xml"}, '--log_format must be "text" or "json", not "xml"'),
        ({"grpc_server": "h2"}, '--grpc_server must be "grpcio" or "zttp", not "h2"'),
        ({"rest_api_max_body_bytes": 0}, "--rest_api_max_body_bytes must be positive."),
        ({"request_log_max_bytes": 0}, "--request_log_max_bytes must be positive."),
        ({"shutdown_grace_seconds": -1}, "--shutdown_grace_seconds must not be negative."),
        ({"shutdown_delay_seconds": -1}, "--shutdown_delay_seconds must not be negative."),
        (
            {"default_platform": "pytorch"},
            '--default_platform must be "tensorflow", "onnx", "tflite" or "auto", not "pytorch"',
        ),
    ],
)
def test_validate_messages(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ServingError) as caught:
        validate(dataclasses.replace(VALID, **changes))
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert caught.value.message == message


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"port": 0, "grpc_socket_path": "/tmp/s.sock"},
        {"model_base_path": "", "model_config_file": "/m.config"},
        {"model_base_path": "", "model_config_inline": (("a", "/a"), ("b", "/b"))},
        {"batching_parameters_file": "/b.conf", "enable_batching": True},
        {"tensorflow_intra_op_parallelism": 2, "tensorflow_inter_op_parallelism": 3},
        {"tensorflow_session_parallelism": 1, "tensorflow_intra_op_parallelism": 2},
        {"use_alts_credentials": True},
        {"ssl_config_file": "/ssl.conf"},
        # TF never reads the monitoring file without an HTTP port: not an error.
        {"monitoring_config_file": "/mon.conf", "rest_api_port": 0},
        # TF builds (and checks) the session config only without a platform config file.
        {"platform_config_file": "/p.conf", "batching_parameters_file": "/b.conf"},
        {"log_format": "json"},
        {"default_platform": "auto"},
        {"default_platform": "onnx"},
    ],
)
def test_validate_accepts(changes: dict[str, Any]) -> None:
    validate(dataclasses.replace(VALID, **changes))


def test_validate_reports_tf_first_problem() -> None:
    both = dataclasses.replace(VALID, port=0, model_base_path="")
    with pytest.raises(ServingError, match="grpc_socket_path"):
        validate(both)


def test_unsupported_flags_in_use() -> None:
    parsed = parse_flags(
        [
            "--port=1",
            "--use_alts_credentials=true",  # given explicitly, not at its default: reported
            "--enable_profiler=true",  # at its default (TF's own scripts pass it): not reported
            "--model_base_path=/m",
            "--xla_cpu_compilation_enabled",
            "--monitoring_config_file=/mon.conf",  # implemented: not reported
            "--platform_config_file=/p.conf",
        ]
    )
    assert unsupported_flags_in_use(parsed) == [
        "use_alts_credentials",
        "platform_config_file",
        "xla_cpu_compilation_enabled",
    ]
    assert unsupported_flag_message("enable_batching") == (
        "--enable_batching is accepted but not supported yet by pyserving; it has no effect"
    )


def test_implemented_flags_are_the_agreed_set() -> None:
    assert {f.name for f in FLAGS if f.implemented} == IMPLEMENTED_FLAGS
    assert {"port", "model_base_path", "version", "log_format"} <= IMPLEMENTED_FLAGS
    assert {
        "enable_batching",
        "batching_parameters_file",
        "enable_per_model_batching_parameters",
    } <= IMPLEMENTED_FLAGS
    assert {
        "model_config_file_poll_wait_seconds",
        "allow_version_labels_for_unavailable_models",
        "enable_model_warmup",
        "num_request_iterations_for_warmup",
    } <= IMPLEMENTED_FLAGS
    assert "use_alts_credentials" not in IMPLEMENTED_FLAGS
    assert {
        "monitoring_config_file",
        "access_log",
        "enable_console",
        "request_log_dir",
        "request_log_max_bytes",
        "shutdown_grace_seconds",
        "shutdown_delay_seconds",
        "grpc_server",
    } <= IMPLEMENTED_FLAGS


def test_help_marks_the_flags_pyserving_ignores() -> None:
    lines = {line.split("=", 1)[0].strip(): line for line in usage().splitlines()[2:]}
    assert lines["--use_alts_credentials"].endswith("[ignored by pyserving]")
    assert "[ignored by pyserving]" not in lines["--enable_profiler"]
    assert lines["--xla_cpu_compilation_enabled"].endswith("[ignored by pyserving]")
    assert "[ignored by pyserving]" not in lines["--port"]
    assert "[ignored by pyserving]" not in lines["--model_config_file"]


@pytest.mark.parametrize(
    ("args", "platform"), [([], "tensorflow"), (["--default_platform=auto"], "auto")]
)
def test_default_platform_is_the_flag_models_platform(args: list[str], platform: str) -> None:
    parsed = parse_flags(["--model_name=m", "--model_base_path=/models/m", *args])
    (model,) = models_from_options(parsed.options)
    assert model.platform == platform
