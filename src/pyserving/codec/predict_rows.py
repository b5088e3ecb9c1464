"""Row-format predict requests: ``{"instances": [...]}``, one array element per batch row.

TF Serving's ``FillTensorMapFromInstancesList``: with one input each element is that input's value
(scalar, nested list or b64 object); with several, each element is an object whose keys are exactly
the input names. Every element must have the shape and size of the first; the tensor is their stack,
``[len(instances)] + element shape``. Element errors are wrapped as ``Failed to process element: N
[key: K] of 'instances' list. Error: <CODE>: <message>`` (TF embeds ``Status::ToString()``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pyserving.codec.b64 import is_b64_object
from pyserving.codec.json_text import value_text
from pyserving.codec.tensor_fast import fast_tensor
from pyserving.codec.tensor_fill import dense_shape, fill, to_array
from pyserving.dtypes import DataType
from pyserving.errors import ServingError, invalid_argument
from pyserving.signature import TensorSpec


def is_element_object(value: object) -> bool:
    """An object holding named inputs (as opposed to a b64 value)."""
    return type(value) is dict and not is_b64_object(value)


def decode_rows(
    instances: list[object], inputs: Mapping[str, TensorSpec], *, booleans: bool = True
) -> dict[str, np.ndarray]:
    """``booleans=False``: the caller knows ``instances`` holds no JSON boolean."""
    names = sorted(inputs)
    if type(instances[0]) is not dict and len(names) > 1:
        raise invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input tensors "
            "required as per tensorinfo_map"
        )
    if is_element_object(instances[0]):
        tensors = _fast_objects(instances, inputs, names, booleans)
        return tensors if tensors is not None else _slow_objects(instances, inputs, names)
    # Values: they all belong to the first input (the only one, unless the first element was a
    # b64 object, which TF lets through to this branch whatever the number of inputs).
    name = names[0]
    tensor = fast_tensor(instances, inputs[name].dtype, booleans=booleans)
    if tensor is None:
        tensor = _slow_values(instances, inputs[name].dtype)
    return {name: tensor}


def _fast_objects(
    instances: list[object], inputs: Mapping[str, TensorSpec], names: list[str], booleans: bool
) -> dict[str, np.ndarray] | None:
    expected = set(names)
    for element in instances:
        if type(element) is not dict or element.keys() != expected or is_b64_object(element):
            return None
    tensors: dict[str, np.ndarray] = {}
    for name in names:
        column = [element[name] for element in instances]  # type: ignore[index]
        tensor = fast_tensor(column, inputs[name].dtype, booleans=booleans)
        if tensor is None:
            return None
        tensors[name] = tensor
    return tensors


class _Stack:
    """The leaves of one input across elements, with the first element's shape and size."""

    def __init__(self, dtype: DataType) -> None:
        self.dtype = dtype
        self.leaves: list[object] = []
        self.shape: list[int] | None = None
        self.size = 0
        self.count = 0

    def add(self, value: object) -> None:
        """TF's ``AddInstanceItem`` for one element; raises the error to be wrapped."""
        shape = dense_shape(value)
        before = len(self.leaves)
        fill(value, shape, self.dtype, self.leaves)
        size = len(self.leaves) - before
        if self.shape is None:
            self.shape, self.size = shape, size
        elif size != self.size:
            raise invalid_argument(f"Expecting tensor size: {self.size} but got: {size}")
        elif shape != self.shape:
            raise invalid_argument(
                f"Expecting shape {_shape_text(self.shape)} but got: {_shape_text(shape)}"
            )
        self.count += 1

    def tensor(self) -> np.ndarray:
        assert self.shape is not None
        return to_array(self.leaves, [self.count, *self.shape], self.dtype)


def _shape_text(shape: list[int]) -> str:
    return "[" + ",".join(map(str, shape)) + "]"


def _wrap(index: int, key: str | None, error: ServingError) -> ServingError:
    where = f"{index}" if key is None else f"{index} key: {key}"
    return invalid_argument(
        f"Failed to process element: {where} of 'instances' list. Error: {error}"
    )


def _slow_values(instances: list[object], dtype: DataType) -> np.ndarray:
    stack = _Stack(dtype)
    for index, element in enumerate(instances):
        if is_element_object(element):
            raise invalid_argument(
                f"Expecting value/list but got object at item {index} of input list"
            )
        try:
            stack.add(element)
        except ServingError as error:
            raise _wrap(index, None, error) from None
    return stack.tensor()


def _slow_objects(
    instances: list[object], inputs: Mapping[str, TensorSpec], names: list[str]
) -> dict[str, np.ndarray]:
    stacks = {name: _Stack(inputs[name].dtype) for name in names}
    for index, element in enumerate(instances):
        if not is_element_object(element):
            raise invalid_argument(f"Expecting object but got list at item {index} of input list")
        assert isinstance(element, dict)
        for key, value in element.items():  # document order, as TF walks the object
            try:
                if key not in stacks:
                    raise invalid_argument(f"JSON object: does not have named input: {key}")
                stacks[key].add(value)
            except ServingError as error:
                raise _wrap(index, key, error) from None
        if element.keys() != stacks.keys():
            raise invalid_argument(
                f"Failed to process element: {index} of 'instances' list. JSON object: "
                f"{value_text(element)} keys must be equal to: {','.join(names)}"
            )
    return {name: stack.tensor() for name, stack in stacks.items()}
