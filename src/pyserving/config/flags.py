"""The ``tensorflow_model_server`` command line: flag table, parser, usage text, validation.

Parsing follows TF core's ``Flags::Parse`` (``tsl/util/command_line_flags.cc``) exactly, because
deployments pass these arguments verbatim and rely on its quirks:

* A flag is ``--name=value``; only bool flags may be bare (``--name`` = true). ``--port 9000``
  does not set ``--port``: both pieces are unknown arguments.
* Bool values: ``true``/``false`` in any case, or ``1``/``0``. Int values: optional sign, decimal
  digits, optional surrounding ASCII whitespace, within the flag's range (int32 or int64). Float
  values: decimal or exponent notation, ``inf``, ``nan``.
* A known flag with a bad value is an error (the value is left unchanged, parsing goes on).
* Anything else (no ``--``, unknown name, a non-bool without ``=``) is an unknown argument and is
  not fatal. ``--`` and everything after it are unknown arguments.
* Help is requested when the *first* unknown argument is ``--help`` (``foo --help`` is not help).

Defaults live in :class:`~pyserving.config.options.ServerOptions`; this table only adds each flag's
kind, TF Serving's help text and whether pyserving implements it yet (:data:`IMPLEMENTED_FLAGS`).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from typing import Any, Final

from pyserving.config.options import GRPC_SERVERS, ServerOptions
from pyserving.errors import invalid_argument
from pyserving.runtimes.registry import is_known_platform

__all__ = [
    "FLAGS",
    "FLAGS_BY_NAME",
    "IMPLEMENTED_FLAGS",
    "Flag",
    "FlagValue",
    "Kind",
    "ParsedFlags",
    "parse_flags",
    "unsupported_flag_message",
    "unsupported_flags_in_use",
    "usage",
    "validate",
]

FlagValue = int | float | bool | str

# Flags whose feature pyserving implements. Add a flag here in the change that makes it work:
# every other flag is still accepted, but the server warns that it has no effect.
IMPLEMENTED_FLAGS: Final[frozenset[str]] = frozenset(
    {
        "port",
        "grpc_socket_path",
        "rest_api_port",
        "rest_api_num_threads",
        "rest_api_timeout_in_ms",
        "rest_api_enable_cors_support",
        "model_config_file",
        "model_name",
        "model_base_path",
        "max_num_load_retries",
        "load_retry_interval_micros",
        "file_system_poll_wait_seconds",
        "tensorflow_session_parallelism",
        "tensorflow_intra_op_parallelism",
        "tensorflow_inter_op_parallelism",
        "tensorflow_session_config_file",
        "saved_model_tags",
        "version",
        "grpc_channel_arguments",
        "grpc_max_threads",
        "ssl_config_file",
        "enable_grpc_healthcheck_service",
        "enable_serialization_as_tensor_content",
        "enable_signature_method_name_check",
        "monitoring_config_file",
        "enable_batching",
        "batching_parameters_file",
        "enable_per_model_batching_parameters",
        "model_config_file_poll_wait_seconds",
        "allow_version_labels_for_unavailable_models",
        "enable_model_warmup",
        "num_request_iterations_for_warmup",
        "enable_profiler",
        "prefer_tflite_model",
        "num_tflite_pools",
        "num_tflite_interpreters_per_pool",
        # pyserving extensions
        "rest_api_max_body_bytes",
        "log_format",
        "access_log",
        "enable_console",
        "request_log_dir",
        "request_log_max_bytes",
        "shutdown_grace_seconds",
        "shutdown_delay_seconds",
        "grpc_server",
        "model_cache_dir",
        "onnx_intra_op_threads",
        "onnx_inter_op_threads",
        "onnx_graph_optimization_level",
        "onnx_allow_spinning",
        "auth_tokens_file",
        "enable_admin_api",
        "model_base_path_allowlist",
        "rest_api_ssl_config_file",
        "rest_api_max_in_flight",
        "rest_api_header_timeout_seconds",
        "rest_api_body_timeout_seconds",
        "rest_api_max_header_bytes",
        "default_platform",
        "max_tensor_elements_per_request",
        "grpc_max_in_flight",
        "grpc_max_in_flight_per_connection",
        "rest_api_http2",
    }
)


class Kind(enum.Enum):
    """A flag's value type; the value is the type name the usage text prints."""

    INT32 = "int32"
    INT64 = "int64"
    FLOAT = "float"
    BOOL = "bool"
    STRING = "string"


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    """One command-line flag; ``name`` is also the :class:`ServerOptions` attribute it sets."""

    name: str
    kind: Kind
    help: str

    @property
    def default(self) -> FlagValue:
        """The default, read from :class:`ServerOptions` (CPU-derived ones are computed now)."""
        value: FlagValue = getattr(ServerOptions(), self.name)
        return value

    @property
    def implemented(self) -> bool:
        return self.name in IMPLEMENTED_FLAGS


