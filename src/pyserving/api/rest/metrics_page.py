"""The Prometheus page route (``--monitoring_config_file``, reference §7).

Like TF Serving's ``http_server.cc``: an exact path (any method) answering 200 ``text/plain``. The
page is rendered on a worker thread: in multi-process mode it reads every process's metric files,
which must not stall the event loop.
"""

from __future__ import annotations

import asyncio

from pyserving.api.rest.extensions import HttpRequest, HttpResponse, RouteHandler
from pyserving.observability.metrics import render_page
from pyserving.observability.metrics.exposition import CONTENT_TYPE


async def metrics_page(request: HttpRequest) -> HttpResponse:
    body = await asyncio.to_thread(render_page)
    return HttpResponse(200, body, CONTENT_TYPE)


def metrics_routes(path: str) -> dict[str, RouteHandler]:
    return {path: metrics_page}
