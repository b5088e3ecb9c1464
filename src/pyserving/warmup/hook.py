"""The warmup step of a load: ``--enable_model_warmup`` and ``--num_request_iterations_for_warmup``.

:class:`ModelWarmup` is a :data:`~pyserving.lifecycle.manager.PostLoadHook`: the manager calls it
on the load thread after the runtime loaded a version and before that version is published, so
no request reaches a version whose warmup has not finished. Raising fails the load attempt (the
model is unloaded and ``--max_num_load_retries`` applies), as a failed warmup does in TF Serving.
"""

from __future__ import annotations

import logging
import os
import time

from pyserving.errors import ServingError
from pyserving.lifecycle.manager import PostLoadHook
from pyserving.lifecycle.state import ServableId
from pyserving.observability.metrics.recorders import record_warmup
from pyserving.runtimes.base import Model
from pyserving.warmup.records import WARMUP_FILE, read_warmup_logs
from pyserving.warmup.replay import replay

logger = logging.getLogger("pyserving.warmup")


class ModelWarmup:
    """Replays ``<version>/assets.extra/tf_serving_warmup_requests``, each record
    ``num_request_iterations`` times (TF Serving's default: once). No file: nothing to do."""

    def __init__(self, num_request_iterations: int = 1) -> None:
        self.num_request_iterations = max(1, num_request_iterations)

    def __call__(self, servable: ServableId, path: str, model: Model) -> None:
        file = os.path.join(path, WARMUP_FILE)
        if not os.path.isfile(file):
            logger.info("No warmup data file found at %s", file)
            return
        logger.info(
            "Starting to read warmup data for model at %s with model-warmup-options "
            "num_request_iterations: %d",
            file,
            self.num_request_iterations,
        )
        start = time.monotonic()
        count = 0
        try:
            for log in read_warmup_logs(file):
                for _ in range(self.num_request_iterations):
                    replay(model, log, servable.version)
                count += 1
        except ServingError as error:
            record_warmup(path, str(error), (time.monotonic() - start) * 1e6, count)
            raise
        record_warmup(path, "OK", (time.monotonic() - start) * 1e6, count)
        logger.info(
            "Finished reading warmup data for model at %s. Number of warmup records read: %d. "
            "Elapsed time (microseconds): %d.",
            file,
            count,
            int((time.monotonic() - start) * 1e6),
        )


def warmup_hook(
    enable_model_warmup: bool, num_request_iterations_for_warmup: int
) -> PostLoadHook | None:
    """The hook for these flag values: None when warmup is disabled; an iteration count of 0
    (the flag's default) means TF Serving's default of one replay per record."""
    if not enable_model_warmup:
        return None
    return ModelWarmup(num_request_iterations_for_warmup or 1)
