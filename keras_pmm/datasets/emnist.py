"""EMNIST (Cohen et al. 2017): six splits from IDX files or the NIST release."""

import dataclasses
import pathlib
import string
import zipfile

import numpy as np

from keras_pmm import _validation
from keras_pmm.datasets import _sources
from keras_pmm.datasets.idx import is_gzipped
from keras_pmm.datasets.idx import read_idx

# The NIST release: one zip of gzipped IDX files for all splits.
RELEASE_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
RELEASE_SHA256 = (
    "fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e"
)

# Where users keep the files under a data folder, searched in order before
# the folder itself: our layout, the NIST zip's `gzip/` folder, and
# torchvision's `EMNIST/raw` (gunzipped files).
_SUBFOLDERS = ("emnist", "emnist/gzip", "gzip", "EMNIST/raw", "EMNIST", "raw")

_MERGED_LOWERCASE = (
    "abdefghnqrt"  # lowercase letters kept apart by balanced / bymerge
)


@dataclasses.dataclass(frozen=True)
class EMNISTSplit:
    """Published facts of one EMNIST split."""

    class_names: tuple
    train_size: int
    test_size: int
    label_offset: int = 0  # letters are labelled 1..26 in the files
    sha256: tuple = (
        None,
        None,
        None,
        None,
    )  # train images/labels, test images/labels

    @property
    def num_classes(self):
        return len(self.class_names)


SPLITS = {
    "balanced": EMNISTSplit(
        tuple(string.digits + string.ascii_uppercase + _MERGED_LOWERCASE),
        112_800,
        18_800,
        sha256=(
            "74295e75e4e9fa2c102147460ee7eb763653d5132d883a84fb88932bfb8d2db4",
            "b46d41e5156a0a8aaaa4d18979fdd1588850fa8571018acffd5d93b325a7d6ed",
            "117fc12b015e37ea98bfb2cbba3f77c3782c056cdbd219b87abfc8661d7135db",
            "a67cac948379b67270b9a4d0a01c8ec661598accf2f2b1964340b7c83cb175cd",
        ),
    ),
    "byclass": EMNISTSplit(
        tuple(string.digits + string.ascii_uppercase + string.ascii_lowercase),
        697_932,
        116_323,
    ),
    "bymerge": EMNISTSplit(
        tuple(string.digits + string.ascii_uppercase + _MERGED_LOWERCASE),
        697_932,
        116_323,
    ),
    "letters": EMNISTSplit(
        tuple(
            u + l
            for u, l in zip(string.ascii_uppercase, string.ascii_lowercase)
        ),
        124_800,
        20_800,
        label_offset=1,
    ),
    "digits": EMNISTSplit(tuple(string.digits), 240_000, 40_000),
    "mnist": EMNISTSplit(tuple(string.digits), 60_000, 10_000),
}


def emnist_files(split):
    """A split's files: train images and labels, test images and labels."""
    return tuple(
        f"emnist-{split}-{part}-{kind}-ubyte.gz"
        for part in ("train", "test")
        for kind in ("images-idx3", "labels-idx1")
    )


def _download(split):
    """Fetches the NIST zip (sha256-checked by Keras) and unpacks one split."""
    import keras

    _sources.check_online(RELEASE_URL, "EMNIST")
    try:
        archive = keras.utils.get_file(
            "emnist-gzip.zip",
            RELEASE_URL,
            file_hash=RELEASE_SHA256,
            cache_subdir="datasets/emnist",
        )
    except Exception as error:
        raise _sources.offline_error("EMNIST", error) from error
    folder = pathlib.Path(archive).parent
    with zipfile.ZipFile(archive) as release:
        for file in emnist_files(split):
            if not (folder / file).is_file():
                (folder / file).write_bytes(release.read(f"gzip/{file}"))
    return folder


