"""Fuzz of export_model's option checks and of TFLiteModel on drawn inputs
(see strategies.py). The checks run before TensorFlow loads, on every
backend; TFLiteModel reads Keras-written fixture files (no export here:
converting is slow, and tests/export covers it)."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keras_pmm import export
from tests.export import keras_fixtures
from tests.fuzz import strategies as fz

OPTION_NAMES = (
    "format",
    "input_dtype",
    "quantization",
    "representative_data",
    "Quantisation",
    "sweeps",
    "suffix",
    ".tflite",
    ".onnx",
)


class _Reached(Exception):
    """The options passed every check."""


@fz.budget(200)
@given(
    format=st.sampled_from(("tflite", "onnx", "saved_model", "bogus", None)),
    quantization=st.sampled_from(
        (None, "float16", "dynamic_int8", "int8", "bogus", "")
    ),
    input_dtype=st.sampled_from(("float32", "uint8", "float16", None)),
    data=st.one_of(st.none(), fz.arrays(), fz.junk()),
)
def test_export_model_checks_options_first(
    tmp_path_factory, format, quantization, input_dtype, data
):
    """Every combination the checks refuse is refused before the output
    path and the model are touched; the rest reach the path check (stubbed
    here: what follows converts a model, which tests/export covers)."""
    folder = tmp_path_factory.mktemp("export")
    path = folder / "m.tflite"
    reached = mock.patch.object(
        export._files, "check_output", side_effect=_Reached
    )
    with reached:
        _export(path, format, quantization, data, input_dtype)


def _export(path, format, quantization, data, input_dtype):
    try:
        export.export_model(
            object(),
            path,
            format,
            quantization=quantization,
            representative_data=data,
            input_dtype=input_dtype,
        )
    except _Reached:
        assert format in export.FORMATS and input_dtype in ("float32", "uint8")
        return
    except (ValueError, TypeError) as error:
        message = str(error)
        assert any(name in message for name in OPTION_NAMES + ("model",)), (
            message
        )
    except Exception as error:  # noqa: BLE001 - the point of the fuzz
        raise AssertionError(f"{type(error).__name__}: {error}") from error
    else:
        raise AssertionError("export_model returned without exporting")
    assert not path.exists()


@pytest.fixture(scope="module")
def softmax_file():
    pytest.importorskip("ai_edge_litert", reason="needs ai-edge-litert")
    from keras_pmm.export.litert import TFLiteModel

    return TFLiteModel(keras_fixtures.SOFTMAX)


@fz.budget(150)
@given(x=st.one_of(fz.arrays(), fz.junk()))
def test_tflite_model_predict(softmax_file, x):
    """Any input: refused naming the file or the shape, or the file's
    probabilities for (batch, 4) finite inputs."""
    try:
        out = softmax_file.predict(x)
    except (ValueError, TypeError) as error:
        assert "keras_softmax" in str(error) or "shape" in str(error), error
        return
    x = np.asarray(x)
    assert x.ndim == 2 and x.shape[1:] == (4,) and len(x)
    assert out.shape == (len(x), 3)
    if np.all(np.isfinite(x.astype("float64"))) and np.abs(x).max() < 1e30:
        np.testing.assert_allclose(
            out,
            keras_fixtures.softmax_reference(x.astype("float32")),
            atol=1e-5,
        )
