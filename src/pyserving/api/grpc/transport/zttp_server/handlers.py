"""The registration surface grpcio's generated ``add_XServicer_to_server`` functions call, so a
servicer registers on this server exactly as on ``grpc.aio``: ``add_generic_rpc_handlers`` and
``add_registered_method_handlers``. What is kept is grpc's own ``RpcMethodHandler`` (its
deserializer, serializer and behaviour), looked up by the request's ``:path``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import grpc

if TYPE_CHECKING:  # grpc's classes are generic only in its stubs
    MethodHandler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    GenericHandler: TypeAlias = grpc.GenericRpcHandler[Any, Any]


class _CallDetails(NamedTuple):
    """``grpc.HandlerCallDetails`` for generic handlers (they look only at ``method``)."""

    method: str
    invocation_metadata: tuple[tuple[str, str | bytes], ...]


class HandlerRegistry:
    """Method handlers by full method path (``/package.Service/Method``)."""

    def __init__(self) -> None:
        self._registered: dict[str, MethodHandler] = {}
        self._generic: list[GenericHandler] = []
        self._resolved: dict[bytes, MethodHandler | None] = {}

    # The two methods generated code calls (same names and arguments as grpc.Server's).
    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[GenericHandler]) -> None:
        self._generic.extend(generic_rpc_handlers)
        self._resolved.clear()

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, MethodHandler]
    ) -> None:
        for method, handler in method_handlers.items():
            self._registered[f"/{service_name}/{method}"] = handler
        self._resolved.clear()

    def lookup(self, path: bytes) -> MethodHandler | None:
        """The handler for ``path``, or None (the call is then UNIMPLEMENTED). Results are cached
        per path; an unknown path is cached too, so a client cannot grow the cache beyond the
        distinct paths it sends (bounded by :data:`MAX_CACHED_PATHS`)."""
        try:
            return self._resolved[path]
        except KeyError:
            pass
        method = path.decode("utf-8", errors="replace")
        handler = self._registered.get(method)
        if handler is None:
            details = _CallDetails(method, ())
            for generic in self._generic:
                found: Any = generic.service(details)  # type: ignore[arg-type]
                if found is not None:
                    handler = found
                    break
        if len(self._resolved) < MAX_CACHED_PATHS or handler is not None:
            self._resolved[path] = handler
        return handler

    def service_names(self) -> list[str]:
        """Services registered by name (what reflection lists)."""
        return sorted({path.split("/")[1] for path in self._registered})


MAX_CACHED_PATHS = 1024
