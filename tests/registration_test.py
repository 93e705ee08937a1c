"""A bare `import keras_pmm` registers its Keras classes, in any import order.

The package loads its subpackages lazily (fast CLI help), so the classes
register through `keras_pmm._registration` once Keras is imported; checked
in fresh processes, where nothing else has imported the subpackages yet.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_pmm import models

LOAD = """
import numpy as np
{imports}
model = keras.saving.load_model({path!r})
value = model.predict(np.ones((1, 2)), verbose=0)[0, 0]
print(type(model).__name__, float(value))
"""


@pytest.mark.parametrize(
    "imports",
    [
        "import keras_pmm\nimport keras",
        "import keras\nimport keras_pmm",
        # Keras first imported from inside a keras-pmm subpackage, which
        # used to meet that subpackage half-initialised (ImportError).
        "import keras_pmm.linalg\nimport keras",
        "import keras_pmm\nkeras_pmm.layers\nimport keras",
        "import keras_pmm.initializers\nimport keras",
    ],
)
def test_saved_model_loads_after_a_bare_import(tmp_path, imports):
    model = models.PMMRegressor(n=2, r=1)
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    path = str(tmp_path / "regressor.keras")
    model.save(path)
    expected = float(model.predict(np.ones((1, 2)), verbose=0)[0, 0])
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run(
        [sys.executable, "-c", LOAD.format(imports=imports, path=path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    name, value = result.stdout.split()[-2:]
    assert name == "PMMRegressor"
    np.testing.assert_allclose(float(value), expected, rtol=1e-6)


def test_importing_the_package_alone_does_not_start_keras():
    code = "import sys, keras_pmm; print('keras' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.stdout.strip() == "False", result.stderr
