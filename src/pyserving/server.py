"""Composition root: options -> models -> lifecycle -> core service -> gRPC and REST front ends.

Startup follows TF Serving: every configured model must be AVAILABLE (or the process exits 255
with ``Failed to start server. Error: ...``) before any port opens; the ports are checked (and
REST's reserved) before any model loads, so a port in use fails at once.
``keep_serving_on_load_failure`` (``pyserving serve``) serves the models that load and reports
the others instead of exiting. SIGTERM/SIGINT drain: stop
accepting, finish in-flight requests within the grace period, unload models, exit 0; a second
signal exits at once. Readiness (``/readyz``, gRPC health) turns unready before the ports close.
Metrics, probes, logs and request logs are wired by :class:`pyserving.operations.Operations`.

The REST port serves TF Serving's ``/v1`` API by hand and every other route on one router
(:mod:`pyserving.api.rest.router`). A feature adds REST routes by exposing a function that returns
``list[starlette.routing.BaseRoute]`` and listing it in :func:`rest_routes` (in order: the first
match wins). A feature adds a gRPC service by a ``register(server)`` callable in the
``extra_services`` given to :class:`~pyserving.api.grpc.server.GrpcServer`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pyserving.api.rest.admin import admin_off_routes, admin_routes
from pyserving.api.rest.app import RestApp
from pyserving.api.rest.auth import AuthMiddleware
from pyserving.api.rest.hot import HotLane, with_gates
from pyserving.api.rest.hot_protocol import hot_lane_protocol
from pyserving.api.rest.limits import InFlightLimit
from pyserving.api.rest.openapi import openapi_routes
from pyserving.api.rest.router import BaseRoute, Middleware
from pyserving.api.rest.server import RestServer
from pyserving.api.v2.rest import V2Rest
from pyserving.batching import BatchingRunner, BatchingSetup, MetricsObserver, batching_setup
from pyserving.codec.element_limit import set_max_elements
from pyserving.config.models import config_from_options
from pyserving.config.options import ServerOptions
from pyserving.console import MetricsWindow, console_routes
from pyserving.errors import ServingError
from pyserving.lifecycle.core import ServerCore
from pyserving.lifecycle.manager import PostLoadHook, chain_post_load
from pyserving.management.controller import ConfigController
from pyserving.management.poller import start_config_poller
from pyserving.management.repository import ModelRepository
from pyserving.net.ports import probe_port, reserve_rest_port
from pyserving.observability.logs import configure_logging
from pyserving.observability.request_log import settings as request_log_settings
from pyserving.operations import Operations
from pyserving.runtimes.base import Runtime
from pyserving.runtimes.registry import get_runtime, load_options
from pyserving.security.policy import AccessPolicy
from pyserving.security.setup import (
    access_policy,
    admin_api_enabled,
    base_path_allowlist,
    console_permissions,
)
from pyserving.service.execution import ModelRunner, ThreadRunner
from pyserving.warmup import warmup_hook

if TYPE_CHECKING:
    from pyserving.api.grpc.server import GrpcServer

logger = logging.getLogger("pyserving.server")

STARTUP_FAILURE = 255


def _fail(error: ServingError) -> int:
    print(f"Failed to start server. Error: {error}", flush=True)
    return STARTUP_FAILURE


def build_core(
    options: ServerOptions,
    post_load: PostLoadHook | None = None,
    runtime_for: Callable[[str], Runtime] = get_runtime,
) -> ServerCore:
    return ServerCore(
        runtime_for=runtime_for,
        # Warmup last: it replays requests once every other set-up of the version is done.
        post_load=chain_post_load(post_load, _warmup(options)),
        load_options=load_options(options),
        file_system_poll_wait_seconds=options.file_system_poll_wait_seconds,
        max_num_load_retries=options.max_num_load_retries,
        load_retry_interval_micros=options.load_retry_interval_micros,
        num_load_threads=options.num_load_threads,
        num_unload_threads=options.num_unload_threads,
        model_cache_dir=options.model_cache_dir,
        allow_version_labels_for_unavailable_models=(
            options.allow_version_labels_for_unavailable_models
        ),
        retry_deterministic_load_errors=options.retry_deterministic_load_errors,
        unversioned_as_v1=options.serve_unversioned_as_v1,
    )


def reserve_ports(options: ServerOptions) -> socket.socket | None:
    """Check the gRPC port and bind the REST one (returned; None without REST) before any model
    loads, so a port in use fails the start at once, naming it (ServingError)."""
    grpc_flag, rest_flag = options.port_flag_names
    if options.port:
        probe_port(options.port, grpc_flag)
    if options.rest_api_port and options.rest_api_port != options.port:
        return reserve_rest_port(options.rest_api_port, rest_flag)
    return None


def rest_routes(
    ops: Operations,
    controller: ConfigController,
    v2: V2Rest,
    console: Sequence[BaseRoute] = (),
    *,
    admin: bool = True,
) -> list[BaseRoute]:
    """Every REST route beside ``/v1/models``: what each feature contributes, in order (the
    inference routes first: every route tried before the matching one costs each request).
    ``console``: the console's routes when it is enabled (they need the running service);
    ``admin``: the admin API, else ``/v1/admin`` answers how to turn it on."""
    return [
        *v2.routes(),  # the Open Inference Protocol: /v2
        *ops.rest_routes(),  # the Prometheus page, the probes
        *openapi_routes(),  # /openapi.json
        *(admin_routes(controller) if admin else admin_off_routes()),  # /v1/admin/
        *console,  # /, /console/, /demo/digits
    ]


def _warmup(options: ServerOptions) -> PostLoadHook | None:
    return warmup_hook(options.enable_model_warmup, options.num_request_iterations_for_warmup)


def run_server(options: ServerOptions) -> int:
    """Run until a signal; returns the process exit code."""
    configure_logging(options.log_format)
    cap = options.max_tensor_elements_per_request or options.rest_api_max_body_bytes
    set_max_elements(cap)
    try:
        ops = Operations(options)
        config = config_from_options(options)
        batching = batching_setup(options)
        policy = access_policy(options)
        allowlist = base_path_allowlist(options, config)
    except ServingError as error:
        return _fail(error)
    try:
        # The ports first: one in use fails now, not after every model has loaded.
        rest_socket = reserve_ports(options)
    except ServingError as error:
        return _fail(error)
    core = build_core(
        options,
        batching.policy.post_load if batching is not None else None,
        runtime_for=ops.runtime_for(),
    )
    ops.attach(core)
    try:
        controller = ConfigController(
            core,
            config_file=options.model_config_file,
            on_served=request_log_settings.publish,
            default_platform=options.default_platform,
            allowlist=allowlist,
        )
        controller.start(config)
        if options.keep_serving_on_load_failure:
            for name, failure in core.wait_until_some_ready().items():
                logger.error(
                    "Model %s could not be loaded; serving the other models without it: %s",
                    name,
                    failure,
                )
        else:
            core.wait_until_ready()
    except ServingError as error:
        core.shutdown()
        if rest_socket is not None:
            rest_socket.close()
        return _fail(error)
    except KeyboardInterrupt:
        core.shutdown()
        return 130
    poller = start_config_poller(controller, options.model_config_file_poll_wait_seconds)
    # Everything alive now (TensorFlow, the models) lives as long as the process: take it out of
    # the cyclic GC's sight, or every full collection scans it all (130-160 ms pauses measured
    # under load: the p99 latency).
    gc.collect()
    gc.freeze()
    try:
        return _run_loop(options, core, batching, controller, ops, rest_socket, policy)
    finally:
        _exit_on_next_signal()  # the event loop's handlers are gone; models may take a while
        if poller is not None:
            poller.stop()
        ops.close()
        core.shutdown()


def _exit_on_next_signal() -> None:
    def force_exit(signum: int, frame: object) -> None:
        logger.warning("Second signal %s: exiting now", signal.Signals(signum).name)
        os._exit(1)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, force_exit)


def _run_loop(
    options: ServerOptions,
    core: ServerCore,
    batching: BatchingSetup | None,
    controller: ConfigController,
    ops: Operations,
    rest_socket: socket.socket | None,
    policy: AccessPolicy,
) -> int:
    factory: Callable[[], asyncio.AbstractEventLoop]
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_serve(options, core, batching, controller, ops, rest_socket, policy))


async def _serve(
    options: ServerOptions,
    core: ServerCore,
    batching: BatchingSetup | None,
    controller: ConfigController,
    ops: Operations,
    rest_socket: socket.socket | None,
    policy: AccessPolicy,
) -> int:
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
    if policy.enabled:
        loop.add_signal_handler(signal.SIGHUP, policy.reload)
    admin = admin_api_enabled(options)

    workers = max(options.rest_api_num_threads, options.grpc_max_threads, 4)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model-run")
    runner: ModelRunner = ThreadRunner(executor)
    batching_runner = None
    if batching is not None:
        runner = batching_runner = BatchingRunner(
            batching.policy,
            runner,
            num_batch_threads=batching.num_batch_threads,
            thread_name=batching.thread_pool_name,
            observer=MetricsObserver() if ops.record_metrics else None,
        )
    service = ops.service(
        core,
        runner,
        enable_signature_method_name_check=options.enable_signature_method_name_check,
    )
    repository = ModelRepository(controller, service.model_status, changes_enabled=admin)

    def ready() -> bool:
        """V2 ServerReady: every model AVAILABLE and no shutdown begun (as /readyz)."""
        return not stop.is_set() and core.is_ready()

    grpc_server = None
    rest_server = None
    console_metrics: MetricsWindow | None = None
    try:
        if options.port or options.grpc_socket_path:
            from pyserving.api.grpc.admin_service import admin_service
            from pyserving.api.grpc.server import GrpcServer
            from pyserving.api.v2.grpc import inference_service

            extra_services = [
                *([admin_service(controller)] if admin else []),
                inference_service(service, repository, ready),
            ]
            if options.enable_profiler:
                from pyserving.api.grpc.profiler_service import profiler_service

                extra_services.append(profiler_service())
            grpc_server = GrpcServer(
                service,
                controller,
                options,
                extra_services=extra_services,
                observer=ops.observer,
                policy=policy,
            )
            await grpc_server.start()
        if rest_socket is not None:
            v2 = V2Rest(
                service,
                repository,
                timeout_ms=options.rest_api_timeout_in_ms,
                observer=ops.observer,
            )
            console: list[BaseRoute] = []
            if options.enable_console:
                console_metrics = MetricsWindow()
                console_metrics.start()
                console = console_routes(
                    service,
                    controller,
                    console_metrics,
                    protocols=("tfserving", "v2"),
                    permissions=console_permissions(policy, admin=admin),
                )
            app = RestApp(
                service,
                timeout_ms=options.rest_api_timeout_in_ms,
                enable_cors=options.rest_api_enable_cors_support,
                max_body_bytes=options.rest_api_max_body_bytes,
                routes=rest_routes(ops, controller, v2, console, admin=admin),
                observer=ops.observer,
            )
            # Middleware around the whole front door, outermost first; each is also a gate of
            # the hot lane (inference requests read whole, see api.rest.hot), in the same order.
            middleware = [Middleware(InFlightLimit, options.rest_api_max_in_flight)]
            if policy.enabled:
                middleware.append(Middleware(AuthMiddleware, policy, ops.metrics_path))
            front_door, gates = with_gates(app, middleware)
            lane = HotLane(app.hot, gates, max_body_bytes=options.rest_api_max_body_bytes)
            rest_server = RestServer(
                front_door,
                rest_socket,
                graceful_seconds=options.shutdown_grace_seconds,
                ssl_config_file=options.rest_api_ssl_config_file,
                http2=options.rest_api_http2,
                protocol=hot_lane_protocol(
                    lane,
                    options.rest_api_header_timeout_seconds,
                    options.rest_api_body_timeout_seconds,
                    options.rest_api_max_header_bytes,
                ),
                lane=lane,
            )
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
        # A signal drains after --shutdown_delay_seconds; a startup failure closes at once.
        delay = options.shutdown_delay_seconds if stop.is_set() else 0
        await _drain(ops, rest_server, grpc_server, delay, options.shutdown_grace_seconds)
        if batching_runner is not None:
            batching_runner.close()
        if console_metrics is not None:
            console_metrics.close()
        executor.shutdown(wait=True)
    logger.info("Server stopped")
    sys.stdout.flush()
    return 0


async def _drain(
    ops: Operations, rest: RestServer | None, grpc: GrpcServer | None, delay: int, grace: int
) -> None:
    """Unready first (readiness 503, gRPC health NOT_SERVING) while still serving for ``delay``
    seconds, so load balancers stop routing here; then both front ends stop accepting at once
    and in-flight requests get ``grace`` seconds."""
    ops.begin_shutdown()
    if grpc is not None:
        await grpc.begin_shutdown()
    if delay > 0:
        logger.info("Not ready; serving %d s more before closing the ports", delay)
        await asyncio.sleep(delay)
    stops: list[Coroutine[Any, Any, None]] = []
    if rest is not None:
        stops.append(rest.stop())
    if grpc is not None:
        stops.append(grpc.stop(grace))
    await asyncio.gather(*stops)
