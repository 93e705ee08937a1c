"""Shared helpers of the keras-pmm test suite (the `TestCase` of STYLE.md)."""

import contextlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
from keras import ops

ROOT = pathlib.Path(__file__).resolve().parents[1]


def to_numpy(x):
    """numpy view of a backend tensor (complex kept)."""
    return np.asarray(ops.convert_to_numpy(x))


def random_hermitian(shape, field="real", seed=0, dtype=None):
    """Random real symmetric / complex Hermitian numpy matrices.

    `shape` is (..., n, n).
    """
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    if field == "complex":
        a = a + 1j * rng.normal(size=shape)
    h = (a + np.conj(np.swapaxes(a, -1, -2))) / 2
    return h.astype(dtype or ("complex64" if field == "complex" else "float32"))


def with_spectrum(eigenvalues, seed=0, field="real"):
    """Q diag(eigenvalues) Q^H, Q random orthogonal/unitary (numpy float64)."""
    eigenvalues = np.asarray(eigenvalues, dtype="float64")
    n = eigenvalues.shape[-1]
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n)) + (
        1j * rng.normal(size=(n, n)) if field == "complex" else 0
    )
    q, _ = np.linalg.qr(a)
    return (q * eigenvalues) @ np.conj(q.T)


def gradient(function, x):
    """d sum(function(x)) / dx for a real-valued function, on any backend."""
    backend = keras.backend.backend()
    x = ops.convert_to_tensor(x)
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda t: ops.sum(function(t)))(x))
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            value = ops.sum(function(x))
        return tape.gradient(value, x).numpy()

    x = x.detach().clone().requires_grad_(True)
    ops.sum(function(x)).backward()
    return x.grad.numpy()


@keras.saving.register_keras_serializable(package="keras_pmm_tests")
class _RealFeatures(keras.layers.Layer):
    """Flattens any (possibly complex) tensor into real features to fit."""

    def call(self, inputs):
        flat = ops.reshape(inputs, (-1, int(np.prod(inputs.shape[1:]))))
        if "complex" in keras.backend.standardize_dtype(inputs.dtype):
            return ops.concatenate([ops.real(flat), ops.imag(flat)], axis=-1)
        return flat


def _to_json(value):
    """Sorted JSON of a config, tuples told apart from lists (as in Keras)."""

    def encode(item):
        if isinstance(item, tuple):
            return {"__tuple__": [encode(e) for e in item]}
        if isinstance(item, list):
            return [encode(e) for e in item]
        if isinstance(item, dict):
            return {key: encode(e) for key, e in item.items()}
        return item

    return json.dumps(encode(value), sort_keys=True, indent=1)


def _from_json(text):
    def decode(item):
        if isinstance(item, dict) and set(item) == {"__tuple__"}:
            return tuple(item["__tuple__"])
        return item

    return json.loads(text, object_hook=decode)


def _public_dir(instance):
    return set(dir(instance)) - {"__annotations__"}


