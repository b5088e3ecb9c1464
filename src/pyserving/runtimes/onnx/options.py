"""ONNX Runtime session settings, from the server flags. Imports no onnxruntime.

* ``--onnx_intra_op_threads``: threads one operator may use; 0 means one per usable core but one
  (:func:`default_intra_op_threads`): the event loop that parses and answers requests needs a core
  of its own, and intra-op threads on every core contend with it and with each other (measured on
  2 cores with the benchmark MLP at 32 concurrent REST clients: 10% less server CPU per request
  than onnxruntime's own choice, one thread per core).
* ``--onnx_inter_op_threads``: > 0 runs independent operators in parallel on that many threads
  (onnxruntime's parallel execution mode); 0 runs them one after another.
* ``--onnx_graph_optimization_level``: ``disable``, ``basic``, ``extended`` or ``all`` (default).
* ``--onnx_allow_spinning``: intra-op threads busy-wait for work (lower latency for big graphs,
  but idle cores burn CPU the event loop and other models need); off by default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pyserving.errors import invalid_argument

if TYPE_CHECKING:
    from pyserving.config.options import ServerOptions

OPTIMIZATION_LEVELS: Final = ("disable", "basic", "extended", "all")


@dataclass(frozen=True, slots=True)
class OnnxLoadOptions:
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    graph_optimization_level: str = "all"
    allow_spinning: bool = False

    def __post_init__(self) -> None:
        if self.graph_optimization_level not in OPTIMIZATION_LEVELS:
            raise invalid_argument(
                f"Unknown ONNX graph optimization level {self.graph_optimization_level!r}; "
                f"use one of {', '.join(OPTIMIZATION_LEVELS)}"
            )
        if self.intra_op_threads < 0 or self.inter_op_threads < 0:
            raise invalid_argument("ONNX thread counts must be >= 0 (0 = onnxruntime's choice)")


def default_intra_op_threads() -> int:
    """Intra-op threads for ``--onnx_intra_op_threads=0``: the usable cores but one (at least 1)."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


def from_server_options(options: ServerOptions) -> OnnxLoadOptions:
    return OnnxLoadOptions(
        intra_op_threads=options.onnx_intra_op_threads,
        inter_op_threads=options.onnx_inter_op_threads,
        graph_optimization_level=options.onnx_graph_optimization_level,
        allow_spinning=options.onnx_allow_spinning,
    )
