"""Model management: every way the served model config changes, through one serialization point.

:class:`~pyserving.management.controller.ConfigController` applies configs (gRPC
``HandleReloadConfigRequest``, the ``--model_config_file`` poller, the admin API) with TF Serving's
reload semantics; :mod:`~pyserving.management.edits` holds the admin API's single-model edits;
:mod:`~pyserving.management.persist` writes the config file back atomically. Nothing here knows
about HTTP or gRPC: the adapters live in ``pyserving.api``.
"""

from __future__ import annotations
