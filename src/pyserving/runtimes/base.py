"""The interface every runtime implements, with every optional capability declared and defaulted.

A :class:`Runtime` turns a version directory into a :class:`Model`; a model lists its signatures and
runs them by tensor name. Nothing here knows about HTTP, gRPC, versions, batching or any one
framework's vocabulary. Runtimes subclass these classes and override what they support; callers use
every method unconditionally (the defaults are correct for a runtime that does not care), the way an
httpx transport overrides only what it needs of ``BaseTransport``.

Capabilities and their defaults:

* :meth:`Runtime.is_version_complete` -> True: the file-system source may load the directory as
  soon as it exists (and is stable between polls).
* :meth:`Model.run_on_calling_thread` -> ``run(feeds, fetches, 0)``: a runtime whose ``run`` hands
  work to its own thread pool overrides it to run on the caller's thread (the batcher's batch
  threads and the event loop call it for graphs that take microseconds).
* :meth:`Model.unload` -> nothing to free.
* :attr:`Model.native_signatures` -> None: the runtime keeps no framework-specific description of
  its signatures; front ends build their protocol's metadata from :attr:`Model.signatures`. (The
  TensorFlow runtime returns its SignatureDefs, so TF Serving metadata answers are TensorFlow's.)

Load options: each runtime has its own options type, built from the server flags by the
``options`` function of its registry entry; :class:`LoadOptions` carries them by platform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from pyserving.signature import NativeSignatures, Signature

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """Per-load settings: one options object per platform, each runtime reading its own.

    ``LoadOptions()`` means every runtime's defaults.
    """

    by_platform: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, platform: str, options: object) -> LoadOptions:
        return cls({platform: options})

    def get(self, platform: str, default: T) -> T:
        """The options of ``platform``, or ``default`` (which also gives their type)."""
        value = self.by_platform.get(platform, default)
        if not isinstance(value, type(default)):
            raise TypeError(
                f"Load options for {platform} must be {type(default).__name__}, "
                f"not {type(value).__name__}"
            )
        return value


class Model:
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
    def signatures(self) -> Mapping[str, Signature]:
        """Every signature by key; fixed after load."""
        raise NotImplementedError

    @property
    def native_signatures(self) -> NativeSignatures | None:
        """The runtime's own serialized signatures, fixed after load. Default: None."""
        return None

    def run(
        self,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        raise NotImplementedError

    def run_on_calling_thread(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str]
    ) -> list[np.ndarray]:
        """``run`` without a timeout, doing the work on the calling thread. Default: ``run``."""
        return self.run(feeds, fetches, 0)

    def unload(self) -> None:
        """Free the model. Default: nothing to free."""


class Runtime:
    """Loads model versions of one platform (``model_platform`` in the model config)."""

    platform: str = ""

    def load(self, path: str, options: LoadOptions) -> Model:
        """Load the version directory ``path``. Blocking; may take long.

        Raises :class:`pyserving.errors.ServingError` with a message naming what is wrong (a missing
        ``saved_model.pb``, an unknown tag set...).
        """
        raise NotImplementedError

    def is_version_complete(self, path: str) -> bool:
        """Whether ``path`` looks fully written (the source skips it until then). Default: True."""
        return True

    def check_version_layout(self, path: str) -> None:
        """Raise the :class:`~pyserving.errors.ServingError` ``load`` would give for a directory
        that is not a version of this runtime (no model file, an unsupported format), without
        loading anything: a config change fails fast with it. Default: no check (``load``
        reports what is wrong)."""
