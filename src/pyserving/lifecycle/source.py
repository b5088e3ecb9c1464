"""The file-system source: polls each model's base path and tells the manager what to serve.

TF Serving's ``FileSystemStoragePathSource``, plus a guard against half-written versions. A version
directory becomes a candidate only when

1. the store says it looks complete (locally: ``runtime.is_version_complete(path)``, when the
   runtime has that method: TensorFlow checks for ``saved_model.pb``/``.pbtxt`` or a legacy
   ``export.meta``; on object storage: a model file or a ``_READY`` marker in the listing), and
2. a snapshot of it (locally: relative paths, sizes, mtimes; on object storage: names, sizes,
   ETags or generations) is identical in two consecutive looks.

Where versions live is the :class:`~pyserving.storage.base.VersionStore`'s business: the source
only lists, snapshots and asks about completeness.

At startup (and when models are added) the second look comes after a short settle delay instead of a
whole poll period, so startup is not slowed; afterwards a new version is picked up within two poll
periods. Only those first two looks of a new model are quick: every later look of a model is a
regular poll, at least one poll period after the previous one (a config change never triggers an
early look at a model past its settle pass), so a copy pausing for less than a poll period between
two writes is never mistaken for a finished one.

Publishers should still write a version under a temporary name in the same base path (``.tmp-42/``,
which does not parse as a number) and ``rename`` it to ``42/`` when complete: the rename is atomic,
and the checks above are only a safety net for copies that are not.

The version policy then picks the aspired versions among the candidates; versions dropping out (a
deleted directory, a newer version for latest-N) are un-aspired, which unloads them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pyserving.lifecycle.config import ModelConfig
from pyserving.storage.base import Snapshot, StorageError, VersionStore
from pyserving.storage.local import LocalStore

logger = logging.getLogger(__name__)

AspiredCallback = Callable[[str, Mapping[int, str]], None]
"""(model name, version -> version directory): the complete aspired set of one model."""
CompletenessCheck = Callable[[str, str], bool]
BasePathErrorCallback = Callable[[str, "StorageError | None"], None]
"""(model name, why its remote base path cannot be listed, or None once it can again)."""
"""(platform, version directory) -> whether the runtime considers the directory complete."""


@dataclass
class _Scan:
    """What earlier looks learnt about one model's base path."""

    base_path: str
    accepted: dict[int, str] = field(default_factory=dict)
    """Complete and stable versions; not fingerprinted again while their directory exists."""
    pending: dict[int, Snapshot] = field(default_factory=dict)
    """Complete versions seen once, with the snapshot the next look must match."""
    noted_incomplete: set[int] = field(default_factory=set)
    noted_missing: tuple[int, ...] = ()
    noted_unversioned: bool = False
    error: StorageError | None = None
    """Why the base path could not be listed at the last look (reported once per change)."""
    quick_looks: int = 0
    """Looks taken by the settle pass of a new model; after two, only regular polls look."""

    @property
    def fresh(self) -> bool:
        return self.quick_looks < 2


