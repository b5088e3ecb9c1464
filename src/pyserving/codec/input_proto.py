"""``tensorflow.serving.Input`` (Classify/Regress/MultiInference requests, warmup and request
logs) to the core's :class:`~pyserving.service.types.ExampleInput`."""

from __future__ import annotations

from pyserving.protos import input_pb2
from pyserving.service.types import ExampleInput


def example_input(data: input_pb2.Input) -> ExampleInput:
    """Serialized Examples (and context) of an ``Input``; an unset ``Input`` is empty, which the
    core rejects with TF's ``Input is empty.``."""
    kind = data.WhichOneof("kind")
    if kind == "example_list":
        return ExampleInput([e.SerializeToString() for e in data.example_list.examples])
    if kind == "example_list_with_context":
        listed = data.example_list_with_context
        return ExampleInput(
            [e.SerializeToString() for e in listed.examples], listed.context.SerializeToString()
        )
    return ExampleInput([])
