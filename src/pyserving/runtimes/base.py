"""The narrow interface every runtime implements.

A :class:`Runtime` turns a version directory into a :class:`Model`; a model lists its signatures and
runs them by tensor name, the way a TensorFlow session does. Nothing here knows about HTTP, gRPC,
versions or batching.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pyserving.signature import Signature


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """Per-load settings taken from the server flags (TF Serving's SessionBundleConfig)."""

    tags: tuple[str, ...] = ("serve",)
    session_parallelism: int = 0
    intra_op_parallelism: int = 0
    inter_op_parallelism: int = 0
    session_config_file: str = ""


class Model(Protocol):
    """A loaded model version.

    Contract:
    * ``signatures`` is fixed after load and safe to read from any thread.
    * ``run`` is blocking and thread-safe; it may release the GIL. It feeds ``feeds`` (tensor name
      -> array) and returns one array per name in ``fetches``, in order. ``timeout_ms`` > 0 bounds
      the run (DEADLINE_EXCEEDED). Failures raise :class:`pyserving.errors.ServingError` with the
      runtime's canonical code (a TensorFlow InvalidArgumentError becomes INVALID_ARGUMENT...).
    * ``unload`` is called once, after the last ``run`` has returned; it frees the model.
    """

    @property
    def signatures(self) -> Mapping[str, Signature]: ...

    def run(
        self,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]: ...

    def unload(self) -> None: ...


class Runtime(Protocol):
    """Loads model versions of one platform (``model_platform`` in the model config)."""

    platform: str

    def load(self, path: str, options: LoadOptions) -> Model:
        """Load the version directory ``path``. Blocking; may take long.

        Raises :class:`pyserving.errors.ServingError` with a message naming what is wrong (a missing
        ``saved_model.pb``, an unknown tag set...).
        """
        ...
