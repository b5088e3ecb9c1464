"""Platform name -> runtime, imported on first use.

Adding a runtime is one package under ``runtimes/``, one :data:`RUNTIMES` entry and one optional
extra in ``pyproject.toml``. An entry names (as ``"module:attribute"``) a zero-argument callable
returning the runtime, and optionally a light function (importing no framework) that turns the
server options into the runtime's own load options.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import LoadOptions, Runtime

if TYPE_CHECKING:
    from pyserving.config.options import ServerOptions


@dataclass(frozen=True, slots=True)
class RuntimeEntry:
    runtime: str
    """``module:attribute`` of a zero-argument callable returning the :class:`Runtime`."""
    extra: str = ""
    """The pyproject extra that installs the framework ("" = nothing to install)."""
    options: str = ""
    """``module:function`` taking :class:`ServerOptions`, returning the load options ("" = none).
    Its module must not import the framework."""
    model_files: tuple[str, ...] = ()
    """File names marking a version directory as this runtime's (platform detection)."""


AUTO_PLATFORM: Final = "auto"
"""The platform that picks a runtime per version directory (see :mod:`.detect`)."""

RUNTIMES: Final[dict[str, RuntimeEntry]] = {
    "tensorflow": RuntimeEntry(
        "pyserving.runtimes.tensorflow.platform:TensorFlowPlatform",
        extra="tensorflow",
        options="pyserving.runtimes.tensorflow.options:from_server_options",
        # export.meta: a legacy SessionBundle is TensorFlow's, so its load fails with TF Serving's
        # "Session Bundle is deprecated" instead of the version staying invisible.
        model_files=("saved_model.pb", "saved_model.pbtxt", "export.meta"),
    ),
    "onnx": RuntimeEntry(
        "pyserving.runtimes.onnx.runtime:OnnxRuntime",
        extra="onnx",
        options="pyserving.runtimes.onnx.options:from_server_options",
        model_files=("model.onnx",),
    ),
    "tflite": RuntimeEntry(
        "pyserving.runtimes.tflite.runtime:TfliteRuntime",
        extra="tflite",
        options="pyserving.runtimes.tflite.options:from_server_options",
        model_files=("model.tflite",),
    ),
    AUTO_PLATFORM: RuntimeEntry("pyserving.runtimes.detect:DetectingRuntime"),
    "fake": RuntimeEntry("pyserving.runtimes.fake:FakeRuntime", model_files=("fake_model.json",)),
}

# The order in which the auto platform asks runtimes whether a directory holds their model: a
# directory with both a SavedModel and a model.onnx is TensorFlow's (TF Serving's platform).
DETECTION_ORDER: Final = ("tensorflow", "onnx", "tflite")

_lock = threading.Lock()
_loaded: dict[str, Runtime] = {}


def is_known_platform(platform: str) -> bool:
    return platform in RUNTIMES


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def get_runtime(platform: str) -> Runtime:
    """The runtime for ``platform``, importing its framework on first use (thread-safe)."""
    with _lock:
        runtime = _loaded.get(platform)
        if runtime is not None:
            return runtime
        entry = RUNTIMES.get(platform)
        if entry is None:
            raise ServingError(Code.INVALID_ARGUMENT, f"Unsupported platform {platform}")
        try:
            factory = _resolve(entry.runtime)
        except ImportError as exc:
            raise ServingError(
                Code.FAILED_PRECONDITION,
                f"The {platform} runtime is not installed ({exc}); "
                f"install it with: pip install 'pyserving[{entry.extra or platform}]'",
            ) from exc
        runtime = cast(Runtime, factory())
        _loaded[platform] = runtime
        return runtime


def load_options(options: ServerOptions) -> LoadOptions:
    """Every registered runtime's load options, built from ``options`` (no framework imported)."""
    built: dict[str, object] = {}
    for platform, entry in RUNTIMES.items():
        if entry.options:
            build = cast(Callable[["ServerOptions"], object], _resolve(entry.options))
            built[platform] = build(options)
    return LoadOptions(built)


def is_loaded(platform: str) -> bool:
    """Whether ``platform``'s runtime (and so its framework) has been loaded in this process."""
    with _lock:
        return platform in _loaded
