"""Independent batched eigensolves in one compiled program finish on JAX.

JAX's CPU LAPACK kernels split a batch over XLA's intra-op pool and wait for
the pieces from inside a worker of that pool; two such solves running at
once on a 2-worker pool used to wait for each other for ever (a deep
ensemble's `predict` hung). `keras_pmm._backend.sequenced` orders them. The
program runs in a child process with a deadline, so that a regression fails
instead of hanging the suite.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np

from keras_pmm import _backend
from keras_pmm.linalg import eigh
from tests.test_case import TestCase

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    from keras_pmm import _backend
    from keras_pmm.models import ImagePMMClassifier
    from keras_pmm.uq import DeepEnsemble

    if sys.argv[1] == "unsequenced":
        _backend.sequenced = lambda function, x: function(x)
    keras.utils.set_random_seed(0)
    member = ImagePMMClassifier(10, n=12, hamiltonian_size=6, r=2)
    ensemble = DeepEnsemble(member, num_members=4, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (4000, 28, 28))
    probabilities = ensemble.predict(images, batch_size=1000, verbose=0)
    print("finished", probabilities.shape, float(probabilities.sum()))
    """
)


def run_child(mode, timeout=240):
    environment = dict(os.environ, KERAS_BACKEND="jax")
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return subprocess.run(
            [sys.executable, "-c", CHILD, mode],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
        )
    except subprocess.TimeoutExpired:
        return None


class TestConcurrentSolves(TestCase):
    def test_ensemble_predict_finishes_on_jax(self):
        result = run_child("sequenced")
        assert result is not None, "the JAX ensemble predict hung"
        assert result.returncode == 0, result.stderr[-2000:]
        assert "finished (4000, 10) 4000" in result.stdout

    def test_sequenced_leaves_the_solve_unchanged(self):
        rng = np.random.default_rng(1)
        h = rng.normal(size=(3, 5, 5)).astype("float32")
        h = h + np.swapaxes(h, -1, -2)
        direct = eigh(h)[0]
        first = _backend.sequenced(lambda x: eigh(x), h)[0]
        second = _backend.sequenced(lambda x: eigh(x), h)[0]
        np.testing.assert_allclose(first, direct, atol=1e-6)
        np.testing.assert_allclose(second, np.linalg.eigvalsh(h), atol=1e-4)
