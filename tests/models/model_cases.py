"""The table of every keras-pmm model: one case per configuration.

`tests/conformance_test.py` runs Keras's and our conformance checks on each
case; `tests/models/models_test.py` trains the cases that have `learn` data.
"""

import dataclasses
import functools

import numpy as np

from keras_pmm import datasets
from keras_pmm import models
from keras_pmm.linalg import packed_size

# Parameters of one packed matrix: L(n) real, L(n, "complex") complex.
L = packed_size


def features(batch, p):
    return (
        np.random.default_rng(0)
        .uniform(-1, 1, size=(batch, p))
        .astype("float32")
    )


def images(batch, height, width, blank_blocks=False):
    """Random uint8 images; with `blank_blocks`, the first is blank and the
    second has a blank top-left quarter (edge cases of the normalisations)."""
    images = (
        np.random.default_rng(0)
        .integers(0, 256, size=(batch, height, width))
        .astype("uint8")
    )
    if blank_blocks:
        images[0] = 0
        images[1, : height // 2, : width // 2] = 0
    return images


def regression_data(samples=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(samples, 2)).astype("float32")
    y = np.stack([np.sin(2 * x[:, 0]) * x[:, 1], x[:, 0] ** 2], axis=-1).astype(
        "float32"
    )
    return x, y


def classification_data(samples=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("int32") + (np.abs(x[:, 0]) > 1.5)
    return x, y.astype("int32")


def image_data(samples=64, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=samples).astype("int32")
    x = rng.integers(0, 40, size=(samples, 8, 8)).astype("uint8")
    for label in range(3):  # a bright bar whose position gives the class
        x[y == label, :, 2 * label : 2 * label + 3] = 255
    return x, y


def regression_target_0(samples=256, seed=0):
    """`regression_data` with its first target only."""
    x, y = regression_data(samples, seed)
    return x, y[:, :1]


@dataclasses.dataclass
class ModelCase:
    name: str
    make: callable  # keyword arguments (e.g. dtype) reach the model
    x: np.ndarray
    y: np.ndarray
    output_shape: tuple
    num_params: int
    # One case per model class compiles with jit_compile=True: a torch.compile
    # of a PMM takes 30-100 s on 2 cores, so variants of a class share it.
    jit: bool = True
    # Data with structure to learn, (x, y) = learn(), for the training tests
    # of tests/models/models_test.py; None where another file covers it.
    learn: callable = None


MODEL_CASES = [
    ModelCase(
        "regressor_observable",
        functools.partial(models.PMMRegressor, num_outputs=2, n=4, r=2),
        features(8, 3),
        features(8, 2),
        (2,),
        # + input and target scaling: offset and scale per feature/output
        (3 + 1) * L(4) + 2 * (3 * L(4) + 1) + 2 * 3 + 2 * 2,
        learn=regression_data,
    ),
    ModelCase(
        "regressor_eigenvalue_complex",
        functools.partial(
            models.PMMRegressor, n=4, r=3, readout="eigenvalue", field="complex"
        ),
        features(8, 3),
        features(8, 1),
        (1,),
        (3 + 1) * L(4, "complex") + 3 * 1 + 1 + 2 * 3 + 2 * 1,
        jit=False,
        learn=regression_target_0,
    ),
    ModelCase(
        "regressor_low_rank_standard_scaling",
        functools.partial(
            models.PMMRegressor,
            n=5,
            r=2,
            rank=2,
            input_scaling="standard",
            target_scaling=None,
        ),
        features(8, 3),
        features(8, 1),
        (1,),
        L(5) + 3 * 2 * (5 + 1) + (3 * L(5) + 1) + 2 * 3,
        jit=False,
        learn=regression_target_0,
    ),
    ModelCase(
        "regressor_raw_eigenvalues",
        functools.partial(
            models.PMMRegressor,
            num_outputs=2,
            n=3,
            r=2,
            readout="eigenvalue",
            eigenvalue_map=None,
        ),
        features(8, 2),
        features(8, 2),
        (2,),
        (2 + 1) * L(3) + 2 * 2 + 2 * 2,
        jit=False,
        learn=regression_data,
    ),
    ModelCase(
        "matrix_function",
        functools.partial(
            models.MatrixFunctionPMM,
            size=3,
            hidden_units=(4,),
            output_transform="exp",
        ),
        *datasets.matrix_function_data("exp", 3, 8, seed=0),
        (3, 3),
        3 * 3 + L(3) + 1 + (2 * 4 + 5),
    ),
    ModelCase(
        "classifier",
        functools.partial(models.PMMClassifier, 3, n=4, r=2, decoder="shared"),
        features(8, 5),
        np.arange(8) % 3,
        (3,),
        (5 + 1) * L(4) + 3 * (L(4) + 1),
        learn=classification_data,
    ),
    ModelCase(
        "image_classifier",
        functools.partial(
            models.ImagePMMClassifier,
            4,
            image_shape=(8, 8),
            block_shape=(4, 4),
            n=3,
            r=2,
        ),
        images(8, 8, 8),
        np.arange(8) % 4,
        (4,),
        4 * 3 * (4 + 4) + 4 * (3 * 3 + L(3)) + 4 * (3 * L(3) + 1),
        jit=False,
        learn=image_data,
    ),
    ModelCase(
        "image_classifier_deskew",
        functools.partial(
            models.ImagePMMClassifier,
            4,
            image_shape=(8, 8),
            block_shape=(4, 4),
            n=3,
            r=2,
            deskew=True,
        ),
        images(8, 8, 8),
        np.arange(8) % 4,
        (4,),
        4 * 3 * (4 + 4) + 4 * (3 * 3 + L(3)) + 4 * (3 * L(3) + 1),
    ),
    ModelCase(
        "hybrid_classifier",
        functools.partial(
            models.HybridPMMClassifier,
            4,
            image_shape=(8, 8),
            conv_filters=(2,),
            features=3,
            n=3,
            r=2,
        ),
        images(8, 8, 8),
        np.arange(8) % 4,
        (4,),
        (9 + 1) * 2 + (4 * 4 * 2 + 1) * 3 + (3 + 1) * L(3) + 4 * (3 * L(3) + 1),
    ),
]
