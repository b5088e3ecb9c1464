"""Tensor work of a batch: task sizes, merging tasks' inputs, splitting the outputs back.

Pure numpy, no scheduling. Messages and codes are TF Serving's ``batching_session.cc``:

* every input of a task must have rank >= 1 and the same dim 0 (that dim 0 is the task size);
* inputs are concatenated on dim 0; their other dims must agree unless padding of variable-length
  inputs is on (each task's tensor is then padded up to the largest shape, with its own first
  element as the pad value);
* a batch short of an allowed size is padded by repeating the first row of the last task;
* every output must have rank >= 1 and dim 0 equal to the (padded) batch size; each task gets its
  rows, padding rows are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pyserving.errors import ServingError, failed_precondition, invalid_argument


def task_size(feeds: Mapping[str, np.ndarray]) -> int:
    """The rows a request adds to a batch: the shared dim 0 of its inputs."""
    size = -1
    for tensor in feeds.values():
        if tensor.ndim == 0:
            raise invalid_argument("Batching Run() input tensors must have at least one dimension")
        rows = tensor.shape[0]
        if size < 0:
            size = rows
        elif rows != size:
            raise invalid_argument(
                "Batching Run() input tensors must have equal 0th-dimension size"
            )
    return max(size, 0)


def merge_inputs(
    parts: Sequence[Mapping[str, np.ndarray]],
    padded_rows: int,
    pad_variable_length: bool,
    *,
    rows: int | None = None,
) -> dict[str, np.ndarray]:
    """One feed dict for the batch: ``parts`` (each task's feeds) stacked on dim 0, then padded
    with copies of the last part's first row up to ``padded_rows``. ``rows``: the parts' rows
    together, when the caller knows them (else counted here)."""
    if len(parts) == 1 and padded_rows <= _rows(parts[0]):
        return dict(parts[0])  # one task, no padding: its feeds as they are (the c=1 batch)
    if rows is None:
        rows = sum(_rows(part) for part in parts)
    merged: dict[str, np.ndarray] = {}
    for name in parts[0]:
        tensors = []
        for part in parts:  # loops, not comprehensions: these run once per task
            tensors.append(part[name])
        if _same_shapes(tensors):
            pass
        elif pad_variable_length:
            tensors = _pad_to_common_shape(name, tensors)
        else:
            raise failed_precondition(
                f"Tensors with name '{name}' from different tasks have different shapes and "
                "padding is turned off. Set pad_variable_length_inputs to true, or ensure that "
                "all tensors with the same name have equal dimensions starting with the first dim."
            )
        if padded_rows > rows:
            filler = np.repeat(tensors[-1][:1], padded_rows - rows, axis=0)
            tensors = [*tensors, filler]
        merged[name] = tensors[0] if len(tensors) == 1 else np.concatenate(tensors)
    return merged


def split_outputs(
    outputs: Sequence[np.ndarray], sizes: Sequence[int], padded_rows: int
) -> list[list[np.ndarray]]:
    """Each task's outputs (views into ``outputs``), in task order; padding rows dropped."""
    for output in outputs:
        if output.ndim == 0:
            raise failed_precondition("Batched output tensor has 0 dimensions")
        if output.shape[0] != padded_rows:
            raise failed_precondition(
                "Batched output tensor's 0th dimension does not equal the sum of the 0th "
                "dimension sizes of the input tensors"
            )
    if len(sizes) == 1 and sizes[0] == padded_rows:
        return [list(outputs)]
    results: list[list[np.ndarray]] = []
    start = 0
    for size in sizes:  # loops, not comprehensions: these run once per task
        end = start + size
        mine = []
        for output in outputs:
            mine.append(output[start:end])
        results.append(mine)
        start = end
    return results


def _rows(feeds: Mapping[str, np.ndarray]) -> int:
    for tensor in feeds.values():
        return int(tensor.shape[0])
    return 0


def _same_shapes(tensors: Sequence[np.ndarray]) -> bool:
    inner = tensors[0].shape[1:]
    for tensor in tensors:  # noqa: SIM110 (a loop: a generator is one more call per task)
        if tensor.shape[1:] != inner:
            return False
    return True


def _pad_to_common_shape(name: str, tensors: Sequence[np.ndarray]) -> list[np.ndarray]:
    rank = tensors[0].ndim
    if any(tensor.ndim != rank for tensor in tensors):
        raise failed_precondition(
            f"Tensors with name '{name}' from different tasks have different ranks; "
            "variable-length padding needs equal ranks"
        )
    target = [max(tensor.shape[axis] for tensor in tensors) for axis in range(1, rank)]
    padded: list[np.ndarray] = []
    for tensor in tensors:
        widths = [(0, 0)] + [(0, t - s) for t, s in zip(target, tensor.shape[1:], strict=True)]
        if tensor.size == 0:
            raise _empty_pad_error(name)
        padded.append(np.pad(tensor, widths, mode="constant", constant_values=tensor.flat[0]))
    return padded


def _empty_pad_error(name: str) -> ServingError:
    return failed_precondition(
        f"Tensor with name '{name}' is empty: there is no first element to pad it with"
    )
