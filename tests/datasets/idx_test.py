"""IDX reader on small files written into `tmp_path`."""

import gzip
import hashlib

import numpy as np
import pytest

from keras_pmm.datasets import read_idx
from keras_pmm.datasets.idx import sha256_of
from tests.datasets.idx_writer import idx_bytes
from tests.datasets.idx_writer import write_idx


def _images(n=3):
    return np.random.default_rng(0).integers(
        0, 256, size=(n, 28, 28), dtype="uint8"
    )


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_uint8_images_and_labels(tmp_path, suffix):
    images = _images(5)
    labels = np.array([0, 9, 3, 255, 7], dtype="uint8")
    images_path = write_idx(tmp_path / f"images-idx3-ubyte{suffix}", images)
    labels_path = write_idx(tmp_path / f"labels-idx1-ubyte{suffix}", labels)

    read_images = read_idx(images_path, expected_shape=(None, 28, 28))
    read_labels = read_idx(str(labels_path), expected_shape=(5,))

    assert read_images.dtype == np.uint8 and read_images.shape == (5, 28, 28)
    assert read_labels.dtype == np.uint8 and read_labels.shape == (5,)
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    assert read_images.flags.writeable


def test_gzipped_file_is_decompressed(tmp_path):
    labels = np.arange(10, dtype="uint8")
    path = write_idx(tmp_path / "labels.gz", labels)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize(
    "dtype, values",
    [
        ("int8", [-128, -1, 0, 127]),
        ("int16", [-32768, -2, 258, 32767]),
        ("int32", [-(2**31), -1, 65536 + 3, 2**31 - 1]),
        ("float32", [-1.5, 0.0, 3.25e-7, 6.5e30]),
        ("float64", [-1e-300, np.pi, 1e300, -0.0]),
    ],
)
def test_big_endian_types_round_trip_to_native_order(tmp_path, dtype, values):
    array = np.array(values, dtype=dtype).reshape(2, 2)
    result = read_idx(write_idx(tmp_path / "data-idx", array))
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize(
    "magic", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04"]
)
def test_bad_magic_number_names_the_file(tmp_path, magic):
    path = write_idx(tmp_path / "not-idx.bin", magic + bytes(8))
    with pytest.raises(ValueError, match="not an IDX file") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert magic.hex() in str(info.value)


def test_empty_file_is_not_an_idx_file(tmp_path):
    path = write_idx(tmp_path / "empty", b"")
    with pytest.raises(ValueError, match="magic number is empty"):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_payload_says_what_the_header_promised(tmp_path, suffix):
    full = idx_bytes(_images(2))
    path = write_idx(tmp_path / f"images{suffix}", full[:-10])
    with pytest.raises(ValueError, match="truncated") as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    assert "(2, 28, 28)" in message
    assert f"{2 * 28 * 28} bytes of data" in message
    assert f"holds {2 * 28 * 28 - 10} bytes" in message


def test_oversized_payload_is_rejected(tmp_path):
    path = write_idx(
        tmp_path / "labels", idx_bytes(np.arange(4, dtype="uint8")) + b"\x00"
    )
    with pytest.raises(ValueError, match="holds 5 bytes"):
        read_idx(path)


def test_file_truncated_inside_its_header(tmp_path):
    path = write_idx(tmp_path / "images", idx_bytes(_images(1))[:9])
    with pytest.raises(ValueError, match="truncated inside its header") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream_is_a_clear_error(tmp_path):
    compressed = gzip.compress(idx_bytes(_images(2)))
    path = tmp_path / "images.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "expected_shape, got",
    [
        ((None, 28, 29), "(3, 28, 28)"),
        ((4, 28, 28), "(3, 28, 28)"),
        ((2, 28, 28), "(3, 28, 28)"),
        ((None, 27, 28), "(3, 28, 28)"),
        ((None,), "(3, 28, 28)"),
    ],
)
def test_wrong_shape_says_expected_and_got(tmp_path, expected_shape, got):
    path = write_idx(tmp_path / "images", _images(3))
    with pytest.raises(ValueError) as info:
        read_idx(path, expected_shape=expected_shape)
    message = str(info.value)
    assert f"shape {got}" in message
    assert f"expected {expected_shape}" in message
    assert str(path) in message


def test_shape_is_checked_before_the_payload(tmp_path):
    path = write_idx(tmp_path / "images", idx_bytes(_images(3))[:100])
    with pytest.raises(ValueError, match=r"expected \(None, 32, 32\)"):
        read_idx(path, expected_shape=(None, 32, 32))


def test_matching_sha256_is_accepted(tmp_path):
    labels = np.arange(10, dtype="uint8")
    path = write_idx(tmp_path / "labels", labels)
    np.testing.assert_array_equal(
        read_idx(path, sha256=sha256_of(path)), labels
    )


def test_sha256_mismatch_says_expected_and_got(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.arange(10, dtype="uint8"))
    actual = sha256_of(path)
    wrong = "0" * 64
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        read_idx(path, sha256=wrong)
    message = str(info.value)
    assert f"expected sha256 {wrong}" in message
    assert f"got {actual}" in message
    assert str(path) in message


def test_sha256_of_matches_hashlib(tmp_path):
    path = write_idx(tmp_path / "blob", b"abc")
    assert (
        sha256_of(path)
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_missing_file_raises_file_not_found(tmp_path):
    path = tmp_path / "absent-idx1-ubyte.gz"
    with pytest.raises(FileNotFoundError, match="IDX file not found") as info:
        read_idx(path, sha256="0" * 64)
    assert str(path) in str(info.value)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images.gz.part"])
def test_gzip_is_recognised_by_content_not_name(tmp_path, name):
    images = _images(2)
    path = tmp_path / name
    path.write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(path), images)


def test_gunzipped_file_named_gz_reads(tmp_path):
    images = _images(2)
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(images))
    np.testing.assert_array_equal(read_idx(path), images)


def test_corrupt_deflate_stream_is_a_clear_error(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(_images(1)))[:10] + b"\xff" * 40)
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_data_checksum_is_the_same_gzipped_or_not(tmp_path):
    images = _images(2)
    digest = hashlib.sha256(idx_bytes(images)).hexdigest()
    raw = write_idx(tmp_path / "images", images)
    packed = tmp_path / "images.gz"
    packed.write_bytes(gzip.compress(idx_bytes(images), mtime=0))
    for path in (raw, packed):
        np.testing.assert_array_equal(
            read_idx(path, data_sha256=digest), images
        )
    assert sha256_of(raw) != sha256_of(packed)
    other = "0" * 64
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        read_idx(packed, data_sha256=other)
    message = str(info.value)
    assert str(packed) in message
    assert f"expected sha256 {other} of its uncompressed IDX data" in message
    assert f"got {digest}" in message
