"""TFLite load options from TF Serving's flags. Imports no framework.

* ``--prefer_tflite_model``: a ``tensorflow`` version directory holding ``model.tflite`` is served
  from it instead of its SavedModel (TF Serving's experimental behaviour).
* ``--num_tflite_pools`` x ``--num_tflite_interpreters_per_pool``: interpreters per version (one
  runs one request at a time; TF Serving's pools, flattened into one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pyserving.config.options import ServerOptions

MODEL_FILE: Final = "model.tflite"


@dataclass(frozen=True, slots=True)
class TfliteLoadOptions:
    prefer_tflite_model: bool = False
    interpreters: int = 1


def from_server_options(options: ServerOptions) -> TfliteLoadOptions:
    return TfliteLoadOptions(
        prefer_tflite_model=options.prefer_tflite_model,
        interpreters=max(1, options.num_tflite_pools * options.num_tflite_interpreters_per_pool),
    )
