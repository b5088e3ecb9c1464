"""Platform name -> runtime, imported on first use."""

from __future__ import annotations

import importlib
import threading
from typing import Final, cast

from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import Runtime

# "module:attribute" of a zero-argument callable returning the runtime.
RUNTIMES: Final[dict[str, str]] = {
    "tensorflow": "pyserving.runtimes.tensorflow:TensorFlowRuntime",
    "fake": "pyserving.runtimes.fake:FakeRuntime",
}

_lock = threading.Lock()
_loaded: dict[str, Runtime] = {}


def is_known_platform(platform: str) -> bool:
    return platform in RUNTIMES


def get_runtime(platform: str) -> Runtime:
    """The runtime for ``platform``, importing its framework on first use (thread-safe)."""
    with _lock:
        runtime = _loaded.get(platform)
        if runtime is not None:
            return runtime
        target = RUNTIMES.get(platform)
        if target is None:
            raise ServingError(Code.INVALID_ARGUMENT, f"Unsupported platform {platform}")
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ServingError(
                Code.FAILED_PRECONDITION,
                f"The {platform} runtime is not installed ({exc}); "
                f"install it with: pip install 'pyserving[{platform}]'",
            ) from exc
        runtime = cast(Runtime, getattr(module, attr)())
        _loaded[platform] = runtime
        return runtime