_I32, _I64, _F, _B, _S = Kind.INT32, Kind.INT64, Kind.FLOAT, Kind.BOOL, Kind.STRING
_EXPERIMENTAL = "EXPERIMENTAL; CAN BE REMOVED ANYTIME! "
_NO_PLATFORM = "Note that this option is ignored if --platform_config_file is non-empty."
_TFLITE_POOL = (
    _EXPERIMENTAL + "Number of TFLite interpreters in an interpreter pool of TfLiteSession. "
    "Typically there is one TfLiteSession for each TF Lite model that is loaded. If not set, "
)
_THREAD_POOL = (
    "servables. If set as 0, we don't use a thread-pool, and servable loads are performed "
    "serially in the manager's main work loop, may casue the Serving request to be delayed. "
    "Default: 0"
)
_EXTENSION = "(pyserving extension) "

# TF Serving's flags in its order (main.cc), help texts verbatim, including its missing spaces
# ("filesystemfor", "default.Note") so that `--help` output matches; then pyserving's extensions.
FLAGS: Final[tuple[Flag, ...]] = (
    Flag("port", _I32, "TCP port to listen on for gRPC/HTTP API. Disabled if port set to zero."),
    Flag(
        "grpc_socket_path",
        _S,
        "If non-empty, listen to a UNIX socket for gRPC API on the given path. "
        "Can be either relative or absolute path.",
    ),
    Flag(
        "rest_api_port",
        _I32,
        "Port to listen on for HTTP/REST API. If set to zero HTTP/REST API will not be exported. "
        "This port must be different than the one specified in --port.",
    ),
    Flag(
        "rest_api_num_threads",
        _I32,
        "Number of threads for HTTP/REST API processing. "
        "If not set, will be auto set based on number of CPUs.",
    ),
    Flag("rest_api_timeout_in_ms", _I32, "Timeout for HTTP/REST API calls."),
    Flag("rest_api_enable_cors_support", _B, "Enable CORS headers in response"),
    Flag("enable_batching", _B, "enable batching"),
    Flag(
        "allow_version_labels_for_unavailable_models",
        _B,
        "If true, allows assigning unused version labels to models that are not available yet.",
    ),
    Flag(
        "batching_parameters_file",
        _S,
        "If non-empty, read an ascii BatchingParameters protobuf from the supplied file name and "
        "use the contained values instead of the defaults.",
    ),
    Flag(
        "enable_per_model_batching_parameters",
        _B,
        "Enables model specific batching params like batch sizes, timeouts, batching feature "
        "flags to be read from `batching_params.pbtxt` file present in SavedModel dir of the "
        "model. Associated params in the global config from --batching_parameters_file are "
        "*ignored*. Only threadpool (name and size) related params are used from the global "
        "config, as this threadpool is shared across all the models that want to batch requests. "
        "This option is only applicable when --enable_batching flag is set.",
    ),
    Flag(
        "model_config_file",
        _S,
        "If non-empty, read an ascii ModelServerConfig protobuf from the supplied file name, and "
        "serve the models in that file. This config file can be used to specify multiple models "
        "to serve and other advanced parameters including non-default version policy. (If used, "
        "--model_name, --model_base_path are ignored.)",
    ),
    Flag(
        "model_config_file_poll_wait_seconds",
        _I32,
        "Interval in seconds between each poll of the filesystemfor model_config_file. If unset "
        "or set to zero, poll will be done exactly once and not periodically. Setting this to "
        "negative is reserved for testing purposes only.",
    ),
    Flag("model_name", _S, "name of model (ignored if --model_config_file flag is set)"),
    Flag(
        "model_base_path",
        _S,
        "path to export (ignored if --model_config_file flag is set, otherwise required)",
    ),
    Flag(
        "num_load_threads",
        _I32,
        "The number of threads in the thread-pool used to load " + _THREAD_POOL,
    ),
    Flag(
        "num_unload_threads",
        _I32,
        "The number of threads in the thread-pool used to unload " + _THREAD_POOL,
    ),
    Flag(
        "max_num_load_retries",
        _I32,
        "maximum number of times it retries loading a model after the first failure, before "
        "giving up. If set to 0, a load is attempted only once. Default: 5",
    ),
    Flag(
        "load_retry_interval_micros",
        _I64,
        "The interval, in microseconds, between each servable load retry. If set negative, it "
        "doesn't wait. Default: 1 minute",
    ),
    Flag(
        "file_system_poll_wait_seconds",
        _I32,
        "Interval in seconds between each poll of the filesystem for new model version. If set "
        "to zero poll will be exactly done once and not periodically. Setting this to negative "
        "value will disable polling entirely causing ModelServer to indefinitely wait for a new "
        "model at startup. Negative values are reserved for testing purposes only.",
    ),
    Flag(
        "flush_filesystem_caches",
        _B,
        "If true (the default), filesystem caches will be flushed after the initial load of all "
        "servables, and after each subsequent individual servable reload (if the number of load "
        "threads is 1). This reduces memory consumption of the model server, at the potential "
        "cost of cache misses if model files are accessed after servables are loaded.",
    ),
    Flag(
        "tensorflow_session_parallelism",
        _I64,
        "Number of threads to use for running a Tensorflow session. Auto-configured by default."
        + _NO_PLATFORM,
    ),
    Flag(
        "tensorflow_session_config_file",
        _S,
        "If non-empty, read an ascii TensorFlow Session ConfigProto protobuf from the supplied "
        "file name. Note, parts of the session config (threads, parallelism etc.) can be "
        "overridden if needed, via corresponding command line flags.",
    ),
    Flag(
        "tensorflow_intra_op_parallelism",
        _I64,
        "Number of threads to use to parallelize the executionof an individual op. "
        "Auto-configured by default." + _NO_PLATFORM,
    ),
    Flag(
        "tensorflow_inter_op_parallelism",
        _I64,
        "Controls the number of operators that can be executed simultaneously. "
        "Auto-configured by default." + _NO_PLATFORM,
    ),
    Flag("use_alts_credentials", _B, "Use Google ALTS credentials"),
    Flag(
        "ssl_config_file",
        _S,
        "If non-empty, read an ascii SSLConfig protobuf from the supplied file name and set up a "
        "secure gRPC channel",
    ),
    Flag(
        "platform_config_file",
        _S,
        "If non-empty, read an ascii PlatformConfigMap protobuf from the supplied file name, and "
        "use that platform config instead of the Tensorflow platform. (If used, --enable_batching "
        "is ignored.)",
    ),
    Flag(
        "per_process_gpu_memory_fraction",
        _F,
        "Fraction that each process occupies of the GPU memory space the value is between 0.0 "
        "and 1.0 (with 0.0 as the default) If 1.0, the server will allocate all the memory when "
        "the server starts, If 0.0, Tensorflow will automatically select a value.",
    ),
    Flag(
        "saved_model_tags",
        _S,
        "Comma-separated set of tags corresponding to the meta graph def to load from SavedModel.",
    ),
    Flag(
        "grpc_channel_arguments",
        _S,
        "A comma separated list of arguments to be passed to the grpc server. "
        "(e.g. grpc.max_connection_age_ms=2000)",
    ),
    Flag("grpc_max_threads", _I32, "Max grpc server threads to handle grpc messages."),
    Flag(
        "enable_model_warmup",
        _B,
        "Enables model warmup, which triggers lazy initializations (such as TF optimizations) at "
        "load time, to reduce first request latency.",
    ),
    Flag(
        "num_request_iterations_for_warmup",
        _I32,
        "Number of times a request is iterated during warmup replay. "
        "This value is used only if > 0.",
    ),
    Flag("version", _B, "Display version"),
    Flag(
        "monitoring_config_file",
        _S,
        "If non-empty, read an ascii MonitoringConfig protobuf from the supplied file name",
    ),
    Flag(
        "remove_unused_fields_from_bundle_metagraph",
        _B,
        "Removes unused fields from MetaGraphDef proto message to save memory.",
    ),
    Flag(
        "prefer_tflite_model",
        _B,
        _EXPERIMENTAL + "Prefer TensorFlow Lite model from `model.tflite` file in SavedModel "
        "directory, instead of the TensorFlow model from `saved_model.pb` file. If no TensorFlow "
        "Lite model found, fallback to TensorFlow model.",
    ),
    Flag("num_tflite_pools", _I32, _TFLITE_POOL + "will be auto set based on number of CPUs."),
    Flag("num_tflite_interpreters_per_pool", _I32, _TFLITE_POOL + "will be 1."),
    Flag(
        "enable_signature_method_name_check",
        _B,
        "Enable method_name check for SignatureDef. Disable this if serving native TF2 "
        "regression/classification models.",
    ),
    Flag(
        "xla_cpu_compilation_enabled",
        _B,
        _EXPERIMENTAL + "Enable XLA:CPU JIT (default is disabled). With XLA:CPU JIT disabled, "
        "models utilizing this feature will return bad Status on first compilation request.",
    ),
    Flag(
        "xla_gpu_compilation_enabled",
        _B,
        _EXPERIMENTAL + "Enable both XLA:CPU JIT and XLA:GPU JIT (default is disabled).",
    ),
    Flag("enable_profiler", _B, "Enable profiler service."),
    Flag(
        "thread_pool_factory_config_file",
        _S,
        "If non-empty, read an ascii ThreadPoolConfig protobuf from the supplied file name.",
    ),
    Flag("mixed_precision", _S, "specify mixed_precision mode"),
    Flag("skip_initialize_tpu", _B, "Whether to skip auto initializing TPU."),
    Flag(
        "enable_grpc_healthcheck_service",
        _B,
        "Enable the standard gRPC healthcheck service.",
    ),
    Flag(
        "enable_serialization_as_tensor_content",
        _B,
        "Enable serialization of predict response as tensor content.",
    ),
    Flag(
        "rest_api_max_body_bytes",
        _I64,
        _EXTENSION + "Largest accepted HTTP/REST request body, in bytes; a larger body gets "
        "HTTP 413.",
    ),
    Flag(
        "log_format",
        _S,
        _EXTENSION + 'Log line format: "text" (human readable) or "json" (one object per line).',
    ),
    Flag(
        "access_log",
        _B,
        _EXTENSION + "Log one line per HTTP/REST request and gRPC call (method, path, status, "
        "duration, model).",
    ),
    Flag(
        "enable_console",
        _B,
        _EXTENSION + "Serve the web console at / and /console/ and the handwritten-digits page at "
        "/demo/digits on the HTTP/REST port.",
    ),
    Flag(
        "request_log_dir",
        _S,
        _EXTENSION + "Directory for sampled request logs (TFRecord files of PredictionLog), "
        "written for models whose config has a logging_config. Empty: logging_config is "
        "rejected, as in TF Serving.",
    ),
    Flag(
        "request_log_max_bytes",
        _I64,
        _EXTENSION + "Size at which a request log file is closed and the next one started.",
    ),
    Flag(
        "shutdown_grace_seconds",
        _I32,
        _EXTENSION + "On SIGTERM/SIGINT, stop accepting and give in-flight requests this long "
        "to finish before unloading the models; a second signal exits at once.",
    ),
    Flag(
        "shutdown_delay_seconds",
        _I32,
        _EXTENSION + "On SIGTERM/SIGINT, first keep serving this long with readiness (/readyz, "
        "gRPC health) reporting not ready, so load balancers stop routing before the ports "
        "close.",
    ),
    Flag(
        "grpc_server",
        _S,
        _EXTENSION + 'The gRPC server stack: "zttp" (the default: pyserving\'s own HTTP/2 gRPC '
        'server on the zttp protocol library, in the REST server\'s event loop) or "grpcio" '
        "(grpc.aio).",
    ),
    Flag(
        "model_cache_dir",
        _S,
        _EXTENSION + "Directory where versions of models on object storage (s3://, gs://) are "
        "downloaded before they load; a version's copy is deleted when it is unloaded and reused "
        "on restart while the store still lists the same objects. Empty: pyserving-model-cache "
        "under the system temp dir.",
    ),
    Flag(
        "onnx_intra_op_threads",
        _I32,
        _EXTENSION + "Threads one ONNX Runtime operator may use; 0: one per core but one (the "
        "event loop keeps a core).",
    ),
    Flag(
        "onnx_inter_op_threads",
        _I32,
        _EXTENSION + "If > 0, ONNX Runtime runs independent operators in parallel on this many "
        "threads; 0 runs them one after another.",
    ),
    Flag(
        "onnx_graph_optimization_level",
        _S,
        _EXTENSION + 'ONNX Runtime graph optimizations: "disable", "basic", "extended" or "all".',
    ),
    Flag(
        "onnx_allow_spinning",
        _B,
        _EXTENSION + "ONNX Runtime intra-op threads busy-wait for work (lower latency for big "
        "graphs, at the cost of CPU other work could use).",
    ),
    Flag(
        "auth_tokens_file",
        _S,
        _EXTENSION + "JSON file of hashed bearer tokens, each with scopes (infer, read, admin, "
        "metrics); create entries with `pyserving token`. Re-read when it changes and on "
        "SIGHUP. Empty: every API is open, as in TF Serving.",
    ),
    Flag(
        "enable_admin_api",
        _B,
        _EXTENSION + "Serve the admin API (REST /v1/admin, gRPC ModelAdminService) although no "
        "--auth_tokens_file is set (anyone reaching the port may then change models). With "
        "tokens it is on, for tokens with the admin scope.",
    ),
    Flag(
        "model_base_path_allowlist",
        _S,
        _EXTENSION + "Comma-separated directories (or s3:// / gs:// prefixes) under which base "
        "paths given at run time (admin API, HandleReloadConfigRequest) must lie. Empty: the "
        "directories holding the base paths of the models configured at start-up.",
    ),
    Flag(
        "rest_api_ssl_config_file",
        _S,
        _EXTENSION + "SSLConfig text file (the format of --ssl_config_file) for HTTPS on the "
        "REST port: server_key and server_cert; custom_ca verifies client certificates and "
        "client_verify requires them (mutual TLS). May name the same file as "
        "--ssl_config_file. Empty: plain HTTP, as in TF Serving.",
    ),
    Flag(
        "rest_api_max_in_flight",
        _I32,
        _EXTENSION + "HTTP/REST requests served at once; more get HTTP 429 with Retry-After "
        "(probes are always answered).",
    ),
    Flag(
        "rest_api_header_timeout_seconds",
        _I32,
        _EXTENSION + "Seconds an HTTP/REST request's line and headers may take to arrive; a "
        "slower client is disconnected.",
    ),
    Flag(
        "rest_api_body_timeout_seconds",
        _I32,
        _EXTENSION + "Seconds an HTTP/REST request body may pause between chunks; a slower "
        "client is disconnected.",
    ),
    Flag(
        "rest_api_max_header_bytes",
        _I64,
        _EXTENSION + "Largest HTTP/REST request line plus headers, in bytes; a larger one gets "
        "HTTP 431.",
    ),
    Flag(
        "default_platform",
        _S,
        _EXTENSION + "Platform of the models configured without one (the --model_name/"
        '--model_base_path model, config entries with no model_platform): "tensorflow", "onnx", '
        '"tflite" or "auto" (the runtime whose model file each version directory holds). Empty: '
        "TF Serving's rules (the flags' model is tensorflow, a config entry needs a platform).",
    ),
    Flag(
        "max_tensor_elements_per_request",
        _I64,
        _EXTENSION + "Most elements the input tensors of one request may hold together, on "
        "every protocol (gRPC included); a larger request gets INVALID_ARGUMENT (HTTP 400) "
        "before anything is allocated for it. 0: as many as --rest_api_max_body_bytes has bytes.",
    ),
    Flag(
        "grpc_max_in_flight",
        _I32,
        _EXTENSION + "gRPC RPCs served at once, all connections together; more get "
        "RESOURCE_EXHAUSTED with grpc-retry-pushback-ms and retry-after trailers (health checks "
        "are always answered). 0: the value of --grpc_max_threads.",
    ),
    Flag(
        "grpc_max_in_flight_per_connection",
        _I32,
        _EXTENSION + "gRPC RPCs in flight on one client connection; more get "
        "RESOURCE_EXHAUSTED with a retry hint, so one client cannot take every slot.",
    ),
    Flag(
        "rest_api_http2",
        _B,
        _EXTENSION + "Serve HTTP/2 on the REST port to TLS clients that choose it by ALPN "
        "(others keep HTTP/1.1). Needs --rest_api_ssl_config_file.",
    ),
)

