"""``--model_config_file_poll_wait_seconds``: re-read the model config file periodically.

TF Serving's ``PollFilesystemAndReloadConfig`` thread: every period the file is read and applied
(:meth:`~pyserving.management.controller.ConfigController.sync_with_file`); a parse error or a
rejected config is logged and the served models stay as they are. A period of 0 or less means
the file is read once, at startup.
"""

from __future__ import annotations

import logging
import threading

from pyserving.management.controller import ConfigController

logger = logging.getLogger("pyserving.config")


class ConfigFilePoller:
    """A daemon thread calling ``controller.sync_with_file()`` every ``period_seconds``.

    ``stop`` never waits for a poll blocked on a model load (that poll holds no resource the
    shutdown needs, and the core's shutdown cancels its wait); it only stops further polls.
    """

    def __init__(self, controller: ConfigController, period_seconds: float) -> None:
        self._controller = controller
        self._period = period_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="pyserving-config-poller", daemon=True
        )

    def start(self) -> None:
        logger.info(
            "Polling %s for model config changes every %s s",
            self._controller.config_file,
            self._period,
        )
        self._thread.start()

    def stop(self, join_seconds: float = 1.0) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(join_seconds)

    def _run(self) -> None:
        while not self._stopped.wait(self._period):
            try:
                self._controller.sync_with_file()
            except Exception:
                if self._stopped.is_set():
                    return  # the core is shutting down under a poll in progress
                logger.exception("Polling the model config file failed")


def start_config_poller(
    controller: ConfigController, period_seconds: float
) -> ConfigFilePoller | None:
    """A started poller when there is a config file and ``period_seconds`` > 0, else None."""
    if not controller.config_file or period_seconds <= 0:
        return None
    poller = ConfigFilePoller(controller, period_seconds)
    poller.start()
    return poller
