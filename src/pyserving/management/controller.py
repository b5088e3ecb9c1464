"""The one writer of the served model config: TF Serving's ``ServerCore::ReloadConfig`` and its
``config_mu_``, shared by every way of changing models.

Three callers, serialized by one lock (each holds it until its change is complete, waits for
added models included, so two changes never interleave):

* ``HandleReloadConfigRequest`` (:meth:`ConfigController.reload`): TF Serving's semantics, the
  new config stays applied even when an added model then fails to load;
* the ``--model_config_file`` poller (:meth:`ConfigController.sync_with_file`): reads the file
  *under the lock* (so it never applies a file read before an admin change wrote a newer one)
  and applies it only when it differs from what is served; errors are only logged;
* the admin API (:meth:`ConfigController.change`): a transaction: validate, apply, wait for added
  models, write the file back; on any failure the previous config is restored (and the file is
  left untouched), so what is served, what is on disk and what the caller was told always agree.

Rules for every change: only ``model_config_list`` configs are accepted once one is served
(``Cannot transition to requested config...``); an empty config is a no-op; the core then
validates names, platforms and labels (:mod:`pyserving.lifecycle.validation`) before touching
anything, so a rejected config keeps the old state.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from pyserving.config.models import models_from_config, read_model_server_config
from pyserving.errors import Code, ServingError, failed_precondition
from pyserving.lifecycle.config import ModelConfig
from pyserving.lifecycle.core import ReloadTicket
from pyserving.management.audit import audit, check_new_base_paths
from pyserving.management.persist import write_config_atomically
from pyserving.protos import model_server_config_pb2
from pyserving.security.allowlist import BasePathAllowlist

logger = logging.getLogger("pyserving.config")

Config = model_server_config_pb2.ModelServerConfig
T = TypeVar("T")

_LIST = "model_config_list"
_TRANSITION = (
    "Cannot transition to requested config. It is only legal to transition from one "
    "ModelConfigList to another."
)

Change = Callable[[Config], tuple[Sequence[Config], T]]
"""Admin edit: the served config -> (configs to apply in turn, the value to return)."""


class ManagedCore(Protocol):
    """What the controller needs from :class:`pyserving.lifecycle.core.ServerCore`."""

    def start(self, models: Sequence[ModelConfig]) -> None: ...

    def reload_config(
        self, models: Sequence[ModelConfig], *, validate_labels: bool = True
    ) -> ReloadTicket: ...

    def wait_until_available(
        self, names: Sequence[str], *, since: int = 0, timeout: float | None = None
    ) -> None: ...

    def check_loadable(
        self, models: Sequence[ModelConfig], *, base_path_only: bool = False
    ) -> None: ...


class ConfigController:
    """See the module docstring. ``config_file`` is where :meth:`change` persists (and what
    :meth:`sync_with_file` reads); empty means admin changes live in memory only.
    ``on_served(config)`` is called (under the lock, so in order) each time a config becomes the
    served one, and only then: for settings that must follow the served config, never a rejected
    one. It must be quick and must not call back into the controller (the lock is not
    reentrant); its exceptions are logged.

    Thread-safety: every method may be called from any thread. Changes wait while another one is
    in progress (bounded by their ``timeout``); :meth:`current` never waits.
    """

    def __init__(
        self,
        core: ManagedCore,
        *,
        config_file: str = "",
        on_served: Callable[[Config], None] | None = None,
        default_platform: str = "",
        allowlist: BasePathAllowlist | None = None,
    ) -> None:
        self._core = core
        self._default_platform = default_platform
        self._allowlist = allowlist
        self.config_file = config_file
        self._on_served = on_served
        self._lock = threading.Lock()
        self._config = Config()  # never mutated: replaced by a fresh copy on every change

    def start(self, config: Config) -> None:
        """Serve the startup config (validated like any reload; labels need AVAILABLE versions,
        so they fail here unless ``--allow_version_labels_for_unavailable_models``)."""
        with self._lock:
            self._core.start(self._models(config))
            self._served(config)

    def _models(self, config: Config) -> list[ModelConfig]:
        """``config``'s models; entries without a platform get the controller's default."""
        return models_from_config(config, self._default_platform)

    def current(self) -> Config:
        """A copy of the config being served. Never waits for a change in progress: the served
        config is replaced whole, never modified, so reading the reference needs no lock."""
        return _copy(self._config)

    def reload(self, config: Config, *, timeout: float | None = None) -> None:
        """Apply ``config`` and wait until the models it adds are AVAILABLE (TF Serving's
        ``ReloadConfig``; the config stays applied when a load then fails). New base paths
        must pass the allowlist; the change is audited."""
        deadline = _deadline(timeout)
        with self._locked(deadline):
            before = self._config
            try:
                check_new_base_paths(self._allowlist, before, config)
                # A base path that does not exist would keep the reload waiting for ever (TF
                # Serving waits too): refuse it before applying anything. An existing directory
                # may still receive versions, so the rest waits as in TF Serving.
                self._core.check_loadable(_new_or_moved(before, config), base_path_only=True)
                self._apply(config, deadline)
            except BaseException as exc:
                audit("HandleReloadConfigRequest", before, config, exc)
                raise
            audit("HandleReloadConfigRequest", before, config, None)

    def sync_with_file(self) -> None:
        """One poll of ``config_file``: apply it if it differs from the served config. Logs
        TF Serving's messages on failure and keeps serving the old state."""
        with self._locked(None):
            try:
                config = read_model_server_config(self.config_file)
            except ServingError as error:
                logger.error("Failed to read ModelServerConfig file: %s", error.message)
                return
            if config == self._config:
                return
            try:
                self._apply(config, None)
            except ServingError as error:
                logger.error(
                    "PollFilesystemAndReloadConfig failed to ReloadConfig: %s", error.message
                )

    def change(
        self, edit: Change[T], *, timeout: float | None = None, action: str = "admin API"
    ) -> T:
        """Admin transaction (see the module docstring): ``edit`` runs under the lock with the
        served config; its configs are applied in turn, each waiting for the models it adds;
        then the result is written to ``config_file``. Any failure restores the config served
        before and re-raises. New base paths must pass the allowlist; the change is audited
        (``action`` names the entry point)."""
        deadline = _deadline(timeout)
        with self._locked(deadline):
            before = self._config
            steps, result = edit(_copy(before))
            wanted = steps[-1] if steps else before
            try:
                for step in steps:
                    check_new_base_paths(self._allowlist, before, step)
                if steps:
                    # Fail fast, changing nothing, on what could never load (no base path, no
                    # version directory, not a SavedModel...) instead of waiting out the timeout.
                    self._core.check_loadable(_new_or_moved(before, steps[-1]))
                for step in steps:
                    self._apply(step, deadline)
                if self.config_file and self._config != before:
                    write_config_atomically(self.config_file, self._config)
            except BaseException as exc:
                self._restore(before)
                audit(action, before, wanted, exc)
                raise
            audit(action, before, wanted, None)
            return result

    # -- under the lock ---------------------------------------------------------------------------

    def _apply(self, config: Config, deadline: float | None) -> None:
        served, wanted = self._config.WhichOneof("config"), config.WhichOneof("config")
        if served is not None and not served == wanted == _LIST:
            raise failed_precondition(_TRANSITION)
        if wanted is None:
            logger.info("Taking no action for empty config.")
            return
        models = self._models(config)
        logger.info("Adding/updating models.")
        ticket = self._core.reload_config(models)
        self._served(config)
        if ticket.added:
            try:
                self._core.wait_until_available(
                    ticket.added, since=ticket.mark, timeout=_remaining(deadline)
                )
            except TimeoutError as exc:
                raise ServingError(Code.DEADLINE_EXCEEDED, str(exc)) from None
        logger.info("Finished adding/updating models")

    def _restore(self, before: Config) -> None:
        """Undo a failed admin change. ``before`` was served until just now, so its labels are
        not re-checked (a version they name may be unloading because of the failed change)."""
        if self._config == before:
            return
        try:
            self._core.reload_config(self._models(before), validate_labels=False)
        except Exception:
            logger.exception("Could not restore the previous model config")
            return
        self._served(before)
        logger.info("Restored the previous model config")

    def _served(self, config: Config) -> None:
        self._config = _copy(config)
        if self._on_served is not None:
            try:
                self._on_served(_copy(config))
            except Exception:  # the config is served already: report, do not unwind
                logger.exception("A listener of the served model config failed")

    @contextlib.contextmanager
    def _locked(self, deadline: float | None) -> Iterator[None]:
        remaining = _remaining(deadline)
        if not self._lock.acquire(timeout=-1 if remaining is None else remaining):
            raise ServingError(
                Code.DEADLINE_EXCEEDED,
                "Timed out waiting for another model config change to finish",
            )
        try:
            yield
        finally:
            self._lock.release()


def _new_or_moved(before: Config, after: Config) -> list[ModelConfig]:
    """The models of ``after`` that are new, or whose base path, platform or version policy
    differ from ``before`` (those are what a change would load)."""
    if after.WhichOneof("config") != _LIST:
        return []
    old = {_loaded_as(m) for m in _models_or_empty(before)}
    return [m for m in models_from_config(after) if _loaded_as(m) not in old]


def _loaded_as(model: ModelConfig) -> tuple[object, ...]:
    return (model.name, model.base_path, model.platform, model.policy)


def _models_or_empty(config: Config) -> Sequence[ModelConfig]:
    return models_from_config(config) if config.WhichOneof("config") == _LIST else ()


def _copy(config: Config) -> Config:
    fresh = Config()
    fresh.CopyFrom(config)
    return fresh


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
