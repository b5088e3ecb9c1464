"""The manager: turns aspired versions into loads and unloads, and publishes what is servable.

TF Serving's ``AspiredVersionsManager`` with the availability-preserving policy. The source tells
it, per model, which versions it wants (:meth:`AspiredVersionsManager.set_aspired_versions`); the
manager asks :func:`~pyserving.lifecycle.policy.next_action` what to do and hands loads and unloads
to worker threads, so neither the source, nor requests, nor other models wait for a load.

Ordering guarantees:
* AVAILABLE is recorded after the version is in the serving map (it can be acquired);
* UNLOADING is recorded, and delivered to listeners, before the version leaves the serving map;
* ``Model.unload`` runs after the last handle on the version has been released; END follows it.

Versions are loaded from the local directory the store materializes (a download into the cache for
object storage; the version directory itself on a local disk). A version's local copy is released
when it is unloaded or its load failed, but not at shutdown, so a restart can reuse it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType

from pyserving.errors import ServingError
from pyserving.lifecycle.config import ModelConfig
from pyserving.lifecycle.handle import LoadedServable
from pyserving.lifecycle.harness import VersionHarness
from pyserving.lifecycle.loader import as_serving_error, load_with_retries
from pyserving.lifecycle.monitor import ServableStateMonitor
from pyserving.lifecycle.policy import ActionKind, next_action
from pyserving.lifecycle.serving_map import ServingMap, StreamView
from pyserving.lifecycle.state import ServableId, ServableState
from pyserving.runtimes.base import LoadOptions, Model, Runtime
from pyserving.storage.base import VersionStore

# Called on the load thread after a version loaded and before it is published (warmup, per-model
# batching set-up...). Raising fails this load attempt (the model is unloaded, retries apply).
PostLoadHook = Callable[[ServableId, str, Model], None]


def chain_post_load(*hooks: PostLoadHook | None) -> PostLoadHook | None:
    """One hook running ``hooks`` in order (None entries skipped; None if none is left). The
    first to raise fails the load attempt; the later ones then do not run."""
    present = [h for h in hooks if h is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def chained(servable_id: ServableId, path: str, model: Model) -> None:
        for hook in present:
            hook(servable_id, path, model)

    return chained


logger = logging.getLogger(__name__)

_S = ServableState
_DRAIN_LOG_SECONDS = 10.0  # how often a stuck unload says what it is waiting for


@dataclass(eq=False)
class _Stream:
    """One model: its settings, the versions the source wants, and every version not yet done."""

    name: str
    platform: str
    labels: Mapping[str, int]
    configured: bool = True
    aspired: dict[int, str] = field(default_factory=dict)
    harnesses: dict[int, VersionHarness] = field(default_factory=dict)
    live: dict[int, LoadedServable] = field(default_factory=dict)
    """Versions in the serving map: added just before AVAILABLE, removed during UNLOADING."""


class AspiredVersionsManager:
    """Owns every version's lifecycle. See the module docstring for the ordering guarantees.

    Thread-safety: all public methods may be called from any thread. One lock guards the streams
    and harnesses; it is held only for bookkeeping (never across a load, an unload, a wait for
    handles or a listener call). ``serving_map`` is read without any lock.
    """

    def __init__(
        self,
        *,
        monitor: ServableStateMonitor,
        runtime_for: Callable[[str], Runtime],
        load_options: LoadOptions,
        max_num_load_retries: int,
        load_retry_interval_seconds: float,
        num_load_threads: int,
        num_unload_threads: int,
        post_load: PostLoadHook | None = None,
        retry_deterministic_errors: bool = True,
        storage: VersionStore | None = None,
    ) -> None:
        self._monitor = monitor
        self._retry_deterministic = retry_deterministic_errors
        self._storage = storage
        self._post_load = post_load
        self._runtime_for = runtime_for
        self._load_options = load_options
        self._max_retries = max_num_load_retries
        self._retry_interval = load_retry_interval_seconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._streams: dict[str, _Stream] = {}
        self._stopping = False
        self._load_pool = _pool(num_load_threads, "pyserving-load")
        self._retired_pools: list[ThreadPoolExecutor] = []
        self._unload_pool = _pool(num_unload_threads, "pyserving-unload")
        self.serving_map = ServingMap()
        """The current servable versions; replaced (never mutated) under the lock."""

    # -- inputs -----------------------------------------------------------------------------------

    def configure(self, models: Sequence[ModelConfig]) -> None:
        """Make ``models`` the configured set: new streams start empty (the source fills them);
        streams of models no longer listed lose all aspired versions and go once unloaded."""
        with self._lock:
            if self._stopping:
                return
            wanted = {m.name: m for m in models}
            for stream in self._streams.values():
                if stream.name not in wanted:
                    stream.configured = False
                    stream.aspired = {}
            for model in models:
                stream = self._streams.setdefault(
                    model.name, _Stream(model.name, model.platform, model.labels)
                )
                stream.configured = True
                stream.platform = model.platform
                stream.labels = model.labels
            for stream in list(self._streams.values()):
                self._publish(stream)
                self._reconcile(stream)
        self._monitor.flush()

    def set_aspired_versions(self, name: str, versions: Mapping[int, str]) -> None:
        """The source's complete list of wanted versions (version -> directory) for ``name``.

        Idempotent; ignored for a model that is not (or no longer) configured.
        """
        with self._lock:
            stream = self._streams.get(name)
            if stream is None or not stream.configured or self._stopping:
                return
            stream.aspired = dict(versions)
            self._reconcile(stream)
        self._monitor.flush()

    def set_num_load_threads(self, num_load_threads: int) -> None:
        """Switch to a new load pool (0 = one thread: loads run one at a time). Queued and running
        loads finish on the old pool."""
        with self._lock:
            if self._stopping:
                return
            old, self._load_pool = self._load_pool, _pool(num_load_threads, "pyserving-load")
            self._retired_pools.append(old)
        old.shutdown(wait=False)

    def shutdown(self) -> None:
        """Un-aspire everything, wait until every version is END (in-flight handles released),
        then stop the worker threads. Idempotent; blocks."""
        with self._lock:
            self._stopping = True
            for stream in list(self._streams.values()):
                self._reconcile(stream)
        self._monitor.flush()
        with self._changed:
            self._changed.wait_for(lambda: not self._streams)
        for pool in (*self._retired_pools, self._load_pool, self._unload_pool):
            pool.shutdown(wait=True)

    # -- decisions (lock held) --------------------------------------------------------------------

    def _reconcile(self, stream: _Stream) -> None:
        """Bring ``stream``'s harnesses in line with its aspired versions, then apply the policy
        until it has nothing more to do. Caller holds the lock."""
        aspired = stream.aspired if stream.configured and not self._stopping else {}
        for version, harness in list(stream.harnesses.items()):
            harness.is_aspired = version in aspired
            if harness.is_aspired:
                harness.cancel.clear()
                continue
            harness.cancel.set()  # skips pending load retries
            if harness.state is _S.START:
                self._move(harness, _S.END)
                del stream.harnesses[version]
            elif harness.state is _S.END:
                del stream.harnesses[version]  # a failed version, forgotten once un-aspired
        for version, path in aspired.items():
            if version not in stream.harnesses:  # (an UNLOADING one comes back once it is END)
                harness = VersionHarness(ServableId(stream.name, version), path)
                stream.harnesses[version] = harness
                self._move(harness, _S.START)
        while (action := next_action(h.snapshot() for h in stream.harnesses.values())) is not None:
            harness = stream.harnesses[action.version]
            if action.kind is ActionKind.LOAD:
                self._move(harness, _S.LOADING)
                self._load_pool.submit(self._load, stream, harness, stream.platform)
            else:
                self._move(harness, _S.UNLOADING)
                self._unload_pool.submit(self._unload, stream, harness)
        if (self._stopping or not stream.configured) and not stream.harnesses:
            del self._streams[stream.name]
            self.serving_map = self.serving_map.without(stream.name)
        self._changed.notify_all()

    def _move(
        self, harness: VersionHarness, state: ServableState, error: ServingError | None = None
    ) -> None:
        elapsed = harness.move_to(state, error)
        self._monitor.record(harness.id.name, harness.id.version, state, error)
        _log_transition(harness, state, elapsed)

    def _publish(self, stream: _Stream) -> None:
        view = StreamView(MappingProxyType(dict(stream.live)), stream.labels)
        self.serving_map = self.serving_map.with_stream(stream.name, view)

    # -- work (worker threads) --------------------------------------------------------------------

    def _load(self, stream: _Stream, harness: VersionHarness, platform: str) -> None:
        if harness.cancel.is_set():  # un-aspired (or shutting down) while queued: skip the load
            with self._lock:
                self._move(harness, _S.END)
                self._reconcile(stream)
            self._monitor.flush()
            return
        try:
            model = self._load_model(harness, platform)
        except Exception as exc:
            self._release(harness)
            with self._lock:
                self._move(harness, _S.END, as_serving_error(exc))
                self._reconcile(stream)
            self._monitor.flush()
            return
        with self._lock:
            stream.live[harness.id.version] = harness.servable = LoadedServable(
                harness.id.name, harness.id.version, model
            )
            self._publish(stream)
            self._move(harness, _S.AVAILABLE)
            self._reconcile(stream)
        self._monitor.flush()

    def _load_model(self, harness: VersionHarness, platform: str) -> Model:
        # A platform that cannot be resolved (unknown, not installed) fails at once: retrying
        # cannot help.
        runtime = self._runtime_for(platform)

        def load_once() -> Model:
            path = harness.path
            if self._storage is not None:
                path = self._storage.materialize(harness.path, harness.cancel)
            model = runtime.load(path, self._load_options)
            if self._post_load is not None:
                try:
                    self._post_load(harness.id, path, model)
                except BaseException:
                    model.unload()
                    raise
            return model

        return load_with_retries(
            harness.id,
            load_once,
            max_num_load_retries=self._max_retries,
            retry_interval_seconds=self._retry_interval,
            cancelled=harness.cancel,
            retry_deterministic_errors=self._retry_deterministic,
        )

    def _unload(self, stream: _Stream, harness: VersionHarness) -> None:
        servable = harness.servable
        assert servable is not None  # only AVAILABLE versions are unloaded
        self._monitor.flush()  # listeners hear UNLOADING while the version is still acquirable
        with self._lock:
            del stream.live[harness.id.version]
            self._publish(stream)
        servable.close()
        while not servable.wait_drained(_DRAIN_LOG_SECONDS):  # requests holding a handle finish
            logger.warning(
                "Waiting for %d outstanding handle(s) on servable version %s before unloading it",
                servable.leases,
                harness.id,
            )
        try:
            servable.model.unload()
        except Exception:
            logger.exception(
                "Unloading servable version %s raised; treating it as unloaded", harness.id
            )
        self._release(harness)
        with self._lock:
            self._move(harness, _S.END)
            if stream.harnesses.get(harness.id.version) is harness:
                del stream.harnesses[harness.id.version]
            self._reconcile(stream)
        self._monitor.flush()

    def _release(self, harness: VersionHarness) -> None:
        """Drop the version's local copy, unless the server is stopping (a restart reuses it)."""
        if self._storage is None or self._stopping:
            return
        try:
            self._storage.release(harness.path)
        except Exception:
            logger.exception("Releasing the local copy of servable version %s failed", harness.id)


def _pool(num_threads: int, prefix: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, num_threads), thread_name_prefix=prefix)


def _log_transition(harness: VersionHarness, state: ServableState, elapsed: float) -> None:
    sid = harness.id
    if state is _S.START:
        logger.info("Aspiring servable version %s at %s", sid, harness.path)
    elif state is _S.LOADING:
        logger.info("Loading servable version %s", sid)
    elif state is _S.AVAILABLE:
        logger.info("Successfully loaded servable version %s (took %.3f s)", sid, elapsed)
    elif state is _S.UNLOADING:
        logger.info("Unloading servable version %s (was available for %.3f s)", sid, elapsed)
    elif harness.error is not None:
        logger.error("Servable version %s failed to load: %s", sid, harness.error)
    elif harness.servable is not None:
        logger.info("Done unloading servable version %s (took %.3f s)", sid, elapsed)
    else:
        logger.info("Servable version %s is no longer aspired; it was never loaded", sid)