FLAGS_BY_NAME: Final[dict[str, Flag]] = {flag.name: flag for flag in FLAGS}


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedFlags:
    """The outcome of :func:`parse_flags`."""

    options: ServerOptions
    #: Arguments that set no flag, in order (TF prints only the first one).
    unknown: tuple[str, ...]
    #: One ``Couldn't interpret value ...`` message per known flag given a bad value.
    errors: tuple[str, ...]
    #: Names of the flags that were set on the command line.
    explicit: frozenset[str]

    @property
    def help_requested(self) -> bool:
        return bool(self.unknown) and self.unknown[0] == "--help"

    @property
    def version_requested(self) -> bool:
        return self.options.version

    @property
    def ok(self) -> bool:
        """False exactly when TF's ``Flags::Parse`` fails: print usage and exit 255."""
        return not self.errors and not self.help_requested


def parse_flags(argv: Sequence[str]) -> ParsedFlags:
    """Parse arguments (without the program name) with TF core's semantics (module docstring)."""
    # Any: each value's type is the one its flag's kind (and so its ServerOptions field) has.
    values: dict[str, Any] = {}
    unknown: list[str] = []
    errors: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            unknown.extend(argv[index:])
            break
        matched = _match(arg)
        if matched is None:
            unknown.append(arg)
            continue
        flag, text = matched
        value = True if text is None else _parse_value(flag.kind, text)
        if value is None:
            errors.append(f"Couldn't interpret value {text} for flag {flag.name}.")
        else:
            values[flag.name] = value
    return ParsedFlags(
        options=dataclasses.replace(ServerOptions(), **values),
        unknown=tuple(unknown),
        errors=tuple(errors),
        explicit=frozenset(values),
    )


