"""Pytest configuration shared by the whole suite."""

import os

import keras
import pytest
from hypothesis import HealthCheck
from hypothesis import settings

pytest_plugins = ["pytester"]

# Hypothesis profiles of the property-based fuzz (tests/fuzz). "ci", the
# default, is reproducible (derandomize: the same inputs on every run) and
# keeps each entry's drawn examples to what tests/fuzz/strategies.budget
# asks; "deep" (HYPOTHESIS_PROFILE=deep, run by the large test
# tests/fuzz/deep_test.py with KERAS_PMM_DEEP_FUZZ=1) draws ten times as
# many, from a fresh seed (a fixed one where `CI` is set, so that a CI run
# is reproducible).
_FUZZ = dict(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", max_examples=100, derandomize=True, **_FUZZ)
settings.register_profile(
    "deep",
    max_examples=1000,
    derandomize=bool(os.environ.get("CI")),
    **_FUZZ,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Where the real data sets are looked for when KERAS_PMM_DATA_DIR is unset:
# the `shared/datasets` folder beside the checkout, as the Makefile does.
DEFAULT_DATA_DIR = os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "datasets"
)
DATA_FILES = [
    os.path.join(folder, "train-images-idx3-ubyte.gz")
    for folder in ("mnist", "fashion-mnist")
]


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


def find_data_dir(environ=os.environ):
    """The folder of the real MNIST / Fashion-MNIST IDX files.

    Without them the test is skipped, saying how to provide them; under CI
    (`CI` set, as CI services do) it fails instead, so that a CI run never
    passes with the real-data tests silently left out.
    """
    path = os.path.abspath(
        environ.get("KERAS_PMM_DATA_DIR") or DEFAULT_DATA_DIR
    )
    missing = [
        name
        for name in DATA_FILES
        if not os.path.isfile(os.path.join(path, name))
    ]
    if missing:
        message = (
            f"Real data sets not found ({', '.join(missing)} missing in "
            f"{path}): set KERAS_PMM_DATA_DIR to a folder holding the mnist/ "
            "and fashion-mnist/ IDX files, as in the README."
        )
        if environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def data_dir():
    """Folder with the real MNIST / Fashion-MNIST IDX files (see
    `find_data_dir`: skipped if absent, failed if absent under CI)."""
    return find_data_dir()
