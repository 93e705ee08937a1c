"""The CLI's fast paths and error policy: help, argument checks, user errors.

`--help` runs in a subprocess, as users run it, and must not import Keras or
a backend (what makes it answer at once). The other checks call `main` in
this process; argument errors and user errors stop before any model loads.
"""

import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_pmm import _cli_commands
from keras_pmm import cli

SCRIPT = shutil.which("keras-pmm") or os.path.join(
    os.path.dirname(sys.executable), "keras-pmm"
)
HEAVY = {"keras", "tensorflow", "jax", "torch"}
COMMANDS = (
    [],
    ["zoo"],
    ["zoo", "list"],
    ["zoo", "evaluate"],
    ["predict"],
    ["train"],
    ["demo"],
)


def _imported_modules(importtime_log):
    """Module names from `python -X importtime` lines on stderr."""
    return {
        line.split("|")[-1].strip()
        for line in importtime_log.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_imports_no_keras_nor_backend(command):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", SCRIPT, *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: keras-pmm" in result.stdout
    modules = _imported_modules(result.stderr)
    assert "keras_pmm.cli" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, heavy[:10]


def test_card_and_readme_are_not_commands(capsys):
    for command in ("card", "readme"):
        with pytest.raises(SystemExit) as exit:
            cli.main(["zoo", command])
        assert exit.value.code == 2
        assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1"])
@pytest.mark.parametrize(
    "arguments",
    [
        ["predict", "pmm_mnist", "digit.png", "--top-k"],
        ["train", "pmm_mnist", "--epochs"],
        ["train", "pmm_mnist", "--devices"],
        ["train", "pmm_mnist", "--max-train-examples"],
    ],
    ids=lambda arguments: arguments[-1],
)
def test_counts_reject_zero_and_negatives_at_parse_time(
    arguments, value, capsys
):
    with pytest.raises(SystemExit) as exit:
        cli.main([*arguments, value])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert f"error: argument {arguments[-1]}: must be >= 1, not {value}" in (
        error
    )


def test_seed_accepts_zero_and_rejects_negatives(capsys):
    parser = cli._parser()
    assert parser.parse_args(["train", "pmm_mnist", "--seed", "0"]).seed == 0
    with pytest.raises(SystemExit) as exit:
        parser.parse_args(["train", "pmm_mnist", "--seed", "-1"])
    assert exit.value.code == 2
    assert "argument --seed: must be >= 0, not -1" in capsys.readouterr().err


@pytest.fixture
def tf_log_level(monkeypatch):
    """Restores TF_CPP_MIN_LOG_LEVEL, which `main` may set, after the test."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "restored after the test")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    return monkeypatch


def _record_log_level(monkeypatch):
    seen = []

    def zoo_list(args):
        seen.append(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))

    monkeypatch.setattr(_cli_commands, "zoo_list", zoo_list)
    return seen


def test_tensorflow_logs_quiet_unless_the_user_chose_a_level(tf_log_level):
    seen = _record_log_level(tf_log_level)
    assert cli.main(["zoo", "list"]) == 0
    tf_log_level.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert cli.main(["zoo", "list"]) == 0
    assert seen == [cli.QUIET_TF_LOG_LEVEL, "0"]


def _one_line_error(capsys):
    error = capsys.readouterr().err
    assert error.startswith("keras-pmm: error: ")
    assert error.count("\n") == 1, error
    return error


@pytest.mark.parametrize(
    "arguments",
    [
        ["zoo", "evaluate", "pmm_cifar"],
        ["predict", "pmm_cifar", "digit.png"],
        ["train", "pmm_cifar"],
    ],
    ids=lambda arguments: arguments[0],
)
def test_unknown_preset_is_a_one_line_error(arguments, tf_log_level, capsys):
    assert cli.main(arguments) == 2
    assert "Unknown preset 'pmm_cifar'" in _one_line_error(capsys)


def test_missing_image_and_recipe_only_preset(tmp_path, tf_log_level, capsys):
    missing = tmp_path / "missing.png"
    assert cli.main(["predict", "pmm_mnist", str(missing)]) == 2
    assert f"No such file: {missing}" in _one_line_error(capsys)
    assert cli.main(["zoo", "evaluate", "pmm_emnist_balanced"]) == 2
    assert "ships without weights" in _one_line_error(capsys)


def test_missing_data_folder(tmp_path, tf_log_level, capsys):
    missing = tmp_path / "no_data"
    for arguments in (
        ["zoo", "evaluate", "pmm_mnist"],
        ["train", "pmm_mnist"],
        ["demo"],
    ):
        assert cli.main([*arguments, "--data-dir", str(missing)]) == 2
        assert f"--data-dir {missing} is not a folder" in _one_line_error(
            capsys
        )
    assert cli.main(["train", "pmm_mnist", "--data-dir", str(tmp_path)]) == 2
    assert "IDX files in" in _one_line_error(capsys)


def test_finished_output_folder(tmp_path, data_dir, tf_log_level, capsys):
    (tmp_path / "metadata.json").write_text("{}")
    arguments = ["train", "pmm_mnist", "--data-dir", data_dir]
    assert cli.main([*arguments, "--output", str(tmp_path)]) == 2
    assert "already holds a finished run" in _one_line_error(capsys)


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="only the torch backend has no data-parallel engine",
)
def test_devices_the_backend_cannot_use(tf_log_level, capsys):
    assert cli.main(["train", "pmm_mnist", "--devices", "2"]) == 2
    assert "needs the jax or tensorflow backend" in _one_line_error(capsys)


@pytest.mark.parametrize(
    "bug",
    [
        ValueError("a bug"),
        KeyError("a bug"),
        FileNotFoundError("a bug"),
        RuntimeError("a bug"),
    ],
    ids=lambda bug: type(bug).__name__,
)
def test_internal_errors_keep_their_traceback(bug, tf_log_level):
    def zoo_list(args):
        raise bug

    tf_log_level.setattr(_cli_commands, "zoo_list", zoo_list)
    with pytest.raises(type(bug)) as raised:
        cli.main(["zoo", "list"])
    assert raised.value is bug


# Runs `main` with some top-level modules uninstallable, as in a lite
# install: `pip install keras-pmm ai-edge-litert` without Keras or a backend.
_WITHOUT_MODULES = """
import sys
blocked = set(sys.argv[1].split(","))


class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, Uninstalled())
from keras_pmm import cli