class FileSystemSource:
    """Polls every configured base path on one background thread.

    ``unversioned_as_v1`` (``pyserving serve``): a base path with no version directory that the
    runtime considers a complete version is served as version 1.

    ``poll_wait_seconds`` (``--file_system_poll_wait_seconds``): > 0 poll with that period; 0 look
    once at start (plus the settle look) and never again, even for models added later; < 0 never
    look at all.

    Thread-safety: ``set_models``/``start``/``stop``/``poll_once`` may be called from any thread. A
    look holds the source's lock from listing to calling ``on_aspired``, so a look never interleaves
    with ``set_models`` (lock order: source, then manager).
    """

    def __init__(
        self,
        *,
        poll_wait_seconds: float,
        settle_seconds: float,
        on_aspired: AspiredCallback,
        is_complete: CompletenessCheck | None = None,
        store: VersionStore | None = None,
        unversioned_as_v1: bool = False,
        on_base_path_error: BasePathErrorCallback | None = None,
    ) -> None:
        """``store`` reads the base paths; without one, local directories are read with
        ``is_complete`` (the runtime's check; everything counts as complete without it).
        ``on_base_path_error`` hears (under the source's lock, once per change) when a base
        path's store refuses or fails its listing (a :class:`StorageError`: object stores), and
        None when it lists again or the model is dropped; a local directory that cannot be read
        is only logged, as in TF Serving."""
        self._on_base_path_error = on_base_path_error
        self._unversioned_as_v1 = unversioned_as_v1
        self._poll_wait = poll_wait_seconds
        self._settle = settle_seconds
        self._on_aspired = on_aspired
        self._is_complete: CompletenessCheck = is_complete or (lambda _platform, _path: True)
        self._store: VersionStore = store or LocalStore(self._is_complete)
        self._lock = threading.Lock()
        self._models: dict[str, ModelConfig] = {}
        self._scans: dict[str, _Scan] = {}
        self._wake = threading.Condition(threading.Lock())
        self._kicked = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    def set_models(self, models: Sequence[ModelConfig]) -> None:
        """Replace the polled models; new ones get a look (and a settle look) promptly."""
        with self._lock:
            self._models = {m.name: m for m in models}
            old = self._scans
            self._scans = {}
            for m in models:
                scan = old.get(m.name)
                if scan is None or scan.base_path != m.base_path:
                    scan = _Scan(m.base_path)
                self._scans[m.name] = scan
            for name, scan in old.items():
                if scan.error is not None and self._scans.get(name) is not scan:
                    self._report(name, None)  # dropped, or another base path now
        with self._wake:
            self._kicked = True
            self._wake.notify_all()

    def start(self) -> None:
        if self._poll_wait < 0:
            logger.warning("File system polling is disabled (poll wait < 0): no version will load")
            return
        with self._wake:
            self._kicked = False  # the first looks below cover the models set so far
        self._thread = threading.Thread(target=self._run, name="pyserving-fs-source", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for a look in progress to finish. Idempotent."""
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        self._look_twice()
        if self._poll_wait == 0:
            return
        # Regular polls keep their own schedule: a kick (new models) never delays them, so a
        # stream of config changes cannot starve the models already served.
        next_poll = time.monotonic() + self._poll_wait
        while (kicked := self._sleep(next_poll - time.monotonic(), wake_on_kick=True)) is not None:
            if kicked:
                self._look_twice()
            else:
                self.poll_once()
                next_poll = time.monotonic() + self._poll_wait

    def _look_twice(self) -> None:
        """The settle pass: two quick looks at the models that are new (see the module
        docstring); models already past their settle pass wait for the regular poll."""
        self.poll_once(fresh_only=True)
        if self._sleep(self._settle, wake_on_kick=False) is not None:
            self.poll_once(fresh_only=True)

    def _sleep(self, seconds: float, *, wake_on_kick: bool) -> bool | None:
        """Wait; None if stopped, else whether ``set_models`` asked for a prompt look."""
        with self._wake:
            self._wake.wait_for(lambda: self._stopped or (wake_on_kick and self._kicked), seconds)
            if self._stopped:
                return None
            kicked = wake_on_kick and self._kicked
            if kicked:
                self._kicked = False
            return kicked

    def poll_once(self, *, fresh_only: bool = False) -> None:
        """Look at every base path once (``fresh_only``: only those of models still in their
        settle pass) and report each model's aspired versions."""
        with self._lock:
            for name, model in self._models.items():
                scan = self._scans[name]
                if fresh_only:
                    if not scan.fresh:
                        continue
                    scan.quick_looks += 1
                aspired = self._look(model, scan)
                if aspired is not None:
                    self._on_aspired(name, aspired)

    def _look(self, model: ModelConfig, scan: _Scan) -> dict[int, str] | None:
        """The aspired versions of ``model`` now, or None when its base path cannot be read."""
        base = model.base_path
        try:
            found = self._store.list_versions(model.base_path, model.name)
        except OSError as exc:
            logger.error(
                "Could not find base path %s for servable %s with error %s",
                model.base_path,
                model.name,
                exc,
            )
            if isinstance(exc, StorageError) and _changed(scan.error, exc):
                scan.error = exc
                self._report(model.name, exc)
            return None
        if scan.error is not None:
            scan.error = None
            self._report(model.name, None)
        if (
            not found
            and self._unversioned_as_v1
            and "://" not in base  # a bucket prefix is never itself a version
            and self._is_complete(model.platform, base)
        ):
            # pyserving serve: a base path that is itself a SavedModel is its version 1.
            found = {1: model.base_path}
            if not scan.noted_unversioned:
                scan.noted_unversioned = True
                logger.info(
                    "%s holds a model but no numbered version directory: serving it as version 1 "
                    "of %s",
                    model.base_path,
                    model.name,
                )
        if not found:
            logger.warning(
                "No versions of servable %s found under base path %s. Did you forget to name your "
                "leaf directory as a number (eg. '/1/')?",
                model.name,
                model.base_path,
            )
        for table in (scan.accepted, scan.pending):
            for gone in table.keys() - found.keys():
                del table[gone]
        scan.noted_incomplete &= found.keys()
        ready = self._candidates(model, scan, found)
        if model.policy.kind == "specific":
            missing = tuple(sorted(set(model.policy.versions) - found.keys()))
            if missing and missing != scan.noted_missing:  # warned once per change, not per poll
                logger.warning(
                    "Specific versions %s of servable %s not found under base path %s",
                    list(missing),
                    model.name,
                    model.base_path,
                )
            scan.noted_missing = missing
        return {v: ready[v] for v in model.policy.aspired(ready)}

    def _report(self, name: str, error: StorageError | None) -> None:
        if self._on_base_path_error is None:
            return
        try:
            self._on_base_path_error(name, error)
        except Exception:
            logger.exception("Reporting the base path error of servable %s failed", name)

    def _candidates(
        self, model: ModelConfig, scan: _Scan, found: Mapping[int, str]
    ) -> dict[int, str]:
        """Complete and stable versions, checking only those the policy could pick: newest first,
        stopping after N for latest-N, only the listed ones for specific."""
        policy = model.policy
        wanted = max(policy.num_versions, 1) if policy.kind == "latest" else len(found)
        ready: dict[int, str] = {}
        for version in sorted(found, reverse=True):
            if len(ready) >= wanted:
                break
            if policy.kind == "specific" and version not in policy.versions:
                continue
            path = found[version]
            if scan.accepted.get(version) == path or self._settled(model, scan, version, path):
                scan.accepted[version] = path
                ready[version] = path
        return ready

    def _settled(self, model: ModelConfig, scan: _Scan, version: int, path: str) -> bool:
        now = self._store.snapshot(path)
        if now is not None and not self._store.is_complete(model.platform, path, now):
            scan.pending.pop(version, None)
            if version not in scan.noted_incomplete:
                scan.noted_incomplete.add(version)
                logger.info(
                    "Version %d of servable %s at %s does not look complete yet; waiting",
                    version,
                    model.name,
                    path,
                )
            return False
        if now is not None and scan.pending.get(version) == now:
            del scan.pending[version]
            return True
        if now is None:
            scan.pending.pop(version, None)
        else:
            scan.pending[version] = now
        return False


def _changed(before: StorageError | None, now: StorageError) -> bool:
    return before is None or type(before) is not type(now) or str(before) != str(now)
