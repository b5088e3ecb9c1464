"""The ``auto`` platform: each version directory is served by the runtime whose model it holds.

``pyserving serve`` gives its models this platform, and a model config may ask for it with
``model_platform: "auto"``. A directory is a runtime's when it holds one of the runtime's
``model_files`` (:data:`pyserving.runtimes.registry.RUNTIMES`), asked in
:data:`~pyserving.runtimes.registry.DETECTION_ORDER`: a directory holding both a SavedModel and a
``model.onnx`` is TensorFlow's (configure ``model_platform: "onnx"`` to serve the other). Versions
of one model may differ: a model can move from a SavedModel to ONNX one version at a time. Only the
runtime a directory needs is imported (an ONNX-only server never imports TensorFlow).
"""

from __future__ import annotations

import os

from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import LoadOptions, Model, Runtime
from pyserving.runtimes.registry import AUTO_PLATFORM, DETECTION_ORDER, RUNTIMES, get_runtime


def platform_of(path: str) -> str | None:
    """The platform whose model files ``path`` holds, or None."""
    for platform in DETECTION_ORDER:
        if any(os.path.isfile(os.path.join(path, f)) for f in RUNTIMES[platform].model_files):
            return platform
    return None


def _expected() -> str:
    return ", ".join(f for p in DETECTION_ORDER for f in RUNTIMES[p].model_files)


class DetectingRuntime(Runtime):
    platform = AUTO_PLATFORM

    def is_version_complete(self, path: str) -> bool:
        platform = platform_of(path)
        return platform is not None and get_runtime(platform).is_version_complete(path)

    def check_version_layout(self, path: str) -> None:
        get_runtime(_platform_or_raise(path)).check_version_layout(path)

    def load(self, path: str, options: LoadOptions) -> Model:
        return get_runtime(_platform_or_raise(path)).load(path, options)


def _platform_or_raise(path: str) -> str:
    platform = platform_of(path)
    if platform is None:
        raise ServingError(
            Code.NOT_FOUND,
            f"Found no model in {path}: expected one of {_expected()} "
            "(or configure the model's platform)",
        )
    return platform
