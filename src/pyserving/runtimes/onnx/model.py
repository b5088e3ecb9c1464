"""One loaded ONNX version: an ``InferenceSession`` and the signature built from its graph."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import onnxruntime as ort

from pyserving.errors import deadline_exceeded, failed_precondition
from pyserving.runtimes.base import Model
from pyserving.runtimes.onnx import types
from pyserving.runtimes.onnx.errors import run_error
from pyserving.runtimes.onnx.watchdog import WATCHDOG
from pyserving.signature import Signature


class OnnxModel(Model):
    """Runs by the graph's input and output names (the signature's tensor names).

    Thread-safety: ``InferenceSession.run`` is thread-safe and releases the GIL; ``unload`` drops
    the session, which onnxruntime frees once in-flight runs (holding a reference) end.
    """

    platform = "onnx"

    def __init__(
        self,
        path: str,
        session: ort.InferenceSession,
        signatures: Mapping[str, Signature],
        string_inputs: frozenset[str],
        string_outputs: frozenset[str],
    ) -> None:
        self._path = path
        self._session: ort.InferenceSession | None = session
        self._signatures: Mapping[str, Signature] = MappingProxyType(dict(signatures))
        self._string_inputs = string_inputs
        self._string_outputs = string_outputs
        self._unload_lock = threading.Lock()

    @property
    def path(self) -> str:
        return self._path

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return self._signatures

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        session = self._session  # A local reference keeps the session alive for this run.
        if session is None:
            raise failed_precondition(f"The model loaded from {self._path} has been unloaded")
        inputs = self._inputs(feeds)
        if timeout_ms <= 0:
            return self._outputs(fetches, _run(session, fetches, inputs, None))
        run_options = ort.RunOptions()
        deadline = WATCHDOG.arm(run_options, timeout_ms)
        try:
            outputs = _run(session, fetches, inputs, run_options)
        except Exception:
            if deadline.fired:
                raise deadline_exceeded(
                    f"The ONNX model run took longer than its {timeout_ms} ms deadline"
                ) from None
            raise
        finally:
            WATCHDOG.disarm(deadline)
        return self._outputs(fetches, outputs)

    def _inputs(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not self._string_inputs:
            return dict(feeds)
        return {
            name: types.to_onnx_strings(name, array)
            if name in self._string_inputs and array.dtype == object
            else array
            for name, array in feeds.items()
        }

    def _outputs(self, fetches: Sequence[str], outputs: list[Any]) -> list[np.ndarray]:
        if not self._string_outputs:
            return outputs
        return [
            types.from_onnx_strings(out) if name in self._string_outputs else out
            for name, out in zip(fetches, outputs, strict=True)
        ]

    def unload(self) -> None:
        with self._unload_lock:
            self._session = None


def _run(
    session: ort.InferenceSession,
    fetches: Sequence[str],
    inputs: dict[str, np.ndarray],
    run_options: Any,
) -> list[Any]:
    try:
        return list(session.run(list(fetches), inputs, run_options))
    except Exception as exc:
        if run_options is not None and run_options.terminate:
            raise  # the caller turns it into DEADLINE_EXCEEDED
        raise run_error(exc) from None
