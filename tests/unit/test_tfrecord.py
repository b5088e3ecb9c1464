from __future__ import annotations

import io

import pytest

from pyserving.tfrecord import CorruptRecordError, read_records, write_record


def test_round_trip_is_readable_by_tensorflow(tmp_path):
    tf = pytest.importorskip("tensorflow")
    path = tmp_path / "records"
    payloads = [b"", b"a", b"x" * 100_000]
    with path.open("wb") as stream:
        for payload in payloads:
            write_record(stream, payload)
    assert [bytes(r) for r in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()] == payloads
    with path.open("rb") as stream:
        assert list(read_records(stream)) == payloads


def test_reads_what_tensorflow_writes(tmp_path):
    tf = pytest.importorskip("tensorflow")
    path = str(tmp_path / "records")
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(b"one")
        writer.write(b"two")
    with open(path, "rb") as stream:
        assert list(read_records(stream)) == [b"one", b"two"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b[:5],  # truncated header
        lambda b: b[:-2],  # truncated data crc
        lambda b: b[:8] + b"\0\0\0\0" + b[12:],  # bad length crc
        lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:],  # flipped data byte
        lambda b: b"not a tfrecord file at all",
    ],
)
def test_corruption_is_detected(mangle):
    stream = io.BytesIO()
    write_record(stream, b"payload")
    with pytest.raises(CorruptRecordError):
        list(read_records(io.BytesIO(mangle(stream.getvalue()))))


def test_length_cap_prevents_huge_allocation():
    stream = io.BytesIO()
    write_record(stream, b"x" * 1000)
    with pytest.raises(CorruptRecordError, match="exceeds"):
        list(read_records(io.BytesIO(stream.getvalue()), max_record_bytes=100))
