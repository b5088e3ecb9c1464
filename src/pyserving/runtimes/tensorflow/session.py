"""Running a loaded TF1 session by tensor name, as TensorFlow Serving does (C++ ``Session::Run``).

Per call: feeds and fetches are looked up as ``TF_Output`` handles (cached per tensor name; the
graph is frozen after load), the ``RunOptions`` (timeout, thread pool) go in a small ``TF_Buffer``
(cached per option pair), and ``Session::Run`` executes. The C++ session caches the pruned,
optimized executors per (feeds, fetches) itself, and the run options are per call, so timeouts of
any value cost nothing extra: no per-timeout executor copies (which would each hold their own copy
of a frozen graph's constants) and no first-request stall per new timeout value.

Fed shapes are not checked against placeholder shapes (TensorFlow Serving's behaviour); a fed dtype
that differs from the placeholder's is TensorFlow's INVALID_ARGUMENT ("Expects arg[0] to be float
but double is provided"). Arrays may be strided or Fortran-ordered (TensorFlow copies them); arrays
in non-native byte order are converted here, since TensorFlow would silently misread them.

Where the graph runs is an :class:`InlineRuns` choice. Measured through ``TensorFlowModel.run`` on
the 2-core dev machine (TensorFlow 2.21; half_plus_two TF1 and TF2, half_plus_three, matrix 64x3x3,
counter get/incr), per call: 20-25 us on TensorFlow's inter-op pool, 3.4-5.1 us on the calling
thread; with 8 calling threads, 8-12.5 us vs ~5.6 us of wall time per call. All test models give
the same results both ways. The calling thread is still not the default: TensorFlow then runs the
graph synchronously and does not enforce ``timeout_in_ms`` at all (a 10^9-step while loop with a
300 ms timeout ran on), and independent ops of one graph no longer run in parallel, which may slow
large graphs down.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from pyserving.errors import Code, ModelRunError, ServingError, invalid_argument, unimplemented
from pyserving.runtimes.tensorflow import _tf
from pyserving.runtimes.tensorflow.signatures import NOT_RUNNABLE
from pyserving.runtimes.tensorflow.status import describe, from_op_error

logger = logging.getLogger(__name__)


class InlineRuns(enum.Enum):
    """Which runs execute on the calling thread (``RunOptions.inter_op_thread_pool = -1``)."""

    NEVER = "never"
    """Every run on TensorFlow's inter-op pool, like TensorFlow Serving. Timeouts enforced."""
    UNTIMED = "untimed"
    """Runs without a timeout on the calling thread; runs with one on the pool, so a timeout is
    still enforced. Same results as NEVER; faster for small graphs when no timeout is set."""
    ALWAYS = "always"
    """Every run on the calling thread. Fastest for small graphs, but ``timeout_ms`` is NOT
    enforced: a run that overruns it completes normally. Only for models known to be quick."""


DEFAULT_INLINE_RUNS: Final = InlineRuns.NEVER

_CALLER_THREAD: Final = -1  # RunOptions.inter_op_thread_pool value meaning "the calling thread".
_MAX_CACHED_RUN_OPTIONS: Final = 256  # gRPC deadlines make many distinct timeouts; bound them.


class _RunOptionsBuffer:
    """One serialized ``RunOptions`` in a C ``TF_Buffer``, freed with the last reference.

    Reference counting (not an explicit free) is what makes the cache below safe: a run still using
    a buffer that was just evicted keeps it alive.
    """

    __slots__ = ("pointer",)

    def __init__(self, data: bytes) -> None:
        self.pointer = _tf.new_buffer(data)

    def __del__(self) -> None:
        # Not contextlib.suppress: at interpreter exit, module globals may already be gone.
        try:  # noqa: SIM105
            _tf.delete_buffer(self.pointer)
        except Exception:
            pass


