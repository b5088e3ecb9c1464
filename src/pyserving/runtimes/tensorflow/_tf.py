"""The TensorFlow boundary: the only module of the runtime that imports TensorFlow.

TensorFlow ships no type information, so every TensorFlow object is ``Any`` here and in the few
functions below; the rest of the runtime turns them into numpy arrays or pyserving types at once.

Besides the public API this uses three private pieces of TensorFlow's own ``Session``
implementation, kept here so that a TensorFlow upgrade that moves them breaks one file:

* ``Session._session``: the C ``TF_Session`` handle,
* ``Tensor._as_tf_output()``: the C ``TF_Output`` (operation pointer + index) of a graph tensor,
* ``pywrap_tf_session.TF_SessionRun_wrapper`` and the ``TF_Buffer`` helpers: the C++
  ``Session::Run`` entry point that ``Session.run`` itself ends in.

Calling ``Session::Run`` directly is what TensorFlow Serving does, and it is what lets a request
feed ``[2.0, 3.0, 4.0]`` (shape [3]) to a ``[-1, 1]`` placeholder: the shape check that refuses it
lives only in the Python ``Session.run``/``make_callable`` layer.
"""

from __future__ import annotations

from typing import Any, Final

import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import config_pb2, saved_model_pb2
from tensorflow.python.client import pywrap_tf_session
from tensorflow.python.util import deprecation

__all__ = [
    "OpError",
    "config_pb2",
    "delete_buffer",
    "load_saved_model",
    "new_buffer",
    "new_session",
    "saved_model_pb2",
    "session_handle",
    "session_run",
    "text_format",
    "tf",
    "to_tf_output",
]

OpError: Final[type[Exception]] = tf.errors.OpError


def new_session(config: Any) -> Any:
    """A TF1 session on a fresh graph, configured by ``config`` (a ``ConfigProto``).

    The config is always given explicitly: with ``config=None`` Python sessions inherit the eager
    context's defaults (soft placement on, ...), which TensorFlow Serving's C++ sessions don't.
    """
    return tf.compat.v1.Session(graph=tf.Graph(), config=config)


def load_saved_model(session: Any, tags: list[str], path: str) -> Any:
    """``tf.compat.v1.saved_model.loader.load`` (TF Serving's TF1 session loading), without the
    deprecation warning TensorFlow logs for that API on every call: it is for TensorFlow's users,
    and here it would only be noise in the server's log."""
    with deprecation.silence():
        return tf.compat.v1.saved_model.loader.load(session, tags, path)


def session_handle(session: Any) -> Any:
    """The C ``TF_Session`` of ``session``; valid until the Python session object is deleted."""
    return session._session


def to_tf_output(graph: Any, tensor_name: str) -> Any:
    """The ``TF_Output`` of ``tensor_name`` (``op:index``); raises KeyError/ValueError if unknown.

    A ``TF_Output`` holds a raw pointer into ``graph``: keep the graph alive while it is used.
    """
    return graph.get_tensor_by_name(tensor_name)._as_tf_output()


def new_buffer(data: bytes) -> Any:
    """A C ``TF_Buffer`` holding a copy of ``data``; free it with :func:`delete_buffer`."""
    return pywrap_tf_session.TF_NewBufferFromString(data)


def delete_buffer(buffer: Any) -> None:
    pywrap_tf_session.TF_DeleteBuffer(buffer)


def session_run(handle: Any, run_options: Any, feeds: dict[Any, Any], fetches: list[Any]) -> Any:
    """C++ ``Session::Run``: ``feeds`` maps ``TF_Output`` -> array; returns one value per fetch.

    Releases the GIL while TensorFlow runs. Raises ``tf.errors.OpError`` for TensorFlow failures.
    The C++ session caches its executors per (feeds, fetches), so nothing needs caching here, and
    ``run_options`` (a ``TF_Buffer`` with a serialized ``RunOptions``) can differ on every call.
    """
    return pywrap_tf_session.TF_SessionRun_wrapper(handle, run_options, feeds, fetches, [], None)
