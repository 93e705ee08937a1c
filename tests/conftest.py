"""Pytest configuration shared by the whole suite."""

import os

import keras
import pytest

DATA_DIR = os.environ.get("KERAS_PMM_DATA_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "datasets"
)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def float64():
    """64-bit floats available on every backend for the test.

    JAX computes in 32 bits unless `jax_enable_x64` is on (its documented
    default; float64 arrays are silently truncated otherwise), so the
    fixture turns it on for the test on that backend, as a JAX user must.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    with jax.enable_x64(True):
        yield


@pytest.fixture
def data_dir():
    """Folder with the real MNIST / Fashion-MNIST IDX files (fails if absent)."""
    path = os.path.abspath(DATA_DIR)
    if not os.path.isfile(
        os.path.join(path, "mnist", "train-images-idx3-ubyte.gz")
    ):
        pytest.fail(
            f"Real data sets not found in {path}: set KERAS_PMM_DATA_DIR to a folder "
            "with mnist/ and fashion-mnist/ IDX files (see README)."
        )
    return path