sys.exit(cli.main(sys.argv[2:]))
"""
NO_KERAS = "keras,tensorflow,jax,torch"


def _run_without(modules, *arguments, backend="tensorflow"):
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_MODULES, modules, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KERAS_BACKEND": backend},
    )


@pytest.mark.parametrize(
    "modules,arguments,message",
    [
        ("keras", ["zoo", "list"], "No module named 'keras'"),
        ("keras", ["predict", "pmm_mnist", "digit.png"], "named 'keras'"),
        (NO_KERAS, ["zoo", "list"], "TensorFlow is not installed"),
    ],
    ids=["zoo_list", "predict_preset", "no_backend"],
)
def test_without_keras_commands_say_what_to_install(
    modules, arguments, message
):
    result = _run_without(modules, *arguments)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"keras-pmm: error: keras-pmm {' '.join(arguments[:2])}"
        if arguments[0] == "zoo"
        else "keras-pmm: error: keras-pmm predict"
    )
    assert "needs Keras and a backend (" in result.stderr
    assert message in result.stderr
    assert "pip install 'keras-pmm[tensorflow]'" in result.stderr
    assert "predict runs exported .tflite files" in result.stderr


def test_without_keras_predict_runs_a_tflite_file(tmp_path):
    from tests.export import keras_fixtures

    np.save(tmp_path / "x.npy", np.ones((1, 4), "float32"))
    result = _run_without(
        NO_KERAS, "predict", keras_fixtures.SOFTMAX, tmp_path / "x.npy"
    )
    assert result.returncode == 0, result.stderr
    best = keras_fixtures.softmax_reference(np.ones((1, 4))).argmax()
    assert result.stdout.startswith(f"{tmp_path / 'x.npy'}: {best} (")


def test_without_litert_predict_says_what_to_install(tmp_path):
    from tests.export import keras_fixtures

    np.save(tmp_path / "x.npy", np.ones((1, 4), "float32"))
    result = _run_without(
        "ai_edge_litert", "predict", keras_fixtures.SOFTMAX, tmp_path / "x.npy"
    )
    assert result.returncode == 2
    assert result.stderr == (
        "keras-pmm: error: Running a .tflite file needs the LiteRT "
        "interpreter: pip install ai-edge-litert\n"
    )
