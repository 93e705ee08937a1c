"""Fuzz of the `keras-pmm` argument parser on drawn argv: argparse's usage
error (SystemExit 2) or parsed arguments, never a traceback (see
strategies.py). Only parsing runs: no command is executed."""

import contextlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keras_pmm import cli
from tests.fuzz import strategies as fz

WORDS = (
    "zoo",
    "list",
    "evaluate",
    "predict",
    "train",
    "export",
    "demo",
    "pmm_mnist",
    "--format",
    "tflite",
    "onnx",
    "saved_model",
    "--out",
    "x.tflite",
    "--quantize",
    "int8",
    "float16",
    "bogus",
    "--input-dtype",
    "uint8",
    "--epochs",
    "0",
    "-1",
    "3",
    "1e3",
    "--seed",
    "--help",
    "-h",
    "--backend",
    "jax",
    "--overwrite",
    "--force",
    "--max-train-examples",
    "",
    "--",
    "nan",
    "\x00",
    "é",
)


@fz.budget(300)
@given(
    argv=st.lists(
        st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=7
    )
)
def test_parser_on_any_argv(argv):
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        try:
            args = cli._parser().parse_args(argv)
        except SystemExit as exit:
            if exit.code == 0:  # --help
                assert "usage:" in stdout.getvalue()
            else:
                assert exit.code == 2, exit.code
                assert "usage:" in stderr.getvalue()
                assert "error:" in stderr.getvalue()
            return
    assert args.command in ("zoo", "predict", "train", "export", "demo")


@pytest.mark.parametrize("type_", [cli.positive_int, cli.non_negative_int])
@fz.budget(100)
@given(text=st.one_of(st.text(max_size=8), st.integers().map(str)))
def test_integer_argument_types(type_, text):
    """A clean argparse error (ArgumentTypeError / ValueError), never
    another exception."""
    import argparse

    try:
        value = type_(text)
    except (argparse.ArgumentTypeError, ValueError):
        return
    assert isinstance(value, int) and value >= (type_ is cli.positive_int)
