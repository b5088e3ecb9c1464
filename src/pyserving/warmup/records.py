"""Reading a warmup file: TFRecord framing around serialized ``PredictionLog`` messages.

Messages and codes are TF Serving's (saved_model_warmup_util.cc): a record that is not a
PredictionLog -> INVALID_ARGUMENT ``Failed to parse warmup record: ...``; more than
:data:`MAX_RECORDS` records -> INVALID_ARGUMENT ``Number of warmup records exceeds the maximum
(1000) at <path>``; broken framing or checksums -> DATA_LOSS ``... Please verify your warmup data
is in TFRecord format.``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Final

from google.protobuf.message import DecodeError

from pyserving.errors import Code, ServingError, invalid_argument
from pyserving.protos import prediction_log_pb2
from pyserving.tfrecord import CorruptRecordError, read_records

WARMUP_FILE: Final = os.path.join("assets.extra", "tf_serving_warmup_requests")
"""Where a warmup file lives inside a version directory."""
MAX_RECORDS: Final = 1000
# Larger records are framing garbage, not requests: refuse before allocating them.
_MAX_RECORD_BYTES: Final = 1 << 30
_SHOWN_BYTES: Final = 64  # of an unparsable record, in its error message


def read_warmup_logs(path: str) -> Iterator[prediction_log_pb2.PredictionLog]:
    """Yield the PredictionLog records of the warmup file ``path``, one at a time.

    The count limit is enforced before the record over it is yielded, so at most
    :data:`MAX_RECORDS` records are ever replayed.
    """
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below, after error mapping
    except OSError as exc:
        code = Code.PERMISSION_DENIED if isinstance(exc, PermissionError) else Code.UNKNOWN
        raise ServingError(code, f"{path}; {exc.strerror}") from exc
    with stream:
        records = read_records(stream, max_record_bytes=_MAX_RECORD_BYTES)
        count = 0
        while True:
            try:
                record = next(records, None)
            except CorruptRecordError as exc:
                raise ServingError(
                    Code.DATA_LOSS,
                    f"{exc} in {path}. Please verify your warmup data is in TFRecord format.",
                ) from None
            if record is None:
                return
            count += 1
            if count > MAX_RECORDS:
                raise invalid_argument(
                    f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}"
                )
            yield _parse(record, path)


def _parse(record: bytes, path: str) -> prediction_log_pb2.PredictionLog:
    log = prediction_log_pb2.PredictionLog()
    try:
        log.ParseFromString(record)
    except DecodeError:
        shown = repr(record[:_SHOWN_BYTES]) + ("..." if len(record) > _SHOWN_BYTES else "")
        raise invalid_argument(f"Failed to parse warmup record: {shown} from {path}") from None
    return log
