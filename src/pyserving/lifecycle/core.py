"""ServerCore: the lifecycle's composition root and the one object the rest of the server uses.

It wires a :class:`~pyserving.lifecycle.source.FileSystemSource` (which versions exist) to an
:class:`~pyserving.lifecycle.manager.AspiredVersionsManager` (loads, unloads, the serving map) and a
:class:`~pyserving.lifecycle.monitor.ServableStateMonitor` (statuses, listeners, readiness).

Threads: one polling thread; load workers (4 x CPUs until :meth:`ServerCore.wait_until_ready`
succeeds, then ``num_load_threads``, 0 meaning one at a time); ``num_unload_threads`` unload
workers (0 meaning one). Requests never wait on any of them: :meth:`ServerCore.acquire` reads an
immutable map and takes one per-version counter lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyserving.errors import Code, ServingError, not_found
from pyserving.lifecycle.config import ModelConfig
from pyserving.lifecycle.handle import ServableHandle
from pyserving.lifecycle.manager import AspiredVersionsManager, PostLoadHook
from pyserving.lifecycle.monitor import ServableStateMonitor, StateListener, readiness
from pyserving.lifecycle.preflight import check_model, is_remote
from pyserving.lifecycle.source import FileSystemSource
from pyserving.lifecycle.state import ServableId, ServableState, VersionStatus
from pyserving.lifecycle.validation import check_labels, check_platforms_unchanged, check_unique
from pyserving.runtimes.base import LoadOptions, Runtime
from pyserving.runtimes.registry import get_runtime
from pyserving.storage import Storage
from pyserving.storage.base import StorageError

logger = logging.getLogger(__name__)

# A lease fails only on a version closed for unload, and the map without it is published before the
# close, so the next lookup finds another version or reports it missing; the bound is a safety net.
_LEASE_ATTEMPTS = 8


#: Appended to TF Serving's label error at startup, when no version can be loaded yet.
STARTUP_LABELS_HINT = (
    ". At startup no version is loaded yet: start with "
    "--allow_version_labels_for_unavailable_models to accept labels in the startup config"
)


@dataclass(frozen=True, slots=True)
class ReloadTicket:
    """What one :meth:`ServerCore.reload_config` did: the models it added (in config order) and
    the transition-history mark taken just before, for :meth:`ServerCore.wait_until_available`."""

    added: tuple[str, ...]
    mark: int


class ServerCore:
    """Serves the versions of the configured models; see the module docstring for threads.

    Thread-safety: every method may be called from any thread; ``acquire`` is the request path and
    never blocks on loads, unloads or other models. Lifecycle: ``start`` once, then any number of
    ``reload_config``, then ``shutdown`` (idempotent).
    """

    def __init__(
        self,
        *,
        load_options: LoadOptions,
        file_system_poll_wait_seconds: float = 1,
        max_num_load_retries: int = 5,
        load_retry_interval_micros: int = 60_000_000,
        num_load_threads: int = 0,
        num_unload_threads: int = 0,
        runtime_for: Callable[[str], Runtime] = get_runtime,
        allow_version_labels_for_unavailable_models: bool = False,
        version_settle_seconds: float = 0.2,
        post_load: PostLoadHook | None = None,
        retry_deterministic_load_errors: bool = True,
        unversioned_as_v1: bool = False,
        model_cache_dir: str = "",
    ) -> None:
        self._unversioned_as_v1 = unversioned_as_v1
        self.storage = Storage(self._looks_complete, cache_dir=model_cache_dir)
        """Where versions live (local disk, s3://, gs://); downloads land in ``model_cache_dir``."""
        self.allow_version_labels_for_unavailable_models = (
            allow_version_labels_for_unavailable_models
        )
        self._runtime_for = runtime_for
        self._num_load_threads = num_load_threads
        self._monitor = ServableStateMonitor()
        self._manager = AspiredVersionsManager(
            monitor=self._monitor,
            runtime_for=runtime_for,
            load_options=load_options,
            max_num_load_retries=max_num_load_retries,
            load_retry_interval_seconds=max(0, load_retry_interval_micros) / 1e6,
            num_load_threads=4 * _schedulable_cpus(),  # TF Serving's initial load parallelism
            num_unload_threads=num_unload_threads,
            post_load=post_load,
            retry_deterministic_errors=retry_deterministic_load_errors,
            storage=self.storage,
        )
        self._source = FileSystemSource(
            poll_wait_seconds=file_system_poll_wait_seconds,
            settle_seconds=version_settle_seconds,
            on_aspired=self._manager.set_aspired_versions,
            is_complete=self._looks_complete,
            unversioned_as_v1=unversioned_as_v1,
            store=self.storage,
            on_base_path_error=self._on_base_path_error,
        )
        self._lock = threading.Lock()  # serialises start / reload_config / shutdown
        self._models: tuple[ModelConfig, ...] = ()
        self._started = False
        self._closing = False
        self._closed = threading.Event()
        self._initial_loads_done = False

    # -- configuration ----------------------------------------------------------------------------

    def start(self, models: Sequence[ModelConfig]) -> None:
        """Begin polling and loading ``models``; returns at once (see :meth:`wait_until_ready`).

        Labels are checked as on every reload, when nothing is loaded yet: any label fails with
        FAILED_PRECONDITION unless ``allow_version_labels_for_unavailable_models``.
        """
        check_unique(models)
        with self._lock:
            if self._started or self._closing:
                raise RuntimeError("ServerCore.start() may be called only once, before shutdown()")
            try:
                self._check_labels({}, models)
            except ServingError as error:
                raise ServingError(error.code, error.message + STARTUP_LABELS_HINT) from None
            self._started = True
            self._apply(models)
            self._source.start()

    def reload_config(
        self, models: Sequence[ModelConfig], *, validate_labels: bool = True
    ) -> ReloadTicket:
        """Replace the model list: added models start loading, removed ones unload (both in the
        background; :meth:`wait_until_available` waits for the added ones), labels are updated.

        Validated first (see :mod:`~pyserving.lifecycle.validation`); a rejected list raises and
        changes nothing. ``validate_labels=False`` skips the label check: only for restoring a
        list that was served before (an undo), whose labels were checked then. Each model's new
        labels reach requests in one atomic swap of the serving map.
        """
        check_unique(models)
        with self._lock:
            if not self._started or self._closing:
                raise RuntimeError("ServerCore.reload_config() needs a started, running core")
            old = {m.name: m for m in self._models}
            check_platforms_unchanged(old, models)
            if validate_labels:
                self._check_labels(old, models)
            mark = self._monitor.mark()
            self._apply(models)
        return ReloadTicket(tuple(m.name for m in models if m.name not in old), mark)

    def check_loadable(
        self, models: Sequence[ModelConfig], *, base_path_only: bool = False
    ) -> None:
        """Raise the first deterministic reason one of ``models`` cannot load (a missing base
        path, no version directory, a version that is not a SavedModel, an unknown platform; see
        :mod:`~pyserving.lifecycle.preflight`), before anything is applied.
        ``base_path_only``: only a base path that cannot be read counts (a missing local
        directory; a remote one whose bucket is missing, whose credentials are missing or
        refused, or whose store does not answer); one that can be read may still receive
        versions. Remote base paths are listed with a bound on the wait (see
        :meth:`~pyserving.storage.router.Storage.check_base_path`)."""
        for model in models:
            if base_path_only:
                if is_remote(model.base_path):
                    self.storage.check_base_path(model.base_path, model.name)
                elif not os.path.isdir(model.base_path):
                    check_model(model, self._runtime_for)
                continue
            check_model(
                model,
                self._runtime_for,
                unversioned_as_v1=self._unversioned_as_v1,
                list_remote=self.storage.check_base_path,
            )

    def _check_labels(self, old: dict[str, ModelConfig], models: Sequence[ModelConfig]) -> None:
        check_labels(
            old,
            models,
            self._is_available,
            allow_unavailable=self.allow_version_labels_for_unavailable_models,
        )

    def _is_available(self, name: str, version: int) -> bool:
        return any(
            s.version == version and s.state is ServableState.AVAILABLE
            for s in self._monitor.statuses(name)
        )

    def _apply(self, models: Sequence[ModelConfig]) -> None:
        # Manager first: it must know a new model before the source reports its versions, and it
        # ignores reports for a removed model that a look in progress may still send.
        self._models = tuple(models)
        self._manager.configure(self._models)
        self._source.set_models(self._models)
        self._monitor.wake_waiters()  # wait_until_ready re-checks against the new model list

    def _on_base_path_error(self, name: str, error: StorageError | None) -> None:
        """The source's report on a remote base path: its error becomes the model's version-0
        status (END when someone must fix the config, so a startup wait fails with it; START
        while the store is retried), and goes once the base path lists again."""
        if error is None:
            self._monitor.forget_base_path_error(name)
        else:
            state = ServableState.START if error.transient else ServableState.END
            message = str(error)
            if error.transient:
                message += " (retrying with backoff; loaded versions keep serving)"
            serving_error = ServingError(error.code, message)
            self._monitor.record(name, 0, state, serving_error, base_path_error=True)
        self._monitor.flush()

    def add_state_listener(self, fn: StateListener) -> None:
        """``fn(name, version, state, error)`` on every transition, in order, on a lifecycle
        thread; it must return quickly and must not call :meth:`shutdown`. ``error`` is set only
        for a failed load (END)."""
        self._monitor.add_listener(fn)

    # -- readiness --------------------------------------------------------------------------------

    def wait_until_ready(self, timeout: float | None = None) -> None:
        """Block until every configured model has an AVAILABLE version or has definitively failed.

        Raises the failed model's ServingError (the first one in config order), ``TimeoutError``
        after ``timeout`` seconds, or CANCELLED if the core shuts down meanwhile. A model whose base
        path holds no version keeps this waiting (the source logs why on every poll). The first
        success switches loads from the startup pool to ``num_load_threads`` workers.
        """

        def check() -> ServingError | bool | None:
            if self._closing:
                return ServingError(Code.CANCELLED, "Server is shutting down")
            waiting = False
            for model in self._models:
                state = readiness(self._monitor.statuses(model.name))
                if isinstance(state, ServingError):
                    return state
                waiting = waiting or state is None
            return None if waiting else True

        outcome = self._monitor.wait_for(check, timeout)
        if outcome is None:
            pending = [m.name for m in self._models if not self._has_available(m.name)]
            raise TimeoutError(f"Models not available after {timeout:.1f} s: {', '.join(pending)}")
        if isinstance(outcome, ServingError):
            raise outcome
        with self._lock:
            if not self._initial_loads_done:
                self._initial_loads_done = True
                self._manager.set_num_load_threads(self._num_load_threads)

    def wait_until_some_ready(self, timeout: float | None = None) -> dict[str, ServingError]:
        """``pyserving serve``'s startup: one broken model never keeps the others from serving.

        Models that cannot load for a deterministic reason (:meth:`check_loadable`; not an object
        store that does not answer, which is retried and waited for) are reported at once (their
        status gets an END entry, version 0, carrying the error, so ``/readyz`` and
        GetModelStatus name it); the wait then ends when every other model is AVAILABLE or
        has failed. Returns the failed models' errors (config order); raises the first one when
        no model is AVAILABLE. ``TimeoutError`` and CANCELLED as :meth:`wait_until_ready`.
        """
        failed: dict[str, ServingError] = {}
        for model in self._models:
            try:
                self.check_loadable([model])
            except ServingError as error:
                if error.code is Code.UNAVAILABLE and is_remote(model.base_path):
                    continue  # a store not answering yet: retried, waited for like a load
                failed[model.name] = error
                self._monitor.record(model.name, 0, ServableState.END, error)
        self._monitor.flush()

        def check() -> ServingError | bool | None:
            if self._closing:
                return ServingError(Code.CANCELLED, "Server is shutting down")
            for model in self._models:
                if model.name in failed:
                    continue
                if readiness(self._monitor.statuses(model.name)) is None:
                    return None
            return True

        outcome = self._monitor.wait_for(check, timeout)
        if outcome is None:
            pending = [m.name for m in self._models if not self._has_available(m.name)]
            raise TimeoutError(f"Models not available after {timeout:.1f} s: {', '.join(pending)}")
        if isinstance(outcome, ServingError):
            raise outcome
        for model in self._models:
            state = readiness(self._monitor.statuses(model.name))
            if isinstance(state, ServingError) and model.name not in failed:
                failed[model.name] = state
        if failed and len(failed) == len(self._models):
            raise next(iter(failed.values()))
        with self._lock:
            if not self._initial_loads_done:
                self._initial_loads_done = True
                self._manager.set_num_load_threads(self._num_load_threads)
        return {m.name: failed[m.name] for m in self._models if m.name in failed}

    def wait_until_available(
        self, names: Sequence[str], *, since: int = 0, timeout: float | None = None
    ) -> None:
        """Block until each of ``names`` has an AVAILABLE version or has failed, considering only
        transitions recorded after the mark ``since`` (a :class:`ReloadTicket`'s), so a failure
        of an earlier incarnation of a re-added model does not count.

        Raises UNKNOWN ``N model(s) did not become available: {...}`` (TF Serving's
        ``WaitUntilModelsAvailable`` message) when some failed, ``TimeoutError`` after
        ``timeout`` seconds, CANCELLED if the core shuts down meanwhile.
        """

        # Outcomes must be truthy: wait_for keeps waiting on a falsy one.
        def check() -> ServingError | str | None:
            if self._closing:
                return ServingError(Code.CANCELLED, "Server is shutting down")
            failed = False
            for name in names:
                if self._has_available(name):
                    continue
                state = readiness(self._monitor.statuses(name, since))
                if state is None:
                    return None
                failed = failed or isinstance(state, ServingError)
            return "failed" if failed else "available"

        outcome = self._monitor.wait_for(check, timeout)
        if outcome is None:
            pending = [n for n in names if not self._has_available(n)]
            raise TimeoutError(f"Models not available after {timeout:.1f} s: {', '.join(pending)}")
        if isinstance(outcome, ServingError):
            raise outcome
        if outcome == "failed":
            raise ServingError(Code.UNKNOWN, self._unavailable_message(names, since))

    def _unavailable_message(self, names: Sequence[str], since: int) -> str:
        parts: list[str] = []
        for name in names:
            if self._has_available(name):
                continue
            statuses = self._monitor.statuses(name, since)
            failed = next((s for s in statuses if s.error_code is not Code.OK), None)
            reason = ""
            if failed is not None:
                reason = f" due to error: {failed.error_code.name}: {failed.error_message}"
            version = failed.version if failed else (statuses[0].version if statuses else 0)
            parts.append(f"{{{ServableId(name, version)}{reason}}}, ")
        return f"{len(parts)} model(s) did not become available: {{{''.join(parts)}}}"

    def is_ready(self) -> bool:
        """Every configured model has an AVAILABLE version (lock-free)."""
        return all(self._has_available(m.name) for m in self._models)

    def _has_available(self, name: str) -> bool:
        view = self._manager.serving_map.get(name)
        return view is not None and view.latest is not None

    # -- request path -----------------------------------------------------------------------------

    def acquire(
        self, name: str, version: int | None = None, label: str | None = None
    ) -> ServableHandle:
        """A handle on the version a request means (TF Serving's resolution and messages).

        No version and no label -> the highest AVAILABLE version. Release the handle when done.
        O(1) and non-blocking: one immutable-map lookup and one per-version counter increment.
        """
        if version is not None and label is not None:
            raise ValueError("pass a version or a label, not both")
        for _ in range(_LEASE_ATTEMPTS):
            servable = self._manager.serving_map.resolve(name, version, label)
            handle = servable.try_lease()
            if handle is not None:
                return handle
        if version is None and label is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        raise not_found(f"Servable not found for request: Specific({name}, {servable.version})")

    # -- status -----------------------------------------------------------------------------------

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        """GetModelStatus: every known version (END kept), highest first, or just ``version``."""
        return self._monitor.model_status(name, version)

    def model_names(self) -> list[str]:
        """The configured models, in config order."""
        return [m.name for m in self._models]

    # -- shutdown ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop polling and unload every version, waiting for outstanding handles to be released.
        Idempotent; a concurrent second call waits for the first to finish."""
        with self._lock:
            first = not self._closing
            self._closing = True
        if not first:
            self._closed.wait()
            return
        self._monitor.wake_waiters()  # wait_until_ready callers see _closing
        self._source.stop()
        self._manager.shutdown()
        self._closed.set()
        logger.info("Server core shut down")

    # -- helpers ----------------------------------------------------------------------------------

    def _looks_complete(self, platform: str, path: str) -> bool:
        """The runtime's ``is_version_complete(path)``; True when the platform cannot be resolved
        (the load will then report why)."""
        try:
            runtime = self._runtime_for(platform)
        except Exception:
            return True
        try:
            return runtime.is_version_complete(path)
        except Exception:
            logger.exception("is_version_complete(%s) failed on the %s runtime", path, platform)
            return True


def _schedulable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
