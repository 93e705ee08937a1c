"""Reader for the IDX format of MNIST-style data sets (optionally gzipped)."""

import gzip
import hashlib
import pathlib
import zlib

import numpy as np

# The first two bytes of every gzip file.
GZIP_MAGIC = b"\x1f\x8b"

_DTYPES = {
    0x08: np.dtype("uint8"),
    0x09: np.dtype("int8"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def sha256_of(path):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_gzipped(path):
    """Whether the file at `path` starts with gzip's magic number."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def read_idx(path, expected_shape=None, sha256=None, data_sha256=None):
    """Reads an IDX file (raw or gzipped) into a numpy array.

    The header is two zero bytes, a type code, the number of dimensions and
    one big-endian uint32 per dimension; the data follow in row-major order.
    A gzipped file is recognised by its content (gzip's magic number), not
    its name, so `x-idx3-ubyte.gz`, its gunzipped copy and a renamed copy
    all read.

    Args:
        path: file to read.
        expected_shape: shape the array must have (None entries match any
            size); checked before the data are read.
        sha256: expected SHA-256 of the file's bytes, checked first.
        data_sha256: expected SHA-256 of the uncompressed IDX bytes (the
            same for a file and any gzipped copy of it), checked once the
            file is read.

    Returns:
        numpy array with the file's dtype and shape.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: wrong checksum, bad magic number, unexpected shape, or a
            truncated or oversized payload; the message says which.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise ValueError(
                f"Checksum mismatch for {path}: expected sha256 {sha256}, got "
                f"{actual}. "
                "The file is corrupt or not the published release; delete it "
                "and download it again."
            )
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(
                f"Cannot read {path}: {error} (corrupt or truncated gzip?)"
            ) from error
    if data_sha256 is not None:
        actual = hashlib.sha256(raw).hexdigest()
        if actual != data_sha256:
            raise ValueError(
                f"Checksum mismatch for {path}: expected sha256 "
                f"{data_sha256} of its uncompressed IDX data, got {actual}. "
                "The file is corrupt or not the published release; delete "
                "it and download it again."
            )
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: its magic number is "
            f"{raw[:4].hex() or 'empty'}, "
            "expected 0000 followed by a type code (08 for uint8) and the "
            "number of dimensions."
        )
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path} is truncated inside its header.")
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    if expected_shape is not None and (
        len(shape) != len(expected_shape)
        or any(e is not None and e != s for e, s in zip(expected_shape, shape))
    ):
        raise ValueError(
            f"{path} holds an array of shape {shape}, expected "
            f"{tuple(expected_shape)}."
        )
    expected_bytes = int(np.prod(shape)) * dtype.itemsize
    payload = len(raw) - header_size
    if payload != expected_bytes:
        raise ValueError(
            f"{path} is truncated or padded: its header announces shape "
            f"{shape} "
            f"({expected_bytes} bytes of data) but it holds {payload} bytes."
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header_size)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )
