"""Composition root: options -> models -> lifecycle -> core service -> gRPC and REST front ends.

Startup follows TF Serving: every configured model must be AVAILABLE (or the process exits 255
with ``Failed to start server. Error: ...``) before any port opens. SIGTERM/SIGINT drain: stop
accepting, finish in-flight requests within the grace period, unload models, exit 0; a second
signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pyserving.api.rest.app import RestApp
from pyserving.api.rest.server import RestServer
from pyserving.config.models import models_from_options
from pyserving.config.options import ServerOptions
from pyserving.errors import ServingError
from pyserving.lifecycle.core import ServerCore
from pyserving.observability.logs import configure_logging
from pyserving.runtimes.base import LoadOptions
from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner

logger = logging.getLogger("pyserving.server")

STARTUP_FAILURE = 255
GRACE_SECONDS = 30


def _load_options(options: ServerOptions) -> LoadOptions:
    return LoadOptions(
        tags=tuple(t.strip() for t in options.saved_model_tags.split(",") if t.strip()),
        session_parallelism=options.tensorflow_session_parallelism,
        intra_op_parallelism=options.tensorflow_intra_op_parallelism,
        inter_op_parallelism=options.tensorflow_inter_op_parallelism,
        session_config_file=options.tensorflow_session_config_file,
    )


def _fail(error: ServingError) -> int:
    print(f"Failed to start server. Error: {error}", flush=True)
    return STARTUP_FAILURE


def build_core(options: ServerOptions) -> ServerCore:
    return ServerCore(
        load_options=_load_options(options),
        file_system_poll_wait_seconds=options.file_system_poll_wait_seconds,
        max_num_load_retries=options.max_num_load_retries,
        load_retry_interval_micros=options.load_retry_interval_micros,
        num_load_threads=options.num_load_threads,
        num_unload_threads=options.num_unload_threads,
        allow_version_labels_for_unavailable_models=(
            options.allow_version_labels_for_unavailable_models
        ),
    )


def run_server(options: ServerOptions) -> int:
    """Run until a signal; returns the process exit code."""
    configure_logging(options.log_format)
    try:
        models = models_from_options(options)
    except ServingError as error:
        return _fail(error)
    core = build_core(options)
    try:
        core.start(models)
        core.wait_until_ready()
    except ServingError as error:
        core.shutdown()
        return _fail(error)
    except KeyboardInterrupt:
        core.shutdown()
        return 130
    try:
        return _run_loop(options, core)
    finally:
        core.shutdown()


def _run_loop(options: ServerOptions, core: ServerCore) -> int:
    factory: Callable[[], asyncio.AbstractEventLoop]
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_serve(options, core))


async def _serve(options: ServerOptions, core: ServerCore) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            logger.warning("Second signal %s: exiting now", signal.Signals(signum).name)
            os._exit(1)
        logger.info("Received %s: draining requests", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    workers = max(options.rest_api_num_threads, options.grpc_max_threads, 4)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model-run")
    service = ServingService(
        core,
        ThreadRunner(executor),
        enable_signature_method_name_check=options.enable_signature_method_name_check,
    )
    grpc_server = None
    rest_server = None
    try:
        if options.port or options.grpc_socket_path:
            from pyserving.api.grpc.server import GrpcServer

            grpc_server = GrpcServer(service, core, options)
            await grpc_server.start()
        if options.rest_api_port and options.rest_api_port != options.port:
            app = RestApp(
                service,
                timeout_ms=options.rest_api_timeout_in_ms,
                enable_cors=options.rest_api_enable_cors_support,
                max_body_bytes=options.rest_api_max_body_bytes,
            )
            rest_server = RestServer(app, options.rest_api_port, graceful_seconds=GRACE_SECONDS)
            await rest_server.start()
            logger.info("Exporting HTTP/REST API at:localhost:%d ...", rest_server.port)
        elif options.rest_api_port:
            logger.error(
                "--rest_api_port=%d is the gRPC port too: not serving HTTP/REST",
                options.rest_api_port,
            )
        await stop.wait()
    except ServingError as error:
        return _fail(error)
    except OSError as error:
        print(f"Failed to start server. Error: UNAVAILABLE: {error}", flush=True)
        return STARTUP_FAILURE
    finally:
        if rest_server is not None:
            await rest_server.stop()
        if grpc_server is not None:
            await grpc_server.stop(GRACE_SECONDS)
        executor.shutdown(wait=True)
    logger.info("Server stopped")
    sys.stdout.flush()
    return 0
