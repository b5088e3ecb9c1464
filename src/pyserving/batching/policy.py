"""Which batching options each loaded model version runs with.

One set of options for every model (``--batching_parameters_file`` or the defaults), or, with
``--enable_per_model_batching_parameters``, the ``batching_params.pbtxt`` in each version
directory, read by :meth:`BatchingPolicy.post_load` on the lifecycle's load thread before the
version is published; a version without that file runs unbatched.

Models are tracked by identity with a weak reference, so a version's entry (and the batching
queues the runner hangs on it) disappears when the unloaded model is freed. A model type that
cannot be weakly referenced runs unbatched.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final

from pyserving.batching.params import (
    DEFAULT_THREAD_POOL_NAME,
    BatchingOptions,
    from_proto,
    read_batching_parameters,
)
from pyserving.runtimes.base import Model

if TYPE_CHECKING:
    from pyserving.batching.queue import BatchQueue
    from pyserving.lifecycle.state import ServableId

logger = logging.getLogger("pyserving.batching")

PER_MODEL_FILE: Final = "batching_params.pbtxt"


class ModelEntry:
    """A model version's batching options and, owned by the runner, its queues."""

    __slots__ = ("name", "options", "queues", "ref")

    def __init__(self, ref: weakref.ref[Model], name: str, options: BatchingOptions | None):
        self.ref = ref
        self.name = name
        self.options = options
        self.queues: dict[Any, BatchQueue] = {}


class BatchingPolicy:
    """Options per model version (see the module docstring).

    Thread-safety: ``post_load``/``configure`` from any thread (writers serialise on a lock);
    ``entry`` is the request path, lock-free.
    """

    def __init__(
        self,
        default: BatchingOptions | None,
        *,
        per_model: bool = False,
        thread_pool_name: str = DEFAULT_THREAD_POOL_NAME,
    ) -> None:
        self.default = default
        self.per_model = per_model
        self.thread_pool_name = thread_pool_name
        self._entries: dict[int, ModelEntry] = {}
        self._lock = threading.Lock()
        self._warned: set[type] = set()

    def post_load(self, servable_id: ServableId, path: str, model: Model) -> None:
        """The lifecycle's post-load hook: records the version's name and options.

        Raises ServingError for an unreadable or invalid ``batching_params.pbtxt`` (the load then
        fails, as in TF Serving).
        """
        options = self.default
        if self.per_model:
            file = os.path.join(path, PER_MODEL_FILE)
            options = None
            if os.path.isfile(file):
                proto = read_batching_parameters(file)
                options = from_proto(proto, thread_pool_name=self.thread_pool_name)
        self.configure(model, servable_id.name, options)

    def configure(self, model: Model, name: str, options: BatchingOptions | None) -> None:
        """Batch ``model`` with ``options`` (None: unbatched)."""
        self._register(model, name, options)

    def entry(self, model: Model, name: str) -> ModelEntry | None:
        """``model``'s entry; a model never configured gets the default options."""
        entry = self._entries.get(id(model))
        if entry is not None and entry.ref() is model:
            return entry
        return self._register(model, name, None if self.per_model else self.default)

    def entries(self) -> list[ModelEntry]:
        return list(self._entries.values())

    def _register(
        self, model: Model, name: str, options: BatchingOptions | None
    ) -> ModelEntry | None:
        key = id(model)
        entries = self._entries

        def forget(ref: weakref.ref[Model]) -> None:
            with self._lock:
                current = entries.get(key)
                if current is not None and current.ref is ref:
                    del entries[key]

        try:
            ref = weakref.ref(model, forget)
        except TypeError:
            if type(model) not in self._warned:
                self._warned.add(type(model))
                logger.warning("%s models cannot be weakly referenced: not batched", type(model))
            return None
        entry = ModelEntry(ref, name, options)
        with self._lock:
            entries[key] = entry
        return entry
