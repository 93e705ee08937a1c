"""Writes small IDX files for the data set tests (the inverse of `read_idx`)."""

import gzip

import numpy as np

_TYPE_CODES = {
    "uint8": 0x08,
    "int8": 0x09,
    "int16": 0x0B,
    "int32": 0x0C,
    "float32": 0x0D,
    "float64": 0x0E,
}


def idx_bytes(array):
    """The IDX encoding of `array`: magic number, big-endian dimensions,
    big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, _TYPE_CODES[array.dtype.name], array.ndim])
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array_or_bytes):
    """Writes an array (or raw bytes) to `path`, gzipped when the name ends
    in `.gz`."""
    data = (
        array_or_bytes
        if isinstance(array_or_bytes, bytes)
        else idx_bytes(array_or_bytes)
    )
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(data)
    return path