def _match(arg: str) -> tuple[Flag, str | None] | None:
    """The flag ``arg`` sets and its value text (None for a bare bool), or None if unknown."""
    if not arg.startswith("--"):
        return None
    name, equals, text = arg[2:].partition("=")
    flag = FLAGS_BY_NAME.get(name)
    if flag is None:
        return None
    if not equals:
        return (flag, None) if flag.kind is Kind.BOOL else None
    return flag, text


_ASCII_SPACE: Final = " \t\n\v\f\r"
_INT: Final = re.compile(r"[+-]?[0-9]+")
_FLOAT: Final = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE
)
_INT_BITS: Final = {Kind.INT32: 32, Kind.INT64: 64}


def _parse_value(kind: Kind, text: str) -> FlagValue | None:
    """``text`` as a value of ``kind``, or None when TF would reject it."""
    if kind is Kind.STRING:
        return text
    if kind is Kind.BOOL:
        lowered = text.lower() if text.isascii() else text
        return {"true": True, "1": True, "false": False, "0": False}.get(lowered)
    # absl::SimpleAtoi / SimpleAtof: surrounding ASCII whitespace is allowed, nothing else is.
    # The regexes also keep out what Python's int()/float() would wrongly accept ("1_000",
    # non-ASCII digits).
    stripped = text.strip(_ASCII_SPACE)
    if kind is Kind.FLOAT:
        return float(stripped) if _FLOAT.fullmatch(stripped) else None
    if not _INT.fullmatch(stripped):
        return None
    number = int(stripped)
    limit = 1 << (_INT_BITS[kind] - 1)
    return number if -limit <= number < limit else None


