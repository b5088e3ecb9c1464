"""Batching parameters: TF Serving's ``BatchingParameters`` text format, defaults and checks.

Field semantics and defaults follow ``session_bundle_config.proto`` and TF Serving's batching
README (reference §4.3 and §6). Unset wrapper fields take TF's defaults; :func:`from_proto`
validates the combination the way TF Serving does when it builds the batching session, so a bad
file fails the load (per model) or startup (global file) with TF's message.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from google.protobuf import text_format

from pyserving.config.options import schedulable_cpus
from pyserving.errors import Code, ServingError, invalid_argument
from pyserving.protos import parse_text, session_bundle_config_pb2

BatchingParametersProto = session_bundle_config_pb2.BatchingParameters

DEFAULT_THREAD_POOL_NAME: Final = "batch_threads"
MODEL_SERVER_THREAD_POOL_NAME: Final = "model_server_batch_threads"


@dataclasses.dataclass(frozen=True, slots=True)
class BatchingOptions:
    """Resolved batching parameters of one queue (every field has its effective value)."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = dataclasses.field(default_factory=schedulable_cpus)
    thread_pool_name: str = DEFAULT_THREAD_POOL_NAME
    allowed_batch_sizes: tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False
    enable_large_batch_splitting: bool = False
    max_execution_batch_size: int = 1000

    @property
    def execution_limit(self) -> int:
        """Most rows one executed batch holds (before padding to an allowed size)."""
        if self.enable_large_batch_splitting:
            return self.max_execution_batch_size
        return self.max_batch_size

    def padded_size(self, rows: int) -> int:
        """The batch size ``rows`` is padded to: the smallest allowed size >= rows, else rows."""
        for size in self.allowed_batch_sizes:
            if size >= rows:
                return size
        return rows


def serve_defaults() -> BatchingOptions:
    """What ``pyserving serve`` batches with unless told otherwise.

    No added latency (a batch forms only while every batch thread is busy, so batches grow with
    load), one batch thread per CPU, and no request ever refused for its size: big requests are
    split into executed batches of at most 256 rows.
    """
    return BatchingOptions(
        max_batch_size=1 << 20,
        batch_timeout_micros=0,
        max_enqueued_batches=1 << 14,
        thread_pool_name=MODEL_SERVER_THREAD_POOL_NAME,
        enable_large_batch_splitting=True,
        max_execution_batch_size=256,
    )


def parse_batching_parameters(text: str, source: str) -> BatchingParametersProto:
    """Parse text-format ``BatchingParameters``; INVALID_ARGUMENT naming ``source`` if malformed."""
    try:
        return parse_text(text, BatchingParametersProto())
    except text_format.ParseError as exc:
        raise invalid_argument(f"Invalid protobuf file: '{source}' ({exc})") from None


def read_batching_parameters(path: str) -> BatchingParametersProto:
    """Read and parse the file at ``path`` (NOT_FOUND if it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ServingError(Code.NOT_FOUND, f"{path}; {exc.strerror}") from None
    return parse_batching_parameters(text, path)


def from_proto(
    proto: BatchingParametersProto, *, thread_pool_name: str = DEFAULT_THREAD_POOL_NAME
) -> BatchingOptions:
    """Effective options of ``proto``; INVALID_ARGUMENT for combinations TF Serving refuses."""
    base = BatchingOptions(thread_pool_name=thread_pool_name)
    max_batch = _int(proto, "max_batch_size", base.max_batch_size)
    options = BatchingOptions(
        max_batch_size=max_batch,
        batch_timeout_micros=_int(proto, "batch_timeout_micros", base.batch_timeout_micros),
        max_enqueued_batches=_int(proto, "max_enqueued_batches", base.max_enqueued_batches),
        num_batch_threads=_int(proto, "num_batch_threads", base.num_batch_threads),
        thread_pool_name=(
            proto.thread_pool_name.value
            if proto.HasField("thread_pool_name")
            else base.thread_pool_name
        ),
        allowed_batch_sizes=tuple(int(size) for size in proto.allowed_batch_sizes),
        pad_variable_length_inputs=proto.pad_variable_length_inputs,
        enable_large_batch_splitting=(
            proto.HasField("enable_large_batch_splitting")
            and proto.enable_large_batch_splitting.value
        ),
        max_execution_batch_size=_int(proto, "max_execution_batch_size", max_batch),
    )
    validate(options)
    return options


def validate(options: BatchingOptions) -> None:
    """Raise INVALID_ARGUMENT for parameters TF Serving rejects."""
    for name in ("max_batch_size", "num_batch_threads", "max_enqueued_batches"):
        if getattr(options, name) <= 0:
            raise invalid_argument(f"{name} must be positive; was {getattr(options, name)}")
    if options.batch_timeout_micros < 0:
        raise invalid_argument(
            f"batch_timeout_micros must be non-negative; was {options.batch_timeout_micros}"
        )
    if options.enable_large_batch_splitting and not (
        0 < options.max_execution_batch_size <= options.max_batch_size
    ):
        raise invalid_argument(
            "max_execution_batch_size must be positive and not larger than max_batch_size; "
            f"was {options.max_execution_batch_size} (max_batch_size {options.max_batch_size})"
        )
    sizes = options.allowed_batch_sizes
    if not sizes:
        return
    previous = 0
    for size in sizes:
        if size <= previous:
            raise invalid_argument(
                "allowed_batch_sizes entries must be positive and monotonically increasing"
            )
        previous = size
    expected = options.execution_limit
    if sizes[-1] != expected:
        raise invalid_argument(
            "Last entry in allowed_batch_sizes must match max_batch_size; last entry was "
            f"{sizes[-1]}; expected {expected}"
        )


def _int(proto: BatchingParametersProto, field: str, default: int) -> int:
    if not proto.HasField(field):  # type: ignore[arg-type]
        return default
    value: int = getattr(proto, field).value
    return value
