"""When a version listed in an object store looks finished, for every runtime.

Object stores have no atomic directory rename, so a version is complete when

* its listing shows a model file a runtime loads (``saved_model.pb``, ``model.onnx``...), written
  last by exporters and upload tools that copy in name order or file by file; or
* it holds the ready marker :data:`READY_MARKER` (an empty object named ``_READY``), which a
  publisher writes after every other object of the version.

Once a version under a base path has a marker (its own, or one of the newest other versions'),
the base path is taken to use markers: from then on a version there is complete only with its
marker, whatever else it holds (versions already accepted are not re-checked, so a served version
never disappears because of this).
The source adds the other condition: the listing unchanged across two polls.

The names are per platform, from the runtime registry (one list for the whole server), so this
stays runtime-neutral: a platform without its own names (``auto``, one not registered) accepts any
of the known model files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pyserving.runtimes.registry import RUNTIMES  # (a table: imports no runtime's framework)

READY_MARKER: Final = "_READY"

_ANY_MODEL_FILE: Final = frozenset(name for e in RUNTIMES.values() for name in e.model_files)


def model_files(platform: str) -> frozenset[str]:
    """The top-level file names that make a version of ``platform`` loadable: the runtime
    registry's ``model_files`` (the same names the ``auto`` platform detects runtimes by)."""
    entry = RUNTIMES.get(platform)
    if entry is None or not entry.model_files:
        return _ANY_MODEL_FILE
    return frozenset(entry.model_files)


def looks_complete(platform: str, names: Iterable[str], *, markers_required: bool) -> bool:
    """Whether a version whose relative file paths are ``names`` looks finished (see above)."""
    present = set(names)
    if READY_MARKER in present:
        return True
    if markers_required:
        return False
    return not model_files(platform).isdisjoint(present)
