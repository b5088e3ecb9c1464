"""Loading one version through its runtime, with TF Serving's retry rule.

Called on a load worker thread; it blocks for the whole load, retries included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pyserving.errors import Code, ServingError
from pyserving.lifecycle.state import ServableId
from pyserving.runtimes.base import Model

logger = logging.getLogger(__name__)


def as_serving_error(exc: Exception) -> ServingError:
    """A runtime's ServingError as is; any other exception becomes UNKNOWN with its text."""
    if isinstance(exc, ServingError):
        return exc
    return ServingError(Code.UNKNOWN, str(exc) or type(exc).__name__)


def load_with_retries(
    servable: ServableId,
    load: Callable[[], Model],
    *,
    max_num_load_retries: int,
    retry_interval_seconds: float,
    cancelled: threading.Event,
) -> Model:
    """Run ``load`` up to ``1 + max_num_load_retries`` times, ``retry_interval_seconds`` apart.

    Raises the last attempt's error (as a ServingError) when every attempt failed, or early when
    ``cancelled`` is set (the version was un-aspired or the server is shutting down): a pending
    retry is then skipped, but an attempt already running is never interrupted.
    """
    attempts = 1 + max(0, max_num_load_retries)
    for attempt in range(1, attempts + 1):
        try:
            return load()
        except Exception as exc:
            error = as_serving_error(exc)
        if attempt == attempts:
            break  # the manager logs the final failure with the END transition
        logger.error(
            "Loading servable: %s failed: %s (attempt %d of %d; retrying)",
            servable,
            error,
            attempt,
            attempts,
        )
        if retry_interval_seconds > 0:
            cancelled.wait(retry_interval_seconds)
        if cancelled.is_set():
            logger.info("Load retries of servable version %s cancelled", servable)
            break
    raise error
