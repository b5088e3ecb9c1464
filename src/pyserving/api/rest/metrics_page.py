"""The Prometheus page route (``--monitoring_config_file``, reference §7).

Like TF Serving's ``http_server.cc``: an exact path (any method) answering 200 ``text/plain``. The
page is rendered on a worker thread: in multi-process mode it reads every process's metric files,
which must not stall the event loop.
"""

from __future__ import annotations

import asyncio

from pyserving.api.rest.extensions import HttpRequest, HttpResponse
from pyserving.api.rest.router import BaseRoute, json_route
from pyserving.observability.metrics import render_page
from pyserving.observability.metrics.exposition import CONTENT_TYPE


async def metrics_page(request: HttpRequest) -> HttpResponse:
    body = await asyncio.to_thread(render_page)
    return HttpResponse(200, body, CONTENT_TYPE)


def metrics_routes(path: str) -> list[BaseRoute]:
    """The page's route (exactly ``path``, every method, as TF Serving) for the front door's
    router. A configured path without a leading ``/`` matches no request there, nor here."""
    if not path.startswith("/"):
        return []
    return [json_route(path, metrics_page, literal=True)]
