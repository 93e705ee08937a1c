"""The uncertainty models used as users do: mixed precision, float64,
`jit_compile=True` (XLA; torch.compile on PyTorch), a single image, a wrong
shape."""

import numpy as np
import pytest

from keras_pmm import uq
from keras_pmm.models import ImagePMMClassifier
from tests.models.model_cases import images
from tests.test_case import TestCase
from tests.test_case import policy_scope

SMALL = dict(image_shape=(8, 8), block_shape=(4, 4), n=3)


def _ensemble(**kwargs):
    return uq.DeepEnsemble(
        ImagePMMClassifier(3, **SMALL, **kwargs), num_members=2, seed=0
    )


def _bayes(**kwargs):
    return uq.BayesianImagePMMClassifier(
        3, num_samples=3, seed=0, **SMALL, **kwargs
    )


MAKERS = {"ensemble": _ensemble, "bayes": _bayes}


def _data():
    x = images(12, 8, 8)
    y = np.arange(12) % 3
    return x, y


class TestUserChecks(TestCase):
    @pytest.mark.parametrize(
        "kind,policy",
        [("ensemble", "mixed_float16"), ("bayes", "mixed_bfloat16")],
    )
    def test_mixed_precision_fits_and_predicts(self, kind, policy):
        x, y = _data()
        with policy_scope(policy):
            model = MAKERS[kind]()
            history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
            assert np.isfinite(history.history["loss"][0])
            p = model.predict(x, verbose=0).astype("float32")
        assert np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=2e-2)

    @pytest.mark.parametrize("kind", sorted(MAKERS))
    def test_float64_predicts_in_float64(self, kind, float64):
        x, y = _data()
        if kind == "ensemble":
            model = uq.DeepEnsemble(
                ImagePMMClassifier(3, **SMALL, dtype="float64"),
                num_members=2,
                seed=0,
            )
        else:
            model = _bayes(dtype="float64")
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        p = model.predict(x, verbose=0)
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-12)

    @pytest.mark.parametrize("kind", sorted(MAKERS))
    def test_single_image_and_wrong_shape(self, kind):
        x, _ = _data()
        model = MAKERS[kind]()
        batch = model.predict(x, verbose=0)
        single = model.predict(x[3:4], verbose=0)
        np.testing.assert_allclose(single[0], batch[3], atol=1e-5)
        with pytest.raises(ValueError, match="8, 8"):
            model.predict(images(2, 9, 9), verbose=0)

    @pytest.mark.large
    @pytest.mark.every_backend
    @pytest.mark.parametrize("kind", sorted(MAKERS))
    def test_jit_compile_fits_and_predicts_like_eager(self, kind):
        """XLA on TensorFlow and JAX, torch.compile on PyTorch."""
        x, y = _data()
        model = MAKERS[kind]()
        model.compile(jit_compile=True)
        history = model.fit(x, y, epochs=1, batch_size=12, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        eager = MAKERS[kind]()
        eager.predict(x[:1], verbose=0)
        eager.set_weights(model.get_weights())
        if kind == "bayes":
            # Seeded draws repeat under the compiler, but TensorFlow's XLA
            # may pick another stateless-random algorithm than its eager
            # kernels: compare the deterministic posterior mean.
            sampled = model.predict(x, batch_size=12, verbose=0)
            np.testing.assert_array_equal(
                sampled, model.predict(x, batch_size=12, verbose=0)
            )
            model.inference = eager.inference = "mean"
        np.testing.assert_allclose(
            model.predict(x, batch_size=12, verbose=0),
            eager.predict(x, batch_size=12, verbose=0),
            atol=1e-5,
        )