def _display(flag: Flag) -> str:
    """The default as TF's usage prints it: bools as true/false, strings quoted, floats %f."""
    value = flag.default
    if flag.kind is Kind.BOOL:
        return "true" if value else "false"
    if flag.kind is Kind.STRING:
        return f'"{value}"'
    if flag.kind is Kind.FLOAT:
        return f"{value:f}"
    return str(value)


def usage(program: str = "tensorflow_model_server") -> str:
    """TF's ``Flags::Usage`` text: a header, then one tab-separated line per flag."""
    lines = [f"usage: {program}", "Flags:"]
    for flag in FLAGS:
        shown = f"--{flag.name}={_display(flag)}"
        note = "" if flag.implemented else f" {IGNORED_NOTE}"
        lines.append(f"\t{shown:<33}\t{flag.kind.value}\t{flag.help}{note}")
    return "\n".join(lines) + "\n"


def validate(options: ServerOptions) -> None:
    """Raise TF Serving's INVALID_ARGUMENT for inconsistent flags (``Server::BuildAndStart``).

    Checks run in TF's order so the first problem reported is TF's. TF reads the model config
    file between the third and fourth check; reading files is the server's job, not this one's.
    ``--monitoring_config_file`` without ``--rest_api_port`` is not an error in TF (the file is
    never read), so it is not one here either.
    """
    if options.port == 0 and not options.grpc_socket_path:
        raise invalid_argument(
            "At least one of server_options.grpc_port or server_options.grpc_socket_path "
            "must be set."
        )
    if options.use_alts_credentials and options.ssl_config_file:
        raise invalid_argument(
            "Either use_alts_credentials must be false or ssl_config_file must be empty."
        )
    if not (options.model_base_path or options.model_config_file or options.model_config_inline):
        raise invalid_argument(
            "Both server_options.model_base_path and server_options.model_config_file are empty!"
        )
    # TF only builds (and so only checks) the session config when no platform config file
    # replaces it.
    if not options.platform_config_file:
        if options.batching_parameters_file and not options.enable_batching:
            raise invalid_argument(
                "server_options.batching_parameters_file is set without setting "
                "server_options.enable_batching to true."
            )
        if (
            options.tensorflow_intra_op_parallelism > 0
            and options.tensorflow_inter_op_parallelism > 0
            and options.tensorflow_session_parallelism > 0
        ):
            raise invalid_argument(
                "Either configure server_options.tensorflow_session_parallelism or "
                "(server_options.tensorflow_intra_op_parallelism, "
                "server_options.tensorflow_inter_op_parallelism) separately. "
                "You cannot configure all."
            )
    _validate_extensions(options)


