"""Batching from the server options: TF Serving's flags, and ``pyserving serve``'s defaults.

* ``--enable_batching`` off: no batching (``--batching_parameters_file`` without it is refused
  earlier, by ``config.flags.validate``).
* on, with ``--batching_parameters_file``: that file's parameters for every model;
* on, without a file: TF's defaults with the thread pool named ``model_server_batch_threads``, or
  with ``batching_defaults="serve"`` (what ``pyserving serve`` sets) the adaptive
  :func:`~pyserving.batching.params.serve_defaults`;
* ``--enable_per_model_batching_parameters`` (with batching on): each version's
  ``batching_params.pbtxt``; the global parameters then only size and name the shared threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyserving.batching.params import (
    MODEL_SERVER_THREAD_POOL_NAME,
    BatchingOptions,
    from_proto,
    read_batching_parameters,
    serve_defaults,
)
from pyserving.batching.policy import BatchingPolicy
from pyserving.config.options import ServerOptions

SERVE_DEFAULTS = "serve"


@dataclass(frozen=True, slots=True)
class BatchingSetup:
    policy: BatchingPolicy
    num_batch_threads: int
    thread_pool_name: str


def batching_setup(options: ServerOptions) -> BatchingSetup | None:
    """The batching the options ask for, or None. Raises ServingError for a bad parameters
    file (reported at startup, before any model loads)."""
    if not options.enable_batching:
        return None
    global_options = _global_options(options)
    policy = BatchingPolicy(
        None if options.enable_per_model_batching_parameters else global_options,
        per_model=options.enable_per_model_batching_parameters,
        thread_pool_name=global_options.thread_pool_name,
    )
    return BatchingSetup(policy, global_options.num_batch_threads, global_options.thread_pool_name)


def _global_options(options: ServerOptions) -> BatchingOptions:
    if options.batching_parameters_file:
        return from_proto(read_batching_parameters(options.batching_parameters_file))
    if options.batching_defaults == SERVE_DEFAULTS:
        return serve_defaults()
    return BatchingOptions(thread_pool_name=MODEL_SERVER_THREAD_POOL_NAME)
