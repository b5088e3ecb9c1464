"""Loading one version through its runtime, with TF Serving's retry rule.

Called on a load worker thread; it blocks for the whole load, retries included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

from pyserving.errors import Code, ServingError
from pyserving.lifecycle.state import ServableId
from pyserving.runtimes.base import Model

logger = logging.getLogger(__name__)


#: Load errors that the same files give again on every attempt: retrying them only delays the
#: report (``pyserving serve`` does not; ``tensorflow_model_server`` retries as TF Serving does).
DETERMINISTIC_CODES: Final = frozenset(
    {Code.NOT_FOUND, Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION, Code.UNIMPLEMENTED}
)

_waiting_lock = threading.Lock()
_waiting_to_retry: set[ServableId] = set()


def is_waiting_to_retry(servable: ServableId) -> bool:
    """Whether ``servable``'s load failed and is waiting out the retry interval (still LOADING,
    but nothing runs: progress reports must not call it loading)."""
    with _waiting_lock:
        return servable in _waiting_to_retry


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
    retry_deterministic_errors: bool = True,
) -> Model:
    """Run ``load`` up to ``1 + max_num_load_retries`` times, ``retry_interval_seconds`` apart.

    Raises the last attempt's error (as a ServingError) when every attempt failed, or early when
    ``cancelled`` is set (the version was un-aspired or the server is shutting down): a pending
    retry is then skipped, but an attempt already running is never interrupted.
    ``retry_deterministic_errors=False`` raises an error with a code in
    :data:`DETERMINISTIC_CODES` at once.
    """
    attempts = 1 + max(0, max_num_load_retries)
    for attempt in range(1, attempts + 1):
        try:
            return load()
        except Exception as exc:
            error = as_serving_error(exc)
        if attempt == attempts:
            break  # the manager logs the final failure with the END transition
        if not retry_deterministic_errors and error.code in DETERMINISTIC_CODES:
            break  # the same files give the same error: report it now
        logger.error(
            "Loading servable version %s failed; retrying in %g s (attempt %d of %d): %s",
            servable,
            retry_interval_seconds,
            attempt,
            attempts,
            error,
        )
        if retry_interval_seconds > 0:
            with _waiting_lock:
                _waiting_to_retry.add(servable)
            try:
                cancelled.wait(retry_interval_seconds)
            finally:
                with _waiting_lock:
                    _waiting_to_retry.discard(servable)
        if cancelled.is_set():
            logger.info("Load retries of servable version %s cancelled", servable)
            break
    raise error
