"""Merging tasks into a batch and splitting its outputs, with TF Serving's errors."""

from __future__ import annotations

import numpy as np
import pytest

from pyserving.batching.tensors import merge_inputs, split_outputs, task_size
from pyserving.errors import Code, ServingError
from tests.unit.batching.support import column


def test_task_size_is_the_shared_dim_0() -> None:
    assert task_size({"a": np.zeros((3, 2)), "b": np.zeros(3)}) == 3
    assert task_size({}) == 0


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        (
            {"a": np.zeros((3, 2)), "b": np.zeros(2)},
            "Batching Run() input tensors must have equal 0th-dimension size",
        ),
        ({"a": np.float32(1)}, "Batching Run() input tensors must have at least one dimension"),
    ],
)
def test_task_size_errors(feeds: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(ServingError) as caught:
        task_size(feeds)
    assert (caught.value.code, caught.value.message) == (Code.INVALID_ARGUMENT, message)


def test_merge_pads_with_the_first_row_of_the_last_task() -> None:
    merged = merge_inputs([{"x": column(1, 2)}, {"x": column(7, 8)}], 6, False)
    assert merged["x"].ravel().tolist() == [1, 2, 7, 8, 7, 7]


def test_merge_refuses_different_inner_shapes_without_padding() -> None:
    with pytest.raises(ServingError) as caught:
        merge_inputs([{"x": np.zeros((1, 2))}, {"x": np.zeros((1, 3))}], 2, False)
    assert caught.value.code is Code.FAILED_PRECONDITION
    assert caught.value.message.startswith(
        "Tensors with name 'x' from different tasks have different shapes and padding is "
        "turned off."
    )


def test_variable_length_padding_uses_each_tensors_first_element() -> None:
    a = np.array([[5, 6]], dtype=np.int32)
    b = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    merged = merge_inputs([{"x": a}, {"x": b}], 3, True)
    assert merged["x"].tolist() == [[5, 6, 5], [1, 2, 3], [4, 5, 6]]


def test_split_drops_padding_and_keeps_task_order() -> None:
    parts = split_outputs([np.arange(6)], [2, 1], 6)
    assert [part[0].tolist() for part in parts] == [[0, 1], [2]]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (np.float32(1), "Batched output tensor has 0 dimensions"),
        (
            np.zeros(4),
            "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension "
            "sizes of the input tensors",
        ),
    ],
)
def test_outputs_must_be_batch_major(output: np.ndarray, message: str) -> None:
    with pytest.raises(ServingError) as caught:
        split_outputs([np.zeros(3), output], [1, 2], 3)
    assert (caught.value.code, caught.value.message) == (Code.FAILED_PRECONDITION, message)
