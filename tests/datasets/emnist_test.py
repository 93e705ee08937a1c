"""EMNIST loader on IDX files written in EMNIST's own layout.

No EMNIST data is needed: the files are written here.
"""

import gzip
import zipfile

import keras
import numpy as np
import pytest

from keras_pmm.datasets import _sources
from keras_pmm.datasets import emnist
from keras_pmm.datasets import load_emnist
from keras_pmm.datasets.emnist import SPLITS
from keras_pmm.datasets.emnist import emnist_files
from tests.datasets.idx_writer import idx_bytes
from tests.datasets.idx_writer import write_idx


def _upright_images(count, seed=0):
    """Images with an asymmetric mark (a bar in the top rows, left half),
    so that orientation shows."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 50, size=(count, 28, 28), dtype="uint8")
    images[:, :3, :10] = 255
    return images


def _write_split(
    folder,
    split,
    train_labels,
    test_labels,
    train_images=None,
    test_images=None,
):
    """Writes a split as EMNIST stores it: images transposed, labels offset
    (letters 1..26)."""
    folder.mkdir(parents=True, exist_ok=True)
    offset = SPLITS[split].label_offset
    train_images = (
        _upright_images(len(train_labels))
        if train_images is None
        else train_images
    )
    test_images = (
        _upright_images(len(test_labels), 1)
        if test_images is None
        else test_images
    )
    arrays = (
        train_images.transpose(0, 2, 1),
        np.asarray(train_labels, "uint8") + offset,
        test_images.transpose(0, 2, 1),
        np.asarray(test_labels, "uint8") + offset,
    )
    for file, array in zip(emnist_files(split), arrays):
        write_idx(folder / file, np.ascontiguousarray(array))
    return train_images, test_images


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the network must not be reached")

    monkeypatch.setattr(_sources.socket, "create_connection", refuse)
    monkeypatch.setattr(keras.utils, "get_file", refuse)


def test_split_facts_match_the_publication():
    expected = {
        "balanced": (47, 112_800, 18_800),
        "byclass": (62, 697_932, 116_323),
        "bymerge": (47, 697_932, 116_323),
        "letters": (26, 124_800, 20_800),
        "digits": (10, 240_000, 40_000),
        "mnist": (10, 60_000, 10_000),
    }
    assert {
        name: (s.num_classes, s.train_size, s.test_size)
        for name, s in SPLITS.items()
    } == expected
    assert (
        "".join(SPLITS["balanced"].class_names)
        == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"
    )
    assert (
        SPLITS["letters"].class_names[0] == "Aa"
        and SPLITS["letters"].label_offset == 1
    )
    assert all(
        len(set(s.class_names)) == s.num_classes for s in SPLITS.values()
    )


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("subfolder", ["", "emnist", "emnist/gzip"])
def test_every_split_comes_back_upright_with_zero_based_labels(
    tmp_path, no_network, split, subfolder
):
    num_classes = SPLITS[split].num_classes
    train_labels = np.arange(6) % num_classes
    test_labels = np.array([num_classes - 1, 0, 1])
    train_images, test_images = _write_split(
        tmp_path / subfolder, split, train_labels, test_labels
    )
    (x_train, y_train), (x_test, y_test) = load_emnist(
        split, tmp_path, verify=False
    )
    np.testing.assert_array_equal(x_train, train_images)
    np.testing.assert_array_equal(x_test, test_images)
    assert x_train.flags.c_contiguous and x_train.dtype == np.uint8
    assert (
        x_train[:, :3, :10].min() == 255
    )  # the mark is top-left again, not left-top
    np.testing.assert_array_equal(y_train, train_labels)
    np.testing.assert_array_equal(y_test, test_labels)


def test_letters_file_labels_one_to_26_become_zero_to_25(tmp_path, no_network):
    _write_split(tmp_path, "letters", [0, 25, 7], [12])
    raw = np.frombuffer(idx_bytes(np.array([1, 26, 8], "uint8")), "uint8")
    assert raw[-3:].tolist() == [1, 26, 8]  # what the file holds
    (_, y_train), (_, y_test) = load_emnist("letters", tmp_path, verify=False)
    assert y_train.tolist() == [0, 25, 7] and y_test.tolist() == [12]


def test_environment_variable_is_honoured(tmp_path, no_network, monkeypatch):
    _write_split(tmp_path / "emnist", "digits", [3, 4], [5])
    monkeypatch.setenv(_sources.DATA_DIR_VARIABLE, str(tmp_path))
    (_, y_train), _ = load_emnist("digits", verify=False)
    assert y_train.tolist() == [3, 4]


def test_published_sizes_are_checked_by_default(tmp_path, no_network):
    _write_split(tmp_path, "mnist", [1, 2], [3])
    with pytest.raises(
        ValueError, match=r"shape \(2, 28, 28\), expected \(60000, 28, 28\)"
    ):
        load_emnist("mnist", tmp_path)


def test_published_checksum_is_checked_for_balanced(
    tmp_path, monkeypatch, no_network
):
    _write_split(tmp_path, "balanced", [1, 2], [3])
    facts = SPLITS["balanced"]
    monkeypatch.setitem(
        SPLITS,
        "balanced",
        emnist.EMNISTSplit(facts.class_names, 2, 1, sha256=facts.sha256),
    )
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load_emnist("balanced", tmp_path)
    assert facts.sha256[0] in str(info.value)
    assert "emnist-balanced-train-images-idx3-ubyte.gz" in str(info.value)


def test_labels_outside_the_classes_are_rejected(tmp_path, no_network):
    _write_split(tmp_path, "digits", [1, 12], [3])
    with pytest.raises(
        ValueError, match="train labels .* run from 1 to 12; expected 0..9"
    ):
        load_emnist("digits", tmp_path, verify=False)


def test_letters_label_zero_is_rejected(tmp_path, no_network):
    folder = tmp_path
    _write_split(folder, "letters", [1, 2], [3])
    write_idx(folder / emnist_files("letters")[1], np.array([0, 5], "uint8"))
    with pytest.raises(ValueError, match="run from 0 to 5; expected 1..26"):
        load_emnist("letters", tmp_path, verify=False)


def test_image_and_label_counts_must_agree(tmp_path, no_network):
    _write_split(tmp_path, "digits", [1, 2, 3], [3])
    write_idx(tmp_path / emnist_files("digits")[1], np.array([1, 2], "uint8"))
    with pytest.raises(ValueError, match="3 train images but 2 labels"):
        load_emnist("digits", tmp_path, verify=False)


@pytest.mark.parametrize("damage", ["truncated", "bad_magic", "bad_deflate"])
def test_corrupt_files_name_the_file(tmp_path, no_network, damage):
    _write_split(tmp_path, "balanced", [1, 2], [3])
    target = tmp_path / emnist_files("balanced")[2]
    good = idx_bytes(np.zeros((1, 28, 28), "uint8"))
    if damage == "truncated":
        write_idx(target, good[:-10])
    elif damage == "bad_magic":
        write_idx(target, b"\x01\x02" + good[2:])
    else:  # a gzip header, then bytes that are no deflate stream
        target.write_bytes(gzip.compress(good)[:10] + b"\xff" * 40)
    with pytest.raises(ValueError) as info:
        load_emnist("balanced", tmp_path, verify=False)
    assert str(target) in str(info.value)


def test_missing_files_say_where_it_looked(tmp_path, no_network):
    _write_split(tmp_path / "emnist", "byclass", [1], [2])
    (tmp_path / "emnist" / emnist_files("byclass")[3]).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_emnist("byclass", tmp_path, verify=False)
    message = str(info.value)
    assert (
        str(tmp_path / "emnist") in message
        and str(tmp_path / "emnist" / "gzip") in message
    )
    assert "emnist-byclass-test-labels-idx1-ubyte.gz" in message
    assert "data_dir=" in message and _sources.DATA_DIR_VARIABLE in message


def test_unknown_split_lists_the_six(tmp_path):
    with pytest.raises(
        ValueError, match="balanced.*byclass.*bymerge.*digits.*letters.*mnist"
    ):
        load_emnist("byletter", tmp_path)


def test_offline_fails_at_once_without_calling_the_downloader(monkeypatch):
    monkeypatch.delenv(_sources.DATA_DIR_VARIABLE, raising=False)
    fetches = []

    def unreachable(address, timeout):
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(_sources.socket, "create_connection", unreachable)
    monkeypatch.setattr(
        keras.utils, "get_file", lambda *a, **k: fetches.append(a)
    )
    with pytest.raises(
        RuntimeError, match="Could not download EMNIST .*Offline\\?"
    ):
        load_emnist("letters")
    assert fetches == []


def test_download_path_unpacks_the_split_from_the_release_zip(
    tmp_path, monkeypatch
):
    """The NIST zip layout (gzip/<file>), fetched through a stand-in for
    get_file."""
    monkeypatch.delenv(_sources.DATA_DIR_VARIABLE, raising=False)
    staging = tmp_path / "staging"
    train_images, _ = _write_split(staging, "letters", [4, 5], [6])
    cache = tmp_path / "cache"
    cache.mkdir()
    archive = cache / "emnist-gzip.zip"
    with zipfile.ZipFile(archive, "w") as release:
        for file in emnist_files("letters"):
            release.write(staging / file, f"gzip/{file}")
    requests = []

    def fake_get_file(fname, origin, file_hash, cache_subdir):
        requests.append((fname, origin, file_hash, cache_subdir))
        return str(archive)

    monkeypatch.setattr(_sources, "check_online", lambda url, name: None)
    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    monkeypatch.setitem(
        SPLITS,
        "letters",
        emnist.EMNISTSplit(SPLITS["letters"].class_names, 2, 1, label_offset=1),
    )
    (x_train, y_train), (_, y_test) = load_emnist("letters")
    assert requests == [
        (
            "emnist-gzip.zip",
            emnist.RELEASE_URL,
            emnist.RELEASE_SHA256,
            "datasets/emnist",
        )
    ]
    np.testing.assert_array_equal(x_train, train_images)
    assert y_train.tolist() == [4, 5] and y_test.tolist() == [6]
    assert (cache / emnist_files("letters")[0]).is_file()


@pytest.mark.parametrize("dotted", [False, True])
def test_torchvision_layout_of_gunzipped_files(tmp_path, no_network, dotted):
    """torchvision keeps EMNIST gunzipped in `EMNIST/raw`."""
    raw = tmp_path / "EMNIST" / "raw"
    train_images, test_images = _write_split(raw, "digits", [3, 4], [5])
    for path in list(raw.iterdir()):
        name = path.name.removesuffix(".gz")
        if dotted:
            name = name.replace("-idx", ".idx")
        (raw / name).write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    (x_train, y_train), (x_test, y_test) = load_emnist(
        "digits", tmp_path, verify=False
    )
    np.testing.assert_array_equal(x_train, train_images)
    np.testing.assert_array_equal(x_test, test_images)
    assert y_train.tolist() == [3, 4] and y_test.tolist() == [5]


def test_gunzipped_balanced_files_are_checked_for_size_not_checksum(
    tmp_path, monkeypatch, no_network
):
    """The published SHA-256 is of the gzipped files; a gunzipped copy is
    held to the published sizes."""
    _write_split(tmp_path, "balanced", [1, 2], [3])
    for path in list(tmp_path.iterdir()):
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    facts = SPLITS["balanced"]
    monkeypatch.setitem(
        SPLITS,
        "balanced",
        emnist.EMNISTSplit(facts.class_names, 2, 1, sha256=facts.sha256),
    )
    (_, y_train), _ = load_emnist("balanced", tmp_path)
    assert y_train.tolist() == [1, 2]
    monkeypatch.setitem(
        SPLITS,
        "balanced",
        emnist.EMNISTSplit(facts.class_names, 3, 1, sha256=facts.sha256),
    )
    with pytest.raises(ValueError, match=r"expected \(3, 28, 28\)"):
        load_emnist("balanced", tmp_path)