def load_emnist(split="balanced", data_dir=None, verify=True):
    """EMNIST handwritten characters, oriented and labelled like MNIST.

    The IDX files store each image transposed relative to MNIST; the loader
    transposes them back so that characters read upright. The letters split
    labels its classes 1..26 in the files; they come back as 0..25.

    | split | classes | train | test |
    |---|---|---|---|
    | balanced | 47 | 112,800 | 18,800 |
    | byclass | 62 | 697,932 | 116,323 |
    | bymerge | 47 | 697,932 | 116,323 |
    | letters | 26 | 124,800 | 20,800 |
    | digits | 10 | 240,000 | 40,000 |
    | mnist | 10 | 60,000 | 10,000 |

    Sources, in order: `data_dir`, then the `KERAS_PMM_DATA_DIR` environment
    variable (the files
    `emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte.gz` directly
    inside, or in an `emnist/`, `emnist/gzip/`, `gzip/` or `EMNIST/raw/`
    (torchvision's) subfolder; gzipped as published or gunzipped, named
    `...-idx3-ubyte` or `....idx3-ubyte`), then the NIST release (561 MB,
    checked against its SHA-256 by `keras.utils.get_file`). Offline, the
    download fails within seconds.

    Args:
        split: one of the six splits above.
        data_dir: folder of IDX files, or None.
        verify: check the published sizes (and SHA-256 where published: of
            the gzipped files) of the files; pass False for subsets you made
            yourself.

    Returns:
        `((x_train, y_train), (x_test, y_test))` numpy arrays: uint8 images
        (n, 28, 28) and integer labels 0..num_classes-1.

    Raises:
        FileNotFoundError: no folder with the split's four files.
        ValueError: corrupt, truncated or wrong-size file, checksum mismatch or
            labels outside the split's classes; the message names the file.
        RuntimeError: the download failed (for example offline).

    Example:
    >>> from keras_pmm.datasets import EMNIST_SPLITS
    >>> EMNIST_SPLITS["letters"].class_names[22]  # label 22 of a letters set
    'Ww'
    """
    facts = SPLITS[_validation.check_choice(split, "split", tuple(SPLITS))]
    files = emnist_files(split)
    base = _sources.data_dir_from(data_dir)
    if base is None:
        base, subfolders = _download(split), ()
    else:
        subfolders = _SUBFOLDERS
    paths = _sources.find_files(f"EMNIST {split}", files, base, subfolders)
    folder = paths[0].parent
    sizes = (
        facts.train_size,
        facts.train_size,
        facts.test_size,
        facts.test_size,
    )
    arrays = []
    for path, size, digest, is_image in zip(
        paths, sizes, facts.sha256, (True, False) * 2
    ):
        count = size if verify else None
        shape = (count, 28, 28) if is_image else (count,)
        # The published SHA-256 is of the gzipped file.
        gzipped = is_gzipped(path)
        arrays.append(
            read_idx(
                path,
                expected_shape=shape,
                sha256=digest if verify and gzipped else None,
            )
        )
    (x_train, y_train, x_test, y_test) = arrays
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(
            f"EMNIST {split} in {folder}: {len(x_train)} train images but "
            f"{len(y_train)} "
            f"labels, {len(x_test)} test images but {len(y_test)} labels."
        )
    labels = []
    for name, y in (("train", y_train), ("test", y_test)):
        y = y.astype("int64") - facts.label_offset
        if y.size and (y.min() < 0 or y.max() >= facts.num_classes):
            raise ValueError(
                f"EMNIST {split} {name} labels in {folder} run from "
                f"{y.min() + facts.label_offset} "
                f"to {y.max() + facts.label_offset}; expected "
                f"{facts.label_offset}.."
                f"{facts.num_classes - 1 + facts.label_offset}."
            )
        labels.append(y.astype("uint8"))
    transpose = (0, 2, 1)
    return (
        (np.ascontiguousarray(x_train.transpose(transpose)), labels[0]),
        (np.ascontiguousarray(x_test.transpose(transpose)), labels[1]),
    )
