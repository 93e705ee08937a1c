"""Reader for the IDX format of MNIST-style data sets (optionally gzipped)."""

import gzip
import hashlib
import pathlib

import numpy as np

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


def read_idx(path, expected_shape=None, sha256=None):
    """Reads an IDX file (raw or `.gz`) into a numpy array.

    The header is two zero bytes, a type code, the number of dimensions and
    one big-endian uint32 per dimension; the data follow in row-major order.

    Args:
        path: file to read.
        expected_shape: shape the array must have (None entries match any
            size); checked before the data are read.
        sha256: expected SHA-256 of the file's bytes, checked first.

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
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise ValueError(
            f"Cannot read {path}: {error} (corrupt or truncated gzip?)"
        ) from error
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
