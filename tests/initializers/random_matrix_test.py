"""GOE/GUE/FanInNormal initializers: statistics, semicircle, config,
bad arguments."""

import keras
import numpy as np
import pytest

from keras_pmm import initializers
from keras_pmm.linalg import hermitian_from_packed
from keras_pmm.linalg import packed_size
from tests.test_case import TestCase
from tests.test_case import to_numpy


@pytest.mark.parametrize("name, field", [("GOE", "real"), ("GUE", "complex")])
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_spectrum_fills_the_semicircle_of_radius_two_scale(name, field, scale):
    n = 200
    initializer = getattr(initializers, name)(scale=scale, seed=3)
    matrices = to_numpy(
        hermitian_from_packed(initializer((4, packed_size(n, field))), field)
    )
    np.testing.assert_allclose(
        matrices, np.conj(np.swapaxes(matrices, -1, -2)), atol=0
    )
    eigenvalues = np.linalg.eigvalsh(
        matrices.astype("complex128" if field == "complex" else "float64")
    )
    radius = np.abs(eigenvalues).max(axis=-1)
    np.testing.assert_allclose(radius, 2 * scale, rtol=0.1)
    # Wigner semicircle: second moment of the spectrum is scale^2.
    np.testing.assert_allclose(np.mean(eigenvalues**2), scale**2, rtol=0.05)
    off_diagonal = matrices[
        :, np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]
    ]
    np.testing.assert_allclose(
        np.mean(np.abs(off_diagonal) ** 2), scale**2 / n, rtol=0.05
    )


class TestConfig(TestCase):
    @pytest.mark.parametrize(
        "initializer, config",
        [
            (
                initializers.GOE(scale=0.7, seed=5),
                {"scale": 0.7, "seed": 5, "fan_in_axis": None},
            ),
            (
                initializers.GUE(scale=0.7, seed=5, fan_in_axis=0),
                {"scale": 0.7, "seed": 5, "fan_in_axis": 0},
            ),
            (
                initializers.FanInNormal(scale=2.0, fan_in_axis=-1, seed=4),
                {"scale": 2.0, "fan_in_axis": -1, "seed": 4},
            ),
        ],
        ids=["GOE", "GUE", "FanInNormal"],
    )
    def test_seeded_initializers_round_trip_and_repeat(
        self, initializer, config
    ):
        assert initializer.get_config() == config
        rebuilt = self.run_class_serialization_test(initializer)
        np.testing.assert_array_equal(
            to_numpy(initializer((2, 36))), to_numpy(rebuilt((2, 36)))
        )


@pytest.mark.parametrize("name, field", [("GOE", "real"), ("GUE", "complex")])
def test_fan_in_axis_divides_the_scale_when_the_weight_is_made(name, field):
    """A sum of p matrices with O(1) weights keeps radius 2 * scale for
    any p."""
    initializer = getattr(initializers, name)(scale=1.0, seed=3, fan_in_axis=0)
    for p in (1, 16):
        packed = to_numpy(initializer((p, packed_size(60, field))))
        summed = to_numpy(hermitian_from_packed(packed.sum(axis=0), field))
        radius = np.abs(np.linalg.eigvalsh(summed.astype("complex128"))).max()
        np.testing.assert_allclose(radius, 2.0, rtol=0.2)
    with pytest.raises(ValueError, match="fan_in_axis=1.5"):
        initializers.GOE(fan_in_axis=1.5)


def test_fan_in_normal_scales_by_the_named_axis():
    initializer = initializers.FanInNormal(scale=2.0, fan_in_axis=-1, seed=4)
    values = to_numpy(initializer((3, 50, 400)))
    np.testing.assert_allclose(values.std(), 2.0 / np.sqrt(400), rtol=0.02)
    np.testing.assert_allclose(
        to_numpy(
            initializers.FanInNormal(fan_in_axis=0, seed=4)((100, 500))
        ).std(),
        0.1,
        rtol=0.02,
    )
    with pytest.raises(ValueError, match="`scale` must be positive"):
        initializers.FanInNormal(scale=0.0)
    with pytest.raises(ValueError, match="fan_in_axis=None"):
        initializers.FanInNormal(fan_in_axis=None)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_non_positive_scale_is_rejected(bad):
    with pytest.raises(
        ValueError, match=r"`scale` must be positive. Received: scale="
    ):
        initializers.GUE(scale=bad)


class TestSeedGeneratorSeeds(TestCase):
    """Issue 31, item 15: a `keras.random.SeedGenerator` seed serialises,
    as it does for Keras's own random initialisers."""

    @pytest.mark.parametrize("name", ["GOE", "GUE", "FanInNormal"])
    def test_seed_generator_round_trips(self, name):
        initializer = getattr(initializers, name)(
            seed=keras.random.SeedGenerator(3)
        )
        assert isinstance(initializer.get_config()["seed"], dict)
        rebuilt = self.run_class_serialization_test(initializer)
        assert rebuilt.get_config() == initializer.get_config()
        assert to_numpy(rebuilt((2, 36))).shape == (2, 36)

    def test_a_seed_of_another_type_is_refused(self):
        with pytest.raises(ValueError, match="seed"):
            initializers.GOE(seed="three")
