"""MNIST / Fashion-MNIST loaders: real files, folder layouts, environment
variable, download path."""

import gzip
import os
import pathlib

import keras
import numpy as np
import pytest

from keras_pmm import datasets
from keras_pmm.datasets import DATA_DIR_VARIABLE
from keras_pmm.datasets import _sources
from keras_pmm.datasets import load_fashion_mnist
from keras_pmm.datasets import load_mnist
from keras_pmm.datasets import mnist
from tests.datasets.idx_writer import write_idx

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# name, loader, keras download module, subfolder, published facts of the
# real release: first five train / test labels and the class counts of each
# split.
DATASETS = [
    pytest.param(
        load_mnist,
        keras.datasets.mnist,
        "mnist",
        [5, 0, 4, 1, 9],
        [7, 2, 1, 0, 4],
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        id="mnist",
    ),
    pytest.param(
        load_fashion_mnist,
        keras.datasets.fashion_mnist,
        "fashion-mnist",
        [9, 0, 0, 3, 0],
        [9, 2, 1, 1, 6],
        [6000] * 10,
        [1000] * 10,
        id="fashion-mnist",
    ),
]
LOADERS = [
    pytest.param(load_mnist, keras.datasets.mnist, "mnist", id="mnist"),
    pytest.param(
        load_fashion_mnist,
        keras.datasets.fashion_mnist,
        "fashion-mnist",
        id="fashion-mnist",
    ),
]


@pytest.fixture(autouse=True)
def empty_keras_cache(monkeypatch, tmp_path):
    """Keras' data set cache, empty unless a test fills it (so that files
    this machine's `~/.keras` holds do not decide a test)."""
    cache = tmp_path / "keras-cache" / "datasets"
    monkeypatch.setattr(_sources, "keras_cache", lambda: cache)
    return cache


@pytest.fixture
def no_download(monkeypatch):
    """Replaces both Keras downloads by a function that records calls and
    fails the test."""
    calls = []

    def refuse():
        calls.append(True)
        raise AssertionError("the download path must not be reached")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", refuse)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", refuse)
    return calls


