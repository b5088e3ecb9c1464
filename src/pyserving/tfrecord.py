"""TFRecord files without TensorFlow.

The framing is TensorFlow's: each record is ``uint64 length`` (little-endian), ``uint32 masked
CRC32C of those 8 bytes``, ``length`` bytes of data, ``uint32 masked CRC32C of the data``. Warmup
files (``assets.extra/tf_serving_warmup_requests``) and request logs use it, with serialized
``PredictionLog`` records.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import google_crc32c

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


class CorruptRecordError(ValueError):
    """The file is not TFRecord framing, is truncated, or a checksum does not match."""


def masked_crc(data: bytes) -> int:
    """TensorFlow's masked CRC32C: rotate right by 15 bits, then add a constant."""
    crc = int(google_crc32c.value(data))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(data: bytes) -> bytes:
    header = _LENGTH.pack(len(data))
    return b"".join((header, _CRC.pack(masked_crc(header)), data, _CRC.pack(masked_crc(data))))


def write_record(stream: BinaryIO, data: bytes) -> int:
    """Append one record; returns the bytes written."""
    record = encode_record(data)
    stream.write(record)
    return len(record)


def read_records(stream: BinaryIO, *, max_record_bytes: int = 1 << 31) -> Iterator[bytes]:
    """Yield each record's data, verifying both checksums.

    Raises :class:`CorruptRecordError` on a bad checksum, a truncated record or a length above
    ``max_record_bytes`` (so a corrupt length cannot make us allocate gigabytes).
    """
    while True:
        header = stream.read(_LENGTH.size)
        if not header:
            return
        if len(header) < _LENGTH.size:
            raise CorruptRecordError("truncated record header")
        crc = stream.read(_CRC.size)
        if len(crc) < _CRC.size or _CRC.unpack(crc)[0] != masked_crc(header):
            raise CorruptRecordError("corrupted record length (checksum mismatch)")
        (length,) = _LENGTH.unpack(header)
        if length > max_record_bytes:
            raise CorruptRecordError(f"record of {length} bytes exceeds {max_record_bytes}")
        data = stream.read(length)
        crc = stream.read(_CRC.size)
        if len(data) < length or len(crc) < _CRC.size:
            raise CorruptRecordError("truncated record")
        if _CRC.unpack(crc)[0] != masked_crc(data):
            raise CorruptRecordError("corrupted record data (checksum mismatch)")
        yield data
