"""TF Serving's REST URL grammar (http_rest_api_util.cc), including its corner cases.

The path is matched *with* its query string, as TF Serving does: on GET a query string becomes part
of the model name (so the model is not found), on POST the route no longer matches (Malformed).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import unquote

from pyserving.errors import Code, ServingError

_PREDICTION = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)"
)
_MODEL_STATUS = re.compile(
    r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?"
)
_INT64_MAX = 2**63 - 1


class Action(enum.Enum):
    PREDICT = "predict"
    CLASSIFY = "classify"
    REGRESS = "regress"
    STATUS = "status"
    METADATA = "metadata"


_VERBS = {"predict": Action.PREDICT, "classify": Action.CLASSIFY, "regress": Action.REGRESS}


@dataclass(frozen=True, slots=True)
class Route:
    action: Action
    name: str
    version: int | None
    label: str | None


class RouteError(ServingError):
    """A URL TF Serving rejects before producing a JSON body (its response body is empty)."""


def _version(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    if value > _INT64_MAX:
        raise RouteError(Code.INVALID_ARGUMENT, f"Failed to convert version: {text} to numeric.")
    return value


# Resolved routes by (method, path): clients send the same few URLs over and over, and a hit
# skips the regex and the unquoting. Only successes are kept; the size is bounded by clearing.
_CACHE: dict[tuple[str, str], Route] = {}
_CACHE_SIZE = 4096


def match_route(method: str, path: str) -> Route:
    """Resolve ``method path`` (path including any query string) to a :class:`Route`.

    Raises ``ServingError`` INVALID_ARGUMENT ``Malformed request: <METHOD> <path>`` for anything
    outside the grammar, and :class:`RouteError` for the cases answered with an empty body.
    """
    key = (method, path)
    route = _CACHE.get(key)
    if route is None:
        route = _match_route(method, path)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = route
    return route


def _match_route(method: str, path: str) -> Route:
    action: Action | None = None
    match: re.Match[str] | None = None
    if method == "POST":
        match = _PREDICTION.fullmatch(path)
        if match is not None:
            # The pattern is case-insensitive but verbs are compared exactly, as in TF Serving.
            action = _VERBS.get(match.group(4))
    elif method == "GET":
        match = _MODEL_STATUS.fullmatch(path)
        if match is not None:
            # Any other spelling of the subresource (``/METADATA``) is a status request there.
            action = Action.METADATA if match.group(4) == "metadata" else Action.STATUS
    if match is None or action is None:
        raise ServingError(Code.INVALID_ARGUMENT, f"Malformed request: {method} {path}")
    name = unquote(match.group(1) or "")
    version = _version(match.group(2))
    label = unquote(match.group(3)) if match.group(3) else None
    if action in (Action.STATUS, Action.METADATA) and not name:
        raise ServingError(Code.INVALID_ARGUMENT, "Missing model name in request.")
    return Route(action, name, version, label)
