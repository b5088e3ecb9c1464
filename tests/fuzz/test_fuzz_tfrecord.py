"""The TFRecord reader (warmup files, request logs) under arbitrary files."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from pyserving.tfrecord import CorruptRecordError, encode_record, read_records
from tests.fuzz.conftest import FUZZ, allocation_limit


def _read_all(data: bytes, max_record_bytes: int = 1 << 31) -> list[bytes] | None:
    try:
        return list(read_records(io.BytesIO(data), max_record_bytes=max_record_bytes))
    except CorruptRecordError:
        return None


@FUZZ
@given(data=st.binary(max_size=200))
def test_arbitrary_files_only_raise_corrupt_record(data: bytes) -> None:
    with allocation_limit(1 << 16 | 4 * len(data)):
        records = _read_all(data)
    if records is not None:
        assert sum(len(r) + 16 for r in records) == len(data)


@FUZZ
@given(
    records=st.lists(st.binary(max_size=64), max_size=6),
    flip=st.integers(min_value=0),
    bit=st.integers(0, 7),
)
def test_round_trip_and_every_single_bit_flip_is_caught(
    records: list[bytes], flip: int, bit: int
) -> None:
    data = b"".join(encode_record(r) for r in records)
    assert _read_all(data) == records
    if not data:
        return
    damaged = bytearray(data)
    damaged[flip % len(data)] ^= 1 << bit
    assert _read_all(bytes(damaged)) is None  # CRC32C catches every single-bit error


@FUZZ
@given(
    records=st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=4),
    cut=st.integers(1, 300),
)
def test_truncated_files_are_corrupt(records: list[bytes], cut: int) -> None:
    data = b"".join(encode_record(r) for r in records)
    truncated = data[: max(0, len(data) - cut)]
    result = _read_all(truncated)
    if result is not None:  # cut exactly on a record boundary: a shorter, valid file
        assert result == records[: len(result)]


def test_length_claim_beyond_the_limit_allocates_nothing() -> None:
    data = encode_record(b"x" * 100)
    with allocation_limit(1 << 16):
        assert _read_all(data, max_record_bytes=10) is None