def _fake_folder(folder, n_train=4, n_test=2):
    """Small, valid IDX files under the canonical names (their sha256 is not
    the published one)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for file, n, images in zip(
        FILES, (n_train, n_train, n_test, n_test), (True, False) * 2
    ):
        shape = (n, 28, 28) if images else (n,)
        write_idx(folder / file, rng.integers(0, 10, size=shape, dtype="uint8"))
    return folder


def _assert_split_shapes(result):
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    return (x_train, y_train), (x_test, y_test)


@pytest.mark.parametrize(
    "load, module, name, train_head, test_head, train_counts, test_counts",
    DATASETS,
)
def test_real_data_shapes_labels_and_classes(
    data_dir,
    no_download,
    load,
    module,
    name,
    train_head,
    test_head,
    train_counts,
    test_counts,
):
    (x_train, y_train), (x_test, y_test) = _assert_split_shapes(load(data_dir))
    for labels, head, counts in (
        (y_train, train_head, train_counts),
        (y_test, test_head, test_counts),
    ):
        assert np.issubdtype(labels.dtype, np.integer)
        assert labels.min() == 0 and labels.max() == 9
        np.testing.assert_array_equal(np.unique(labels), np.arange(10))
        np.testing.assert_array_equal(labels[:5], head)
        np.testing.assert_array_equal(np.bincount(labels, minlength=10), counts)
    assert x_train.min() == 0 and x_train.max() == 255
    assert not np.array_equal(x_train[0], x_train[1])
    assert no_download == []


def test_folder_holding_the_files_directly(data_dir, no_download):
    (_, y_train), (x_test, _) = _assert_split_shapes(
        load_mnist(os.path.join(data_dir, "mnist"))
    )
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    assert x_test.dtype == np.uint8
    assert no_download == []


def test_environment_variable_is_honoured(data_dir, no_download, monkeypatch):
    monkeypatch.setenv(DATA_DIR_VARIABLE, data_dir)
    (_, y_train), _ = _assert_split_shapes(load_fashion_mnist())
    np.testing.assert_array_equal(y_train[:5], [9, 0, 0, 3, 0])
    assert no_download == []


def test_data_dir_argument_wins_over_environment_variable(
    data_dir, no_download, monkeypatch, tmp_path
):
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(tmp_path / "nowhere"))
    (_, y_train), _ = _assert_split_shapes(load_mnist(data_dir))
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])


def test_data_set_in_the_wrong_folder_fails_its_checksum(data_dir, no_download):
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load_mnist(os.path.join(data_dir, "fashion-mnist"))
    assert "train-images-idx3-ubyte.gz" in str(info.value)


@pytest.mark.parametrize("load, module, name", LOADERS)
@pytest.mark.parametrize("layout", ["subfolder", "flat"])
def test_generated_files_under_canonical_names_fail_the_published_checksum(
    tmp_path, no_download, load, module, name, layout
):
    folder = _fake_folder(
        tmp_path / name if layout == "subfolder" else tmp_path
    )
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load(tmp_path)
    message = str(info.value)
    assert str(folder / FILES[0]) in message
    assert "expected sha256 " in message and " got " in message
    assert no_download == []


def test_subfolder_is_preferred_over_files_at_the_top(tmp_path, no_download):
    _fake_folder(tmp_path)
    _fake_folder(tmp_path / "mnist")
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load_mnist(tmp_path)
    assert str(tmp_path / "mnist" / FILES[0]) in str(info.value)


@pytest.mark.parametrize("load, module, name", LOADERS)
@pytest.mark.parametrize("via", ["argument", "environment"])
def test_missing_folder_names_where_it_looked(
    tmp_path, no_download, monkeypatch, load, module, name, via
):
    missing = tmp_path / "no-such-folder"
    if via == "environment":
        monkeypatch.setenv(DATA_DIR_VARIABLE, str(missing))
        call = load
    else:
        monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)

        def call():
            return load(str(missing))

    with pytest.raises(FileNotFoundError) as info:
        call()
    message = str(info.value)
    assert str(missing / name) in message
    assert str(missing) in message
    assert FILES[0] in message
    assert "data_dir" in message and DATA_DIR_VARIABLE in message
    assert no_download == []


def test_folder_with_some_files_missing_names_where_it_looked(
    tmp_path, no_download
):
    folder = _fake_folder(tmp_path / "mnist")
    (folder / FILES[3]).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert str(folder) in message and FILES[3] in message
    assert "data_dir" in message and DATA_DIR_VARIABLE in message


def test_folder_of_another_data_set_is_not_used(tmp_path, no_download):
    _fake_folder(tmp_path / "fashion-mnist")
    with pytest.raises(FileNotFoundError, match="No mnist IDX files"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("load, module, name", LOADERS)
@pytest.mark.parametrize("environment", [None, ""])
def test_without_data_dir_or_variable_the_download_is_used(
    monkeypatch, load, module, name, environment
):
    if environment is None:
        monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(DATA_DIR_VARIABLE, environment)
    expected = (
        (np.zeros((2, 28, 28), "uint8"), np.array([3, 4], "uint8")),
        (np.ones((1, 28, 28), "uint8"), np.array([5], "uint8")),
    )
    calls = []

    def fake_download():
        calls.append(True)
        return expected

    monkeypatch.setattr(module, "load_data", fake_download)
    monkeypatch.setattr(_sources, "check_online", lambda url, name: None)
    assert load() is expected
    assert calls == [True]


@pytest.mark.parametrize("load, module, name", LOADERS)
def test_offline_download_says_how_to_point_at_a_folder(
    monkeypatch, load, module, name
):
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    cause = OSError("[Errno -3] Temporary failure in name resolution")

    def offline():
        raise cause

    monkeypatch.setattr(module, "load_data", offline)
    monkeypatch.setattr(_sources, "check_online", lambda url, name: None)
    with pytest.raises(RuntimeError) as info:
        load()
    message = str(info.value)
    assert f"Could not download {name}" in message
    assert "Offline?" in message
    assert "data_dir=" in message and DATA_DIR_VARIABLE in message
    assert "name resolution" in message
    assert info.value.__cause__ is cause


@pytest.mark.parametrize("load, module, name", LOADERS)
def test_unreachable_host_fails_before_the_download_starts(
    monkeypatch, load, module, name
):
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    probes, downloads = [], []

    def unreachable(address, timeout):
        probes.append((address, timeout))
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(_sources.socket, "create_connection", unreachable)
    monkeypatch.setattr(module, "load_data", lambda: downloads.append(True))
    with pytest.raises(RuntimeError, match="Offline\\?") as info:
        load()
    assert "Name or service not known" in str(info.value)
    assert probes == [
        (("storage.googleapis.com", 443), _sources.CONNECT_TIMEOUT)
    ]
    assert _sources.CONNECT_TIMEOUT <= 5
    assert downloads == []


def test_public_names():
    assert DATA_DIR_VARIABLE == "KERAS_PMM_DATA_DIR"
    assert set(datasets.__all__) == {
        "DATA_DIR_VARIABLE",
        "EMNIST_SPLITS",
        "FASHION_MNIST_CLASS_NAMES",
        "MATRIX_FUNCTIONS",
        "MNIST_CLASS_NAMES",
        "anharmonic_oscillator_energies",
        "load_emnist",
        "load_fashion_mnist",
        "load_mnist",
        "matrix_function_data",
        "read_idx",
        "to_tf_dataset",
    }
    assert (
        len(datasets.MNIST_CLASS_NAMES)
        == len(datasets.FASHION_MNIST_CLASS_NAMES)
        == 10
    )


# Layouts in which the original sites and tools leave the files: folder under
# the data folder, and how each file is named (published, gunzipped, with a
# dot before idx, in a folder of its own name as Kaggle's archive unpacks).
def _published(file, gzipped=True):
    stem = file.removesuffix(".gz")
    return f"{stem}.gz" if gzipped else stem


def _dotted(file, gzipped=False):
    stem = file.removesuffix(".gz").replace("-idx", ".idx")
    return f"{stem}.gz" if gzipped else stem


def _own_folder(file):
    stem = _dotted(file).replace(".idx", "-idx")
    return f"{stem}/{stem}"


LAYOUTS = [
    pytest.param("mnist", "mnist", _published, id="ours"),
    pytest.param("mnist", "MNIST/raw", _dotted, id="torchvision-dotted"),
    pytest.param(
        "mnist",
        "MNIST/raw",
        lambda file: _published(file, gzipped=False),
        id="torchvision-gunzipped",
    ),
    pytest.param(
        "mnist", "", lambda file: _dotted(file, True), id="flat-dotted-gz"
    ),
    pytest.param("mnist", "", _own_folder, id="kaggle-unpacked"),
    pytest.param(
        "fashion-mnist",
        "FashionMNIST/raw",
        lambda file: _published(file, gzipped=False),
        id="fashion-torchvision",
    ),
    pytest.param(
        "fashion-mnist",
        "datasets/fashion-mnist",
        _published,
        id="fashion-keras-home",
    ),
]


def _write_data_set(folder, name_of, digests, name, monkeypatch, seed=0):
    """Small IDX files named by `name_of`; the loader's published digests
    become theirs, so the checks run as on the real files."""
    rng = np.random.default_rng(seed)
    arrays = []
    for file, n, images in zip(FILES, (4, 4, 2, 2), (True, False) * 2):
        shape = (n, 28, 28) if images else (n,)
        array = rng.integers(0, 256, size=shape, dtype="uint8")
        path = folder / name_of(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_idx(path, array)
        arrays.append(array)
    digests[name] = tuple(mnist._idx_sha256(array) for array in arrays)
    monkeypatch.setattr(mnist, "_DATA_SHA256", digests)
    return arrays


def _assert_arrays(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, expected in zip((x_train, y_train, x_test, y_test), arrays):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name, subfolder, name_of", LAYOUTS)
def test_files_are_found_in_the_layouts_users_have(
    tmp_path, no_download, monkeypatch, name, subfolder, name_of
):
    base = tmp_path / "data"
    arrays = _write_data_set(
        base / subfolder, name_of, dict(mnist._DATA_SHA256), name, monkeypatch
    )
    load = load_mnist if name == "mnist" else load_fashion_mnist
    _assert_arrays(load(base), arrays)
    assert no_download == []


def test_torchvision_root_named_directly(tmp_path, no_download, monkeypatch):
    arrays = _write_data_set(
        tmp_path / "MNIST" / "raw",
        _published,
        dict(mnist._DATA_SHA256),
        "mnist",
        monkeypatch,
    )
    _assert_arrays(load_mnist(tmp_path / "MNIST"), arrays)


def test_gzipped_and_gunzipped_files_mix_in_one_folder(
    tmp_path, no_download, monkeypatch
):
    def name_of(file):
        return file if "images" in file else _dotted(file)

    arrays = _write_data_set(
        tmp_path, name_of, dict(mnist._DATA_SHA256), "mnist", monkeypatch
    )
    _assert_arrays(load_mnist(tmp_path), arrays)


def test_gunzipped_files_of_another_data_set_fail_the_checksum(
    tmp_path, no_download
):
    _fake_folder(tmp_path / "MNIST" / "raw")
    for path in (tmp_path / "MNIST" / "raw").iterdir():
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert (
        str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    )
    assert "of its uncompressed IDX data" in message


def _write_npz(path, arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **dict(zip(mnist._NPZ_KEYS, arrays)))


@pytest.mark.parametrize(
    "where", ["mnist.npz", "datasets/mnist.npz", "mnist/mnist.npz"]
)
def test_keras_mnist_npz_is_read(tmp_path, no_download, monkeypatch, where):
    rng = np.random.default_rng(1)
    arrays = [
        rng.integers(0, 256, size=shape, dtype="uint8")
        for shape in ((4, 28, 28), (4,), (2, 28, 28), (2,))
    ]
    _write_npz(tmp_path / where, arrays)
    digests = dict(mnist._DATA_SHA256)
    digests["mnist"] = tuple(mnist._idx_sha256(a) for a in arrays)
    monkeypatch.setattr(mnist, "_DATA_SHA256", digests)
    _assert_arrays(load_mnist(tmp_path), arrays)


def test_npz_with_other_data_fails_the_checksum(tmp_path, no_download):
    arrays = [
        np.zeros(shape, "uint8")
        for shape in ((4, 28, 28), (4,), (2, 28, 28), (2,))
    ]
    _write_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist.npz") in message
    assert mnist._NPZ_SHA256 in message and "x_train" in message


def test_npz_without_the_arrays_names_them(tmp_path, no_download):
    np.savez(tmp_path / "mnist.npz", images=np.zeros(3, "uint8"))
    with pytest.raises(ValueError, match="x_train, y_train, x_test, y_test"):
        load_mnist(tmp_path)


def test_idx_files_are_preferred_over_the_npz(tmp_path, no_download):
    np.savez(tmp_path / "mnist.npz", images=np.zeros(3, "uint8"))
    _fake_folder(tmp_path / "mnist")
    with pytest.raises(ValueError, match="Checksum mismatch") as info:
        load_mnist(tmp_path)
    assert str(tmp_path / "mnist" / FILES[0]) in str(info.value)


def test_missing_files_message_names_the_other_forms(tmp_path, no_download):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    for folder in ("mnist", "MNIST/raw"):
        assert str(tmp_path / folder) in message
    assert "each also gunzipped or with '.idx' for '-idx'" in message
    assert f"nor {tmp_path / 'mnist.npz'}" in message


@pytest.mark.parametrize(
    "load, name, cached",
    [
        (load_mnist, "mnist", "mnist.npz"),
        (load_fashion_mnist, "fashion-mnist", "fashion-mnist"),
    ],
)
def test_keras_cache_is_read_offline_without_a_data_dir(
    monkeypatch, empty_keras_cache, no_download, load, name, cached
):
    """Offline, files Keras downloaded earlier are read, not refused."""
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setattr(
        _sources.socket,
        "create_connection",
        lambda *args, **kwargs: pytest.fail("went online"),
    )
    digests = dict(mnist._DATA_SHA256)
    if cached.endswith(".npz"):
        arrays = [
            np.full(shape, 7, "uint8")
            for shape in ((4, 28, 28), (4,), (2, 28, 28), (2,))
        ]
        _write_npz(empty_keras_cache / cached, arrays)
        digests[name] = tuple(mnist._idx_sha256(a) for a in arrays)
        monkeypatch.setattr(mnist, "_DATA_SHA256", digests)
    else:
        arrays = _write_data_set(
            empty_keras_cache / cached, _published, digests, name, monkeypatch
        )
    _assert_arrays(load(), arrays)
    assert no_download == []


def test_corrupt_keras_cache_is_left_to_keras_to_download_again(
    monkeypatch, empty_keras_cache
):
    monkeypatch.delenv(DATA_DIR_VARIABLE, raising=False)
    _write_npz(empty_keras_cache / "mnist.npz", [np.zeros(2, "uint8")] * 4)
    expected = object()
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: expected)
    monkeypatch.setattr(_sources, "check_online", lambda url, name: None)
    assert load_mnist() is expected


def test_keras_cache_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.undo()  # the real `keras_cache`, not the fixture's
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert _sources.keras_cache() == tmp_path / "datasets"


def test_real_gunzipped_files_in_torchvision_layout(data_dir, tmp_path):
    """The uncompressed digests are those of the published files' data."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for file in FILES:
        packed = (pathlib.Path(data_dir) / "mnist" / file).read_bytes()
        target = _dotted(file) if "t10k" in file else _published(file, False)
        (raw / target).write_bytes(gzip.decompress(packed))
    (_, y_train), (x_test, y_test) = _assert_split_shapes(load_mnist(tmp_path))
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(y_test[:5], [7, 2, 1, 0, 4])


def test_npz_check_accepts_the_real_arrays(data_dir):
    """An `.npz` other than Keras' file passes when its arrays are the
    published data: the IDX encoding of each array has the published
    digest."""
    for name, load in (
        ("mnist", load_mnist),
        ("fashion-mnist", load_fashion_mnist),
    ):
        arrays = [a for split in load(data_dir) for a in split]
        digests = [mnist._idx_sha256(a) for a in arrays]
        assert tuple(digests) == mnist._DATA_SHA256[name]
