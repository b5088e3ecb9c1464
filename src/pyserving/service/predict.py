"""Predict: validate a request against its signature and turn it into a runtime call.

Messages and codes are TF Serving's (predict_util.cc), so clients see the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from pyserving.errors import Code, ServingError
from pyserving.service.method_names import (
    CLASSIFY_METHOD,
    PREDICT_METHOD,
    REGRESS_METHOD,
    method_name,
)
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, CallKind, Signature


class PredictPlan:
    """One request's run: ``feeds`` by tensor name, the fetches' tensor names and aliases in
    order. A plain slotted class (built per request; a frozen dataclass costs twice as much).
    The fetch lists may be shared between plans: never mutate them."""

    __slots__ = ("feeds", "fetch_aliases", "fetch_names", "signature_name")

    def __init__(
        self,
        signature_name: str,
        feeds: dict[str, np.ndarray],
        fetch_names: list[str],
        fetch_aliases: list[str],
    ) -> None:
        self.signature_name = signature_name
        self.feeds = feeds
        self.fetch_names = fetch_names
        self.fetch_aliases = fetch_aliases


# Each signature's fetches of every output, (names, aliases), built once: by id(), holding the
# signature so that its id is not reused while it is here. At most _MAX_CACHED signatures (then
# forgotten and built again), so unloaded versions' signatures are not kept without bound.
_ALL_OUTPUTS: dict[int, tuple[Signature, list[str], list[str]]] = {}
_MAX_CACHED: Final = 256


def _cache_all_outputs(signature: Signature) -> tuple[Signature, list[str], list[str]]:
    """The entry of ``signature`` in ``_ALL_OUTPUTS``, new (looked up inline by callers)."""
    names = [spec.name for spec in signature.outputs.values()]
    aliases = list(signature.outputs)
    if len(_ALL_OUTPUTS) >= _MAX_CACHED:
        _ALL_OUTPUTS.clear()
    entry = _ALL_OUTPUTS[id(signature)] = (signature, names, aliases)
    return entry


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
    spec_inputs = signature.inputs
    if not output_filter and len(inputs) == len(spec_inputs):
        # The common request: exactly the signature's inputs, every output. Same result as below.
        # Loops, not comprehensions: each comprehension is one more function call per request.
        for alias in inputs:
            if alias not in spec_inputs:
                break
        else:
            feeds: dict[str, np.ndarray] = {}
            for alias, tensor in inputs.items():
                feeds[spec_inputs[alias].name] = tensor
            entry = _ALL_OUTPUTS.get(id(signature))
            if entry is None or entry[0] is not signature:
                entry = _cache_all_outputs(signature)
            return PredictPlan(signature.key, feeds, entry[1], entry[2])
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
    feeds = {}
    for alias, tensor in inputs.items():
        spec = spec_inputs.get(alias)
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