class SessionRunner:
    """Runs one loaded session. ``run`` is thread-safe and releases the GIL while TensorFlow runs.

    The runner keeps the session and its graph alive for as long as it exists, because the cached
    ``TF_Output`` handles point into the graph: :meth:`close` only closes the session, so that a
    run racing with it fails with TensorFlow's clean "Session has been closed" error, never with a
    dangling pointer. Drop the runner to free the model.
    """

    def __init__(self, session: Any, *, inline_runs: InlineRuns = DEFAULT_INLINE_RUNS) -> None:
        self._session = session
        self._graph = session.graph
        self._handle = _tf.session_handle(session)
        self._inline_runs = inline_runs
        # Lock-free reads (dict reads are atomic); writes under _lock.
        self._outputs: dict[str, Any] = {}
        self._run_options: dict[tuple[int, bool], _RunOptionsBuffer] = {}
        self._lock = threading.Lock()

    @property
    def inline_runs(self) -> InlineRuns:
        return self._inline_runs

    def run(
        self,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
        *,
        inline: bool | None = None,
    ) -> list[np.ndarray]:
        """Feed ``feeds`` (tensor name -> array), return the ``fetches`` tensors in order.

        ``inline`` True/False overrides the runner's :class:`InlineRuns` mode for this call (True:
        on the calling thread, ``timeout_ms`` then unenforced).

        Raises ServingError: TensorFlow's code and message for run failures (INVALID_ARGUMENT for a
        wrong dtype, DEADLINE_EXCEEDED for an overrun timeout...), INVALID_ARGUMENT for a tensor
        name the graph lacks, UNIMPLEMENTED for a sparse/composite signature tensor, INTERNAL for
        anything unexpected.
        """
        outputs = self._outputs
        feed_map: dict[Any, Any] = {}
        for name, value in feeds.items():
            output = outputs.get(name)
            if not value.dtype.isnative:  # TensorFlow would read the bytes as native: wrong values.
                value = value.astype(value.dtype.newbyteorder("="))
            feed_map[output if output is not None else self._resolve(name)] = value
        fetch_list = []
        for name in fetches:
            output = outputs.get(name)
            fetch_list.append(output if output is not None else self._resolve(name))
        run_options = self._options(timeout_ms, inline)
        try:
            results = _tf.session_run(self._handle, run_options.pointer, feed_map, fetch_list)
        except _tf.OpError as exc:
            error = from_op_error(exc)
            raise ModelRunError(error.code, error.message) from None
        except Exception as exc:
            raise ServingError(Code.INTERNAL, f"TensorFlow run failed: {describe(exc)}") from None
        return [_as_array(result) for result in results]

    def close(self) -> None:
        """Close the session; later runs fail with TensorFlow's "Session has been closed"."""
        try:
            self._session.close()
        except Exception as exc:  # Closing cannot usefully fail the unload: log and move on.
            logger.warning("Closing a TensorFlow session failed: %s", describe(exc))

    def _resolve(self, name: str) -> Any:
        if name == NOT_RUNNABLE:
            raise unimplemented(
                "A sparse or composite tensor of this signature was fed or fetched: its TensorInfo "
                "has no tensor name, and only dense tensors can be run by name"
            )
        with self._lock:
            output = self._outputs.get(name)
            if output is None:
                try:
                    output = _tf.to_tf_output(self._graph, name)
                except (KeyError, ValueError, TypeError) as exc:
                    detail = exc.args[0] if exc.args else exc  # KeyError's str() adds quotes.
                    raise invalid_argument(
                        f"Tensor {name} was not found in the model's graph: {detail}"
                    ) from None
                self._outputs[name] = output
            return output

    def _options(self, timeout_ms: int, inline: bool | None = None) -> _RunOptionsBuffer:
        timeout_ms = max(timeout_ms, 0)
        if inline is None:
            inline = self._inline_runs is InlineRuns.ALWAYS or (
                self._inline_runs is InlineRuns.UNTIMED and timeout_ms == 0
            )
        key = (timeout_ms, inline)
        cached = self._run_options.get(key)
        if cached is not None:
            return cached
        proto = _tf.config_pb2.RunOptions(timeout_in_ms=timeout_ms)
        if inline:
            proto.inter_op_thread_pool = _CALLER_THREAD
        buffer = _RunOptionsBuffer(proto.SerializeToString())
        with self._lock:
            if len(self._run_options) >= _MAX_CACHED_RUN_OPTIONS:
                self._run_options = {}
            self._run_options[key] = buffer
        return buffer


def _as_array(value: Any) -> np.ndarray:
    # Session::Run returns numpy scalars (and bare ``bytes`` for DT_STRING) for rank-0 tensors.
    if type(value) is np.ndarray:
        return value
    if isinstance(value, bytes):
        return np.array(value, dtype=object)
    return np.asarray(value)
