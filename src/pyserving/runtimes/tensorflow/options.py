"""The TensorFlow runtime's load options (TF Serving's SessionBundleConfig), from the server flags.

Imports no TensorFlow: the composition root builds these for every server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyserving.config.options import ServerOptions


@dataclass(frozen=True, slots=True)
class TensorFlowLoadOptions:
    """``--saved_model_tags`` and the session flags (see :mod:`.session_config`)."""

    tags: tuple[str, ...] = ("serve",)
    session_parallelism: int = 0
    intra_op_parallelism: int = 0
    inter_op_parallelism: int = 0
    session_config_file: str = ""


def from_server_options(options: ServerOptions) -> TensorFlowLoadOptions:
    return TensorFlowLoadOptions(
        tags=tuple(t.strip() for t in options.saved_model_tags.split(",") if t.strip()),
        session_parallelism=options.tensorflow_session_parallelism,
        intra_op_parallelism=options.tensorflow_intra_op_parallelism,
        inter_op_parallelism=options.tensorflow_inter_op_parallelism,
        session_config_file=options.tensorflow_session_config_file,
    )
