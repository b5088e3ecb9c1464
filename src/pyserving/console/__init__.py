"""The operator's console (``/`` and ``/console/``) and the handwritten-digits page
(``/demo/digits``), served on the REST port.

The pages are plain HTML/JS/CSS in ``static/`` (package data, no build step, no external
requests). They read two JSON documents this package serves (``/console/api/models``: models,
versions, states, labels, signatures; ``/console/api/metrics``: per-model rates and latencies over
the last minutes) and otherwise call the public APIs any client could call: ``/v1/models/...`` to
predict, ``/v1/admin/...`` for operator actions.
"""

from pyserving.console.metrics_window import MetricsWindow
from pyserving.console.routes import ConsolePermissions, console_routes

__all__ = ["ConsolePermissions", "MetricsWindow", "console_routes"]
