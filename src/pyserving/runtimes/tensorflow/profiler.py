"""Traces of the TensorFlow runtime, for the ``tensorflow.ProfilerService`` adapter.

TensorFlow's profiler records every TensorFlow op run in this process (host and, where present,
device activity) between ``start`` and ``stop``, as one serialized ``tensorflow.profiler.XSpace``;
TensorBoard reads it from ``<repository_root>/<session_id>/<host>.xplane.pb``. One session at a time
per process (TensorFlow's rule): a second concurrent trace is FAILED_PRECONDITION.
"""

from __future__ import annotations

import threading

from pyserving.errors import Code, ServingError, failed_precondition
from pyserving.runtimes.tensorflow import _tf


def record(duration_ms: int, stop: threading.Event) -> bytes:
    """Trace for ``duration_ms`` (or until ``stop`` is set); the serialized XSpace."""
    from tensorflow.python.profiler.internal import _pywrap_profiler

    session = _pywrap_profiler.ProfilerSession()
    try:
        session.start("", {})
    except _tf.OpError as exc:
        if isinstance(exc, _tf.tf.errors.AlreadyExistsError):
            raise failed_precondition(
                "A profiling session is already running in this server; retry when it ends"
            ) from None
        raise ServingError(Code.UNKNOWN, f"Could not start the profiler: {exc}") from None
    stop.wait(duration_ms / 1000)
    xspace: bytes = session.stop()
    return xspace


def save(repository_root: str, session_id: str, host_name: str, xspace: bytes) -> str:
    """Write ``xspace`` where TensorBoard looks for it; any TensorFlow file system. Returns the
    path written."""
    gfile = _tf.tf.io.gfile
    directory = gfile.join(repository_root, session_id)
    gfile.makedirs(directory)
    path: str = gfile.join(directory, f"{host_name or 'localhost'}.xplane.pb")
    with gfile.GFile(path, "wb") as out:
        out.write(xspace)
    return path