def _validate_extensions(options: ServerOptions) -> None:
    """pyserving's own options (messages are pyserving's: TF has no such options)."""
    if options.model_config_inline and options.model_config_file:
        raise invalid_argument("Inline models and --model_config_file cannot be used together.")
    if options.log_format not in ("text", "json"):
        raise invalid_argument(f'--log_format must be "text" or "json", not "{options.log_format}"')
    if options.grpc_server not in GRPC_SERVERS:
        choices = " or ".join(f'"{name}"' for name in GRPC_SERVERS)
        raise invalid_argument(f'--grpc_server must be {choices}, not "{options.grpc_server}"')
    if options.rest_api_max_body_bytes <= 0:
        raise invalid_argument("--rest_api_max_body_bytes must be positive.")
    for name in (
        "rest_api_max_in_flight",
        "rest_api_header_timeout_seconds",
        "rest_api_body_timeout_seconds",
        "rest_api_max_header_bytes",
        "grpc_max_in_flight_per_connection",
    ):
        if getattr(options, name) <= 0:
            raise invalid_argument(f"--{name} must be positive.")
    if options.rest_api_http2 and not options.rest_api_ssl_config_file:
        raise invalid_argument(
            "--rest_api_http2 needs --rest_api_ssl_config_file: HTTP/2 is offered over TLS only."
        )
    if options.grpc_max_in_flight < 0:
        raise invalid_argument("--grpc_max_in_flight must not be negative.")
    if options.max_tensor_elements_per_request < 0:
        raise invalid_argument("--max_tensor_elements_per_request must not be negative.")
    if options.request_log_max_bytes <= 0:
        raise invalid_argument("--request_log_max_bytes must be positive.")
    if options.shutdown_grace_seconds < 0:
        raise invalid_argument("--shutdown_grace_seconds must not be negative.")
    if options.shutdown_delay_seconds < 0:
        raise invalid_argument("--shutdown_delay_seconds must not be negative.")
    if options.onnx_intra_op_threads < 0 or options.onnx_inter_op_threads < 0:
        raise invalid_argument("--onnx_intra_op_threads and --onnx_inter_op_threads must be >= 0.")
    if options.default_platform and not is_known_platform(options.default_platform):
        raise invalid_argument(
            '--default_platform must be "tensorflow", "onnx", "tflite" or "auto", '
            f'not "{options.default_platform}"'
        )
    levels = ("disable", "basic", "extended", "all")
    if options.onnx_graph_optimization_level not in levels:
        raise invalid_argument(
            f"--onnx_graph_optimization_level must be one of {', '.join(levels)}, "
            f'not "{options.onnx_graph_optimization_level}"'
        )


#: Appended to the ``--help`` line of each flag pyserving accepts but does not act on.
IGNORED_NOTE: Final = "[ignored by pyserving]"


def unsupported_flags_in_use(parsed: ParsedFlags) -> list[str]:
    """Names of flags set on the command line, to a value other than their default, whose
    feature pyserving lacks (table order). ``--enable_profiler=true`` (the default) is not."""
    defaults = ServerOptions()
    return [
        f.name
        for f in FLAGS
        if f.name in parsed.explicit
        and not f.implemented
        and getattr(parsed.options, f.name) != getattr(defaults, f.name)
    ]


def unsupported_flag_message(name: str) -> str:
    """The warning logged for each flag of :func:`unsupported_flags_in_use`."""
    return f"--{name} is accepted but not supported yet by pyserving; it has no effect"
