"""One loaded SavedModel version: its signatures and the session that runs them."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from pyserving.errors import failed_precondition
from pyserving.runtimes.base import Model
from pyserving.runtimes.tensorflow.session import InlineRuns, SessionRunner
from pyserving.signature import NativeSignatures, Signature


class TensorFlowModel(Model):
    """A SavedModel loaded into its own TF1 session.

    Thread-safety: ``signatures`` never changes; ``run`` may be called from any number of threads
    at once; ``unload`` may come from another thread. A ``run`` after ``unload`` raises
    FAILED_PRECONDITION; one racing with it may instead get TensorFlow's CANCELLED "Session has
    been closed", never a crash.
    """

    def __init__(
        self,
        path: str,
        signatures: Mapping[str, Signature],
        signature_defs: NativeSignatures,
        runner: SessionRunner,
    ):
        self._path = path
        self._signatures: Mapping[str, Signature] = MappingProxyType(dict(signatures))
        self._signature_defs = signature_defs
        self._runner: SessionRunner | None = runner
        self._unload_lock = threading.Lock()

    @property
    def path(self) -> str:
        """The version directory this model was loaded from."""
        return self._path

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return self._signatures

    @property
    def native_signatures(self) -> NativeSignatures:
        """The SavedModel's SignatureDefs (``tensorflow.SignatureDef``), serialized
        deterministically, so TF Serving metadata answers are byte for byte TensorFlow Serving's."""
        return self._signature_defs

    @property
    def inline_runs(self) -> InlineRuns | None:
        """Where runs execute (see :class:`InlineRuns`); None once unloaded."""
        runner = self._runner
        return runner.inline_runs if runner is not None else None

    def run(
        self,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        """Feed tensors by name and fetch tensors by name; see :meth:`SessionRunner.run`."""
        runner = self._runner  # A local reference keeps the session alive for this whole run.
        if runner is None:
            raise failed_precondition(f"The model loaded from {self._path} has been unloaded")
        return runner.run(feeds, fetches, timeout_ms)

    def run_on_calling_thread(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str]
    ) -> list[np.ndarray]:
        """``run`` without a timeout, executing the graph on the calling thread whatever the
        :class:`InlineRuns` mode: no hand-off to TensorFlow's inter-op pool (microseconds per
        call), independent ops run one after another, intra-op parallelism is unchanged. The
        batcher uses it: its batch threads are already one per core."""
        runner = self._runner
        if runner is None:
            raise failed_precondition(f"The model loaded from {self._path} has been unloaded")
        return runner.run(feeds, fetches, 0, inline=True)

    def unload(self) -> None:
        """Close the session and drop it; idempotent. Memory returns once in-flight runs end."""
        with self._unload_lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()
