"""TF Serving's signature method names, and the neutral :class:`CallKind` they stand for.

MultiInference tasks name their method this way, and the method-name check
(``--enable_signature_method_name_check``) reports a signature's kind in these words. A signature's
method name is derived from its neutral ``calls``: the name of the most specific kind it serves
(classify or regress before predict), empty if it declares none.
"""

from __future__ import annotations

from typing import Final

from pyserving.signature import CallKind, Signature

PREDICT_METHOD: Final = "tensorflow/serving/predict"
CLASSIFY_METHOD: Final = "tensorflow/serving/classify"
REGRESS_METHOD: Final = "tensorflow/serving/regress"


def method_name(signature: Signature) -> str:
    """The TF Serving method name describing ``signature.calls``."""
    calls = signature.calls
    if CallKind.CLASSIFY in calls:
        return CLASSIFY_METHOD
    if CallKind.REGRESS in calls:
        return REGRESS_METHOD
    if CallKind.PREDICT in calls:
        return PREDICT_METHOD
    return ""
