"""The session ``ConfigProto`` of a load, built from the server flags as TensorFlow Serving does.

* ``--tensorflow_session_config_file``: a text-format ``tensorflow.ConfigProto``, the base config.
  Everything in it applies as written, ``allow_soft_placement`` included; without a file the config
  starts empty, like TensorFlow Serving's C++ ``ConfigProto`` (soft placement off).
* Thread pools, following ``model_servers/server.cc``: all three parallelism flags > 0 is an
  error; if ``--tensorflow_intra_op_parallelism`` or ``--tensorflow_inter_op_parallelism`` is
  > 0, those two give the intra/inter pools (the other one then stays 0 = auto, even when
  ``--tensorflow_session_parallelism`` is set); otherwise ``--tensorflow_session_parallelism``
  gives both. A chosen value of 0 leaves the pool as the config file says (0 = TensorFlow picks),
  so flags left at their defaults never overwrite a file's thread counts.
"""

from __future__ import annotations

from typing import Any

from pyserving.errors import Code, ServingError, invalid_argument
from pyserving.runtimes.tensorflow import _tf
from pyserving.runtimes.tensorflow.options import TensorFlowLoadOptions
from pyserving.runtimes.tensorflow.status import from_op_error


def session_config(options: TensorFlowLoadOptions) -> Any:
    """The ``tensorflow.ConfigProto`` for a session loaded with ``options``.

    Raises ServingError: INVALID_ARGUMENT for conflicting parallelism flags or an unparsable config
    file, the file system's code (NOT_FOUND...) when the file cannot be read.
    """
    intra, inter = thread_pools(options)
    if options.session_config_file:
        config = read_session_config_file(options.session_config_file)
    else:
        config = _tf.config_pb2.ConfigProto()
    if intra != 0:
        config.intra_op_parallelism_threads = intra
    if inter != 0:
        config.inter_op_parallelism_threads = inter
    return config


def thread_pools(options: TensorFlowLoadOptions) -> tuple[int, int]:
    """(intra_op, inter_op) thread counts chosen by the parallelism flags; 0 = not chosen."""
    if (
        options.intra_op_parallelism > 0
        and options.inter_op_parallelism > 0
        and options.session_parallelism > 0
    ):
        raise invalid_argument(
            "Either configure server_options.tensorflow_session_parallelism "
            "or (server_options.tensorflow_intra_op_parallelism, "
            "server_options.tensorflow_inter_op_parallelism) separately. "
            "You cannot configure all."
        )
    if options.intra_op_parallelism > 0 or options.inter_op_parallelism > 0:
        return options.intra_op_parallelism, options.inter_op_parallelism
    return options.session_parallelism, options.session_parallelism


def read_session_config_file(path: str) -> Any:
    """Parse the text-format ``ConfigProto`` at ``path`` (any TensorFlow file system).

    Public so that a caller can validate ``--tensorflow_session_config_file`` once at startup, as
    TensorFlow Serving does, instead of at the first load.
    """
    try:
        with _tf.tf.io.gfile.GFile(path, "rb") as file:
            data = file.read()
    except _tf.OpError as exc:
        error = from_op_error(exc)
        raise ServingError(
            error.code, f"Cannot read the session config file '{path}': {error.message}"
        ) from None
    config = _tf.config_pb2.ConfigProto()
    try:
        _tf.text_format.Parse(data.decode("utf-8"), config)
    except (UnicodeDecodeError, _tf.text_format.ParseError) as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Invalid protobuf file: '{path}': not a text-format tensorflow.ConfigProto: {exc}",
        ) from None
    return config
