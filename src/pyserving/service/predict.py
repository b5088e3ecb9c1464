"""Predict: validate a request against its signature and turn it into a runtime call.

Messages and codes are TF Serving's (predict_util.cc), so clients see the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pyserving.errors import Code, ServingError
from pyserving.service.method_names import (
    CLASSIFY_METHOD,
    PREDICT_METHOD,
    REGRESS_METHOD,
    method_name,
)
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, CallKind, Signature


@dataclass(frozen=True, slots=True)
class PredictPlan:
    signature_name: str
    feeds: dict[str, np.ndarray]
    fetch_names: list[str]
    fetch_aliases: list[str]


def find_predict_signature(signatures: Mapping[str, Signature], name: str) -> Signature:
    key = name or DEFAULT_SERVING_SIGNATURE
    signature = signatures.get(key)
    if signature is None:
        raise ServingError(Code.FAILED_PRECONDITION, f'Serving signature key "{key}" not found.')
    return signature


def _joined(names: set[str] | Sequence[str]) -> str:
    return ",".join(sorted(names))


def plan_predict(
    signature: Signature,
    inputs: Mapping[str, np.ndarray],
    output_filter: Sequence[str],
    *,
    check_method_name: bool = False,
) -> PredictPlan:
    """Map aliases to tensor names, fill signature defaults and resolve ``output_filter``."""
    if check_method_name and CallKind.PREDICT not in signature.calls:
        raise ServingError(
            Code.INTERNAL,
            "Expected prediction signature method_name to be one of "
            f"{{{PREDICT_METHOD}, {CLASSIFY_METHOD}, {REGRESS_METHOD}}}. "
            f"Was: {method_name(signature)}",
        )
    if (
        not output_filter
        and len(inputs) == len(signature.inputs)
        and all(alias in signature.inputs for alias in inputs)
    ):
        # The common request: exactly the signature's inputs, every output. Same result as below.
        spec_inputs = signature.inputs
        return PredictPlan(
            signature.key,
            {spec_inputs[alias].name: tensor for alias, tensor in inputs.items()},
            [spec.name for spec in signature.outputs.values()],
            list(signature.outputs),
        )
    sent = set(inputs)
    expected = set(signature.inputs)
    missing_required = expected - sent - set(signature.defaults)
    if len(sent) > len(expected) or missing_required:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"input size does not match signature: {len(sent)}!={len(expected)} "
            f"len({{{_joined(sent)}}}) != len({{{_joined(expected)}}}). "
            f"Sent extra: {{{_joined(sent - expected)}}}. "
            f"Missing but required: {{{_joined(missing_required)}}}.",
        )
    feeds: dict[str, np.ndarray] = {}
    for alias, tensor in inputs.items():
        spec = signature.inputs.get(alias)
        if spec is None:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"input tensor alias not found in signature: {alias}. "
                f"Inputs expected to be in the set {{{_joined(expected)}}}.",
            )
        feeds[spec.name] = tensor
    for alias in expected - sent:
        feeds[signature.inputs[alias].name] = signature.defaults[alias]

    aliases = list(output_filter) or list(signature.outputs)
    seen: set[str] = set()
    names: list[str] = []
    for alias in aliases:
        spec = signature.outputs.get(alias)
        if spec is None:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"output tensor alias not found in signature: {alias} "
                f"Outputs expected to be in the set {{{_joined(set(signature.outputs))}}}.",
            )
        if alias in seen:
            raise ServingError(Code.INVALID_ARGUMENT, f"duplicate output tensor alias: {alias}")
        seen.add(alias)
        names.append(spec.name)
    return PredictPlan(signature.key, feeds, names, aliases)
