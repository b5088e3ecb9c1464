"""The HTTP ceiling: a bare ASGI app on uvicorn + httptools + uvloop that parses the JSON body and
does no model work (each number instance becomes 0.5x+2, each list instance ten zeros).

Run: ``uvicorn asgi_ceiling:app --http httptools --loop uvloop --no-access-log``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Message = MutableMapping[str, Any]
_HEADERS = [(b"content-type", b"application/json")]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    instances = orjson.loads(b"".join(chunks))["instances"]
    predictions = [0.5 * x + 2 if isinstance(x, float | int) else [0.0] * 10 for x in instances]
    body = orjson.dumps({"predictions": predictions})
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
