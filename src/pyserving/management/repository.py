"""The model repository of the Open Inference Protocol's repository extension (Triton's
``RepositoryIndex`` / ``RepositoryModelLoad`` / ``RepositoryModelUnload``), over the admin
operations.

pyserving's repository is its served model config. *Unload* removes the model from the config
(:func:`~pyserving.management.edits.delete_model`) and remembers its entry, so a later *load* of
the same name puts it back; *load* with an entry (the ``config`` parameter, the admin API's JSON)
adds or replaces the model; *load* of a model being served is a no-op. Every change is an admin
transaction (:meth:`ConfigController.change`): validated, written back to the config file, undone
on failure, and a load answers once the model is AVAILABLE.

Thread-safety: methods may be called from any thread; the blocking ones (:meth:`load`,
:meth:`unload`) belong on a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from pyserving.errors import Code, ServingError, not_found
from pyserving.lifecycle.state import ServableState, VersionStatus
from pyserving.management.controller import ConfigController
from pyserving.management.edits import Entry, delete_model, put_model

StatusSource = Callable[[str], list[VersionStatus]]

# Triton's state names for the index.
_STATES = {
    ServableState.AVAILABLE: "READY",
    ServableState.LOADING: "LOADING",
    ServableState.UNLOADING: "UNLOADING",
}
UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    name: str
    version: str
    state: str
    reason: str = ""


class ModelRepository:
    """See the module docstring. ``statuses(name)`` lists a served model's versions (raises
    ServingError for a model with none yet)."""

    def __init__(
        self, controller: ConfigController, statuses: StatusSource, *, changes_enabled: bool = True
    ) -> None:
        """``changes_enabled``: False when the admin API is off (load and unload then refuse)."""
        self._controller = controller
        self._changes_enabled = changes_enabled
        self._statuses = statuses
        self._lock = threading.Lock()
        self._unloaded: dict[str, Entry] = {}

    def index(self, *, ready_only: bool = False) -> list[IndexEntry]:
        """One row per version of every served model (one without a version for a model that has
        none yet), then the unloaded models; ``ready_only``: only READY rows."""
        rows: list[IndexEntry] = []
        served = [e.name for e in self._controller.current().model_config_list.config]
        for name in served:
            try:
                statuses = self._statuses(name)
            except ServingError as error:
                statuses = []
                reason = error.message
            else:
                reason = "no version found yet"
            if not statuses:
                rows.append(IndexEntry(name, "", UNAVAILABLE, reason))
            for status in statuses:
                message = status.error_message
                rows.append(
                    IndexEntry(
                        name,
                        str(status.version),
                        _STATES.get(status.state, UNAVAILABLE),
                        f"{status.error_code.name}: {message}" if message else "",
                    )
                )
        with self._lock:
            unloaded = sorted(n for n in self._unloaded if n not in served)
        rows.extend(IndexEntry(n, "", UNAVAILABLE, "unloaded") for n in unloaded)
        if ready_only:
            rows = [row for row in rows if row.state == "READY"]
        return rows

    def platform(self, name: str) -> str:
        """The served model's platform (``tensorflow``...); NOT_FOUND when not served."""
        for entry in self._controller.current().model_config_list.config:
            if entry.name == name:
                return entry.model_platform or "tensorflow"
        raise not_found(f"Model {name} is not in the model config")

    def load(self, name: str, entry: Entry | None = None, *, timeout: float | None = None) -> None:
        """Serve ``name``: from ``entry`` if given, else as it was before its unload; a model
        already served stays as it is. Returns once it is AVAILABLE."""
        self._check_enabled()
        if entry is None:
            with self._lock:
                entry = self._unloaded.get(name)
            if entry is None:
                if self._is_served(name):
                    return
                raise not_found(
                    f"Model {name} is not in the model repository (the served model config): "
                    'load it with a "config" parameter holding its entry as JSON, e.g. '
                    '{"base_path": "/models/' + name + '"}'
                )
        elif entry.name != name:
            raise ServingError(
                Code.INVALID_ARGUMENT, f"The config names model {entry.name!r}, not {name!r}"
            )
        self._controller.change(put_model(entry), timeout=timeout, action="V2 repository load")
        with self._lock:
            self._unloaded.pop(name, None)

    def unload(self, name: str, *, timeout: float | None = None) -> None:
        """Stop serving ``name`` (its versions unload in the background); unloading a model
        unloaded before is a no-op."""
        self._check_enabled()
        with self._lock:
            if name in self._unloaded and not self._is_served(name):
                return
        edited = self._controller.change(
            delete_model(name), timeout=timeout, action="V2 repository unload"
        )
        with self._lock:
            self._unloaded[name] = edited.model

    def _check_enabled(self) -> None:
        if not self._changes_enabled:
            raise ServingError(
                Code.PERMISSION_DENIED,
                "Repository load and unload are admin operations and the admin API is off: "
                "start the server with --auth_tokens_file (tokens with the admin scope may use "
                "them) or --enable_admin_api",
            )

    def _is_served(self, name: str) -> bool:
        return any(e.name == name for e in self._controller.current().model_config_list.config)