class TestCase:
    """Common checks for every keras-pmm layer and model.

    Test classes derive from it and are collected by pytest as plain
    classes (not `unittest`), one instance per test.
    """

    @pytest.fixture(autouse=True)
    def _remove_temp_dirs(self):
        """Deletes the folders of `get_temp_dir` once the test is over."""
        yield
        for folder in self.__dict__.pop("_temp_dirs", []):
            folder.cleanup()

    def get_temp_dir(self):
        """A fresh folder, deleted with its contents after the test."""
        folder = tempfile.TemporaryDirectory(prefix="keras_pmm_test_")
        self.__dict__.setdefault("_temp_dirs", []).append(folder)
        return folder.name

    def save_and_load(self, model):
        path = os.path.join(self.get_temp_dir(), "model.keras")
        model.save(path)
        return keras.saving.load_model(path)

    def assert_allclose(self, actual, expected, atol=1e-5, rtol=1e-5):
        np.testing.assert_allclose(
            to_numpy(actual), to_numpy(expected), atol=atol, rtol=rtol
        )

    def run_layer_test(
        self,
        make_layer,
        input_data,
        expected_output_shape,
        expected_num_params,
        expected_dtype="float32",
    ):
        """Symbolic and eager shapes, parameters, config, one fit step and a
        .keras round trip."""
        batch_shape = input_data.shape
        layer = make_layer()
        symbolic = layer(
            keras.Input(
                batch_shape[1:], dtype=input_data.dtype, batch_size=None
            )
        )
        assert tuple(symbolic.shape) == (None,) + tuple(expected_output_shape)
        assert keras.backend.standardize_dtype(symbolic.dtype) == expected_dtype
        assert layer.count_params() == expected_num_params

        eager_layer = make_layer()
        eager = eager_layer(input_data)
        assert tuple(eager.shape) == (batch_shape[0],) + tuple(
            expected_output_shape
        )
        assert keras.backend.standardize_dtype(eager.dtype) == expected_dtype
        assert np.all(np.isfinite(to_numpy(eager)))
        assert tuple(eager_layer.compute_output_shape(batch_shape)) == tuple(
            eager.shape
        )

        config = eager_layer.get_config()
        rebuilt = type(eager_layer).from_config(config)
        assert rebuilt.get_config() == config

        inputs = keras.Input(batch_shape[1:], dtype=input_data.dtype)
        model = keras.Model(inputs, _RealFeatures()(make_layer()(inputs)))
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        target = np.zeros(
            (batch_shape[0],) + tuple(model.output_shape[1:]), "float32"
        )
        before = [to_numpy(w).copy() for w in model.trainable_weights]
        history = model.fit(
            input_data, target, epochs=1, batch_size=batch_shape[0], verbose=0
        )
        assert np.isfinite(history.history["loss"][0])
        if before:
            after = [to_numpy(w) for w in model.trainable_weights]
            assert any(not np.array_equal(b, a) for b, a in zip(before, after))

        reloaded = self.save_and_load(model)
        np.testing.assert_array_equal(
            model.predict(input_data, verbose=0),
            reloaded.predict(input_data, verbose=0),
        )

    def run_model_test(
        self, make_model, x, y, expected_output_shape, expected_num_params
    ):
        """Compiled defaults, one fit step, parameters, config and a .keras
        round trip."""
        model = make_model()
        assert model.compiled
        history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
        assert np.isfinite(history.history["loss"][0])
        predictions = model.predict(x, verbose=0)
        assert predictions.shape == (len(x),) + tuple(expected_output_shape)
        assert model.count_params() == expected_num_params
        symbolic = model.compute_output_spec(
            keras.KerasTensor((None,) + x.shape[1:], x.dtype)
        )
        assert tuple(symbolic.shape) == (None,) + tuple(expected_output_shape)
        rebuilt = type(model).from_config(model.get_config())
        assert rebuilt.get_config() == model.get_config()
        reloaded = self.save_and_load(model)
        np.testing.assert_array_equal(
            predictions, reloaded.predict(x, verbose=0)
        )
        reloaded.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
        return model

    def run_class_serialization_test(self, instance, custom_objects=None):
        """`get_config`/`from_config` and `serialize_keras_object`/
        `deserialize_keras_object` (through JSON) both give back the same
        config and the same attribute names (`dir`), as Keras's TestCase
        checks. Pass an instance whose attributes do not depend on `build`
        (an unbuilt layer). Returns the deserialized instance.
        """
        config_json = _to_json(instance.get_config())
        names = _public_dir(instance)
        with keras.saving.custom_object_scope(custom_objects or {}):
            revived = type(instance).from_config(instance.get_config())
        assert _to_json(revived.get_config()) == config_json
        assert _public_dir(revived) == names

        serialized = _to_json(keras.saving.serialize_keras_object(instance))
        with keras.saving.custom_object_scope(custom_objects or {}):
            revived = keras.saving.deserialize_keras_object(
                _from_json(serialized)
            )
        assert type(revived) is type(instance)
        assert _to_json(revived.get_config()) == config_json
        assert _public_dir(revived) == names
        return revived

    def run_mixed_precision_test(
        self, make, input_data, policy, expected_dtype=None, tolerance=None
    ):
        """`make(dtype=policy)` under a mixed-precision policy, as Keras's
        `run_layer_test` checks it, plus values.

        Eager and symbolic outputs come in the policy's compute dtype (or
        `expected_dtype`, e.g. for complex outputs) and are finite; every
        float variable stays float32. With `tolerance`, the outputs match
        those of `make(dtype="float32")` holding the same weights to
        `rtol=tolerance` and `atol=tolerance * max|reference|`.
        Returns the outputs as numpy (complex128 or float32).
        """
        policy = keras.dtype_policies.get(policy)
        expected_dtype = expected_dtype or policy.compute_dtype
        instance = make(dtype=policy.name)
        outputs = instance(input_data)
        dtype = keras.backend.standardize_dtype(outputs.dtype)
        assert dtype == expected_dtype, (
            f"{policy.name}: eager output is {dtype}, not {expected_dtype}"
        )
        symbolic = instance(
            keras.Input(input_data.shape[1:], dtype=input_data.dtype)
        )
        dtype = keras.backend.standardize_dtype(symbolic.dtype)
        assert dtype == expected_dtype, (
            f"{policy.name}: symbolic output is {dtype}, not {expected_dtype}"
        )
        wide = "complex128" if "complex" in expected_dtype else "float32"
        outputs = to_numpy(outputs).astype(wide)
        assert np.all(np.isfinite(outputs)), f"{policy.name}: not finite"
        for weight in instance.weights:
            dtype = keras.backend.standardize_dtype(weight.dtype)
            if "float" in dtype:
                assert dtype == "float32", f"{weight.path} is {dtype}"
        if tolerance is not None:
            reference = make(dtype="float32")
            reference(input_data)
            reference.set_weights(instance.get_weights())
            expected = to_numpy(reference(input_data))
            np.testing.assert_allclose(
                outputs,
                expected,
                rtol=tolerance,
                atol=tolerance * np.abs(expected).max(),
            )
        return outputs


def run_tutorial(script, *args, timeout=600):
    """Runs `tutorials/<script> --fast *args` from the repository root and
    returns its stdout; fails the test with the end of its stderr if it
    exits non-zero."""
    result = subprocess.run(
        [sys.executable, f"tutorials/{script}", "--fast", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@contextlib.contextmanager
def policy_scope(policy):
    """The global dtype policy set to `policy` inside the block."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def load_script(path):
    """The script at `path` (relative to the repository root) as a module:
    benchmarks/ and tutorials/ are no packages."""
    path = ROOT / path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_benchmark(name):
    """The script benchmarks/NAME.py as a module."""
    return load_script(f"benchmarks/{name}.py")


class StopAfterEpoch(keras.callbacks.Callback):
    """Simulates a Ctrl-C at the end of epoch `epoch` (1-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise KeyboardInterrupt


class EpochRecorder(keras.callbacks.Callback):
    """Records the (0-based) epochs that begin, in `seen`."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)
