"""Server options: one attribute per ``tensorflow_model_server`` flag, plus pyserving's own.

Each TensorFlow Serving attribute is named exactly like its flag and has TF Serving's type and
default (``model_servers/server.h`` ``Server::Options`` and ``main.cc``), so a flag table can map
``--name=value`` onto ``dataclasses.replace(options, name=value)`` with no renaming. This class is
the single source of the defaults: the flag table and the usage text read them from here.

Attributes are declared in TF Serving's flag order (the order ``--help`` lists them in).
"""

from __future__ import annotations

import dataclasses
import os

__all__ = ["GRPC_SERVERS", "ServerOptions", "schedulable_cpus"]


#: The selectable gRPC server stacks (``--grpc_server``); see ``pyserving.api.grpc.transport``.
GRPC_SERVERS: tuple[str, ...] = ("grpcio", "zttp")


def schedulable_cpus() -> int:
    """CPUs this process may run on (TF's ``port::NumSchedulableCPUs``: the affinity mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API outside Linux: fall back to all CPUs
        return os.cpu_count() or 1


def _four_per_cpu() -> int:
    return 4 * schedulable_cpus()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServerOptions:
    """Everything ``tensorflow_model_server`` and ``pyserving serve`` configure (immutable)."""

    # gRPC / HTTP endpoints.
    port: int = 8500
    grpc_socket_path: str = ""
    rest_api_port: int = 0
    rest_api_num_threads: int = dataclasses.field(default_factory=_four_per_cpu)
    rest_api_timeout_in_ms: int = 30000
    rest_api_enable_cors_support: bool = False
    # Batching and labels.
    enable_batching: bool = False
    allow_version_labels_for_unavailable_models: bool = False
    batching_parameters_file: str = ""
    enable_per_model_batching_parameters: bool = False
    # Which models, and how they are (re)loaded.
    model_config_file: str = ""
    model_config_file_poll_wait_seconds: int = 0
    model_name: str = "default"
    model_base_path: str = ""
    num_load_threads: int = 0
    num_unload_threads: int = 0
    max_num_load_retries: int = 5
    load_retry_interval_micros: int = 60 * 1000 * 1000
    file_system_poll_wait_seconds: int = 1
    flush_filesystem_caches: bool = True
    # TensorFlow sessions.
    tensorflow_session_parallelism: int = 0
    tensorflow_session_config_file: str = ""
    tensorflow_intra_op_parallelism: int = 0
    tensorflow_inter_op_parallelism: int = 0
    # Credentials and platform.
    use_alts_credentials: bool = False
    ssl_config_file: str = ""
    platform_config_file: str = ""
    per_process_gpu_memory_fraction: float = 0.0
    saved_model_tags: str = "serve"
    grpc_channel_arguments: str = ""
    grpc_max_threads: int = dataclasses.field(default_factory=_four_per_cpu)
    # Warmup, version, monitoring, TFLite, misc.
    enable_model_warmup: bool = True
    num_request_iterations_for_warmup: int = 0
    version: bool = False
    monitoring_config_file: str = ""
    remove_unused_fields_from_bundle_metagraph: bool = True
    prefer_tflite_model: bool = False
    num_tflite_pools: int = dataclasses.field(default_factory=schedulable_cpus)
    num_tflite_interpreters_per_pool: int = 1
    enable_signature_method_name_check: bool = False
    xla_cpu_compilation_enabled: bool = False
    xla_gpu_compilation_enabled: bool = False
    enable_profiler: bool = True
    thread_pool_factory_config_file: str = ""
    mixed_precision: str = ""
    skip_initialize_tpu: bool = False
    enable_grpc_healthcheck_service: bool = False
    enable_serialization_as_tensor_content: bool = False

    # pyserving extensions (also flags: see ``pyserving.config.flags``).
    #: Largest accepted HTTP request body; bigger bodies get HTTP 413.
    rest_api_max_body_bytes: int = 64 * 1024 * 1024
    #: "text" (human log lines) or "json" (one JSON object per line).
    log_format: str = "text"
    #: Log one line per HTTP request and RPC.
    access_log: bool = False
    #: Serve the web console and the digits page on the REST port (``pyserving serve``: on).
    enable_console: bool = False
    #: Directory of the sampled request logs (models with a ``logging_config``); "" = none.
    request_log_dir: str = ""
    #: Size at which a request log file is closed and the next one started.
    request_log_max_bytes: int = 128 * 1024 * 1024
    #: On SIGTERM/SIGINT, how long in-flight requests may take to finish.
    shutdown_grace_seconds: int = 30
    #: On SIGTERM/SIGINT, how long to keep serving, unready, before the ports close.
    shutdown_delay_seconds: int = 0
    #: The gRPC server stack (one of :data:`GRPC_SERVERS`).
    grpc_server: str = "zttp"
    #: Local copies of versions on object storage; "" = pyserving-model-cache in the temp dir.
    model_cache_dir: str = ""
    #: ONNX Runtime sessions (see pyserving.runtimes.onnx.options).
    onnx_intra_op_threads: int = 0
    onnx_inter_op_threads: int = 0
    onnx_graph_optimization_level: str = "all"
    onnx_allow_spinning: bool = False
    #: JSON file of hashed bearer tokens with scopes (see pyserving.security.tokens); "" = open.
    auth_tokens_file: str = ""
    #: Serve the admin API (REST /v1/admin, gRPC ModelAdminService) without tokens configured.
    enable_admin_api: bool = False
    #: Comma-separated roots that base paths given at run time (admin API, reloads) must lie
    #: under; "" = the directories holding the start-up models' base paths.
    model_base_path_allowlist: str = ""
    #: SSLConfig text file (as --ssl_config_file) for HTTPS on the REST port; "" = plain HTTP.
    rest_api_ssl_config_file: str = ""
    #: Offer HTTP/2 by ALPN on the REST port's TLS (needs rest_api_ssl_config_file).
    rest_api_http2: bool = False
    #: REST requests served at once; beyond: 429 with Retry-After (probes are never refused).
    rest_api_max_in_flight: int = 1000
    #: Seconds a REST request's line and headers may take to arrive (from its first byte).
    rest_api_header_timeout_seconds: int = 10
    #: Seconds a REST request body may pause between chunks.
    rest_api_body_timeout_seconds: int = 30
    #: Largest REST request line plus headers, in bytes; larger: 431.
    rest_api_max_header_bytes: int = 64 * 1024
    #: Elements of a request's input tensors together, every protocol; beyond: INVALID_ARGUMENT.
    #: 0 = as many as --rest_api_max_body_bytes has bytes.
    max_tensor_elements_per_request: int = 0
    #: gRPC RPCs served at once (all connections); beyond: RESOURCE_EXHAUSTED with a retry hint.
    #: 0 = grpc_max_threads (TF Serving's cap on RPCs at once).
    grpc_max_in_flight: int = 0
    #: gRPC RPCs in flight on one client connection; beyond: RESOURCE_EXHAUSTED.
    grpc_max_in_flight_per_connection: int = 256

    # pyserving only, not a flag: (model name, absolute base path) pairs given to
    # ``pyserving serve`` with several paths. When non-empty it replaces model_name /
    # model_base_path and the server builds a ModelServerConfig from it (nothing is written to
    # disk); it is mutually exclusive with model_config_file.
    model_config_inline: tuple[tuple[str, str], ...] = ()
    # pyserving only, not a flag: the batching parameters used when batching is on without a
    # --batching_parameters_file: "tensorflow" (TF Serving's defaults) or "serve" (the adaptive
    # defaults ``pyserving serve`` uses; see pyserving.batching.params.serve_defaults).
    batching_defaults: str = "tensorflow"
    # pyserving only, not flags: how ``pyserving serve`` differs from TF Serving at startup.
    #: Serve the models that load when others cannot (True), instead of exiting 255 (TF Serving).
    keep_serving_on_load_failure: bool = False
    #: Retry load errors that the same files give again (missing SavedModel, unsupported
    #: format...) per --max_num_load_retries (True, TF Serving), or report them at once.
    retry_deterministic_load_errors: bool = True
    #: A base path that is itself a SavedModel (no numbered version directory) is version 1.
    serve_unversioned_as_v1: bool = False
    #: Serve Prometheus metrics at this REST path without a --monitoring_config_file ("" = no).
    metrics_path: str = ""
    #: The version policy of the models given inline (``pyserving serve PATH``):
    #: "latest:N", "all" or "specific:1,2"; "" = TF Serving's default (latest 1).
    inline_version_policy: str = ""
    #: The command-line names of the gRPC and REST port settings, for error messages.
    port_flag_names: tuple[str, str] = ("--port", "--rest_api_port")
    # --default_platform (a pyserving flag): the platform of models configured without one
    # (single-model flags, config entries with neither model_platform nor model_type). "" keeps
    # TF Serving's rules (flags mean "tensorflow", a config entry without one is an error);
    # ``pyserving serve`` and the `onnx` container image set "auto" (detected per version).
    default_platform: str = ""
