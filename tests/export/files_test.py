"""Exported files: written whole, labels inside, paths checked, kill-safe.

Fast: no TensorFlow. The model bytes are the Keras-exported `.tflite`
fixtures (`keras_fixtures`) and a one-node ONNX graph built with `onnx`.
"""

import errno
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_pmm import export
from keras_pmm.export import _files
from keras_pmm.export.litert import TFLiteModel
from tests.export import keras_fixtures

MNIST_NAMES = [str(d) for d in range(10)]
FASHION_NAMES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat"]


def _folder_entries(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


def test_class_names_travel_inside_the_file(tmp_path):
    # The example: an ONNX export beside an existing x.tflite used to
    # write x.labels.txt for both, relabelling the first model's classes.
    content = keras_fixtures.SOFTMAX.read_bytes()
    _files.write_file(tmp_path / "x.tflite", content, MNIST_NAMES[:3])
    _files.write_file(tmp_path / "x.onnx", _onnx_model(), FASHION_NAMES[:3])
    assert export.read_labels(tmp_path / "x.tflite") == MNIST_NAMES[:3]
    assert export.read_labels(tmp_path / "x.onnx") == FASHION_NAMES[:3]
    assert _folder_entries(tmp_path) == ["x.onnx", "x.tflite"]
    model = TFLiteModel(tmp_path / "x.tflite")
    assert model.class_names == MNIST_NAMES[:3]
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(
        model.predict(x), keras_fixtures.softmax_reference(x), atol=1e-6
    )
    # Names replace earlier ones; a file without any reads as None.
    again = (tmp_path / "x.tflite").read_bytes()
    _files.write_file(tmp_path / "y.tflite", again, ["a", "b", "c"])
    assert export.read_labels(tmp_path / "y.tflite") == ["a", "b", "c"]
    assert export.read_labels(keras_fixtures.SOFTMAX) is None


def _onnx_model():
    from onnx import TensorProto
    from onnx import helper

    inputs, outputs = (
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 3])
        for name in ("inputs", "outputs")
    )
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["inputs"], ["outputs"])],
        "softmax",
        [inputs],
        [outputs],
    )
    return helper.make_model(graph).SerializeToString()


def test_saved_model_folder_keeps_its_labels_inside(tmp_path):
    def fill(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"graph")

    _files.write_folder(tmp_path / "sm", fill, ["a", "b"])
    assert export.read_labels(tmp_path / "sm") == ["a", "b"]
    assert _folder_entries(tmp_path / "sm") == ["labels.txt", "saved_model.pb"]
    assert _folder_entries(tmp_path) == ["sm"]


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_failed_overwrite_keeps_the_old_model_and_labels(
    tmp_path, monkeypatch, kind
):
    content = keras_fixtures.SOFTMAX.read_bytes()
    path = tmp_path / ("x.tflite" if kind == "file" else "sm")

    def fill(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"old")

    def write(names):
        if kind == "file":
            _files.write_file(path, content, names)
        else:
            _files.write_folder(path, fill, names)

    write(MNIST_NAMES[:3])
    before = _folder_entries(tmp_path)
    real_replace = os.replace
    failed = []

    def full_disk(source, target):  # the new model's move into place fails
        if pathlib.Path(target) == path and not failed:
            failed.append(source)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left") as error:
        write(FASHION_NAMES[:3])
    assert "\n" not in str(error.value) and str(path) in str(error.value)
    assert export.read_labels(path) == MNIST_NAMES[:3]
    assert _folder_entries(tmp_path) == before


def test_check_output_refuses_before_anything_loads(tmp_path, monkeypatch):
    existing = tmp_path / "m.tflite"
    existing.write_bytes(b"old")
    with pytest.raises(ValueError, match=r"must end in '\.onnx'"):
        _files.check_output(tmp_path / "m.tflite", True, ".onnx")
    with pytest.raises(FileExistsError, match="--force"):
        _files.check_output(existing, False, ".tflite")
    with pytest.raises(FileNotFoundError, match="No such folder"):
        _files.check_output(tmp_path / "no" / "m.tflite", False, ".tflite")
    with pytest.raises(ValueError, match="is a file"):
        _files.check_output(existing, True, None)  # a SavedModel folder
    assert _files.check_output(existing, True, ".tflite") == existing

    monkeypatch.setattr(
        _files.shutil,
        "disk_usage",
        lambda folder: type("Usage", (), {"free": 10})(),
    )
    with pytest.raises(OSError, match="Not enough free space") as error:
        _files.check_output(tmp_path / "n.tflite", False, ".tflite", 10**6)
    assert "\n" not in str(error.value)


def test_check_output_says_when_a_folder_cannot_be_written(
    tmp_path, monkeypatch
):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_files.tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError, match="permission denied") as error:
        _files.check_output(tmp_path / "m.tflite", False, ".tflite")
    assert str(tmp_path / "m.tflite") in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root writes into a read-only folder; the monkeypatched test "
    "above covers the message",
)
def test_check_output_on_a_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(PermissionError, match="permission denied"):
        _files.check_output(folder / "m.tflite", False, ".tflite")


def test_leftovers_of_a_dead_export_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.tflite.keras-pmm-{dead.pid}-0a1b2c3d.tmp"
    stale.write_bytes(b"half")
    stale_folder = tmp_path / f".sm.keras-pmm-{dead.pid}-0a1b2c3d.tmp"
    stale_folder.mkdir()
    alive = tmp_path / f".m.tflite.keras-pmm-{os.getpid()}-0a1b2c3d.tmp"
    alive.write_bytes(b"in progress")
    _files.check_output(tmp_path / "m.tflite", False, ".tflite")
    _files.check_output(tmp_path / "sm", False, None)
    assert _folder_entries(tmp_path) == [alive.name]


# Runs a write in a child that stops (prints "ready", sleeps) at `where`:
# inside the SavedModel's fill, or once a file's bytes are written but not
# yet named; the test then kills it with SIGKILL.
_KILLED_WRITER = textwrap.dedent(
    """
    import os, pathlib, sys, time
    from keras_pmm.export import _files

    where, path = sys.argv[1], pathlib.Path(sys.argv[2])

    def stop():
        print("ready", flush=True)
        time.sleep(60)

    def fill(folder):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"x" * 100000)
        stop()

    if where == "fill":
        _files.write_folder(path, fill, ["a"])
    else:
        os.fsync = lambda handle: stop()
        _files.write_file(path, pathlib.Path(sys.argv[3]).read_bytes(), ["a"])
    """
)


@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize("where", ["fill", "bytes"])
def test_kill_during_a_write_leaves_nothing_at_the_target(
    tmp_path, where, existing
):
    target = tmp_path / ("sm" if where == "fill" else "m.tflite")
    if existing:
        if where == "fill":
            target.mkdir()
            (target / "saved_model.pb").write_bytes(b"old")
        else:
            target.write_bytes(b"old")
    before = _folder_entries(tmp_path)
    staging = tmp_path / "tmp"
    staging.mkdir()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _KILLED_WRITER,
            where,
            str(target),
            str(keras_fixtures.SOFTMAX),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(staging)},
    )
    try:
        assert child.stdout.readline() == "ready\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert _folder_entries(tmp_path) == sorted(before + ["tmp"])
    if existing:
        old = target / "saved_model.pb" if where == "fill" else target
        assert old.read_bytes() == b"old"
    # The SavedModel is filled in the system's temporary folder, not here.
    assert len(_folder_entries(staging)) == (1 if where == "fill" else 0)


def test_tflite_model_reads_any_output_name_and_refuses_empty_batches():
    model = TFLiteModel(keras_fixtures.LINEAR)
    assert model.output_names == ["output_0"]
    assert model.primary_output == "output_0"
    assert model.class_names is None
    x = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(
        model.predict(x), keras_fixtures.linear_reference(x), rtol=1e-6
    )
    assert list(model.predict_all(x)) == ["output_0"]
    with pytest.raises(ValueError, match="empty batch"):
        model.predict(np.zeros((0, 4), "float32"))


def test_tflite_model_names_a_file_that_is_not_a_model(tmp_path):
    bad = tmp_path / "notes.tflite"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="Cannot read .*notes.tflite"):
        TFLiteModel(bad)


def test_export_model_names_a_model_of_the_wrong_type(tmp_path):
    """Found by the fuzz: on JAX and PyTorch an object that is no model
    reached the export worker and failed there with an AttributeError."""
    from keras_pmm import export

    with pytest.raises(TypeError, match="must be a keras.Model.*object"):
        export.export_model(object(), tmp_path / "m.tflite", "tflite")
    assert not (tmp_path / "m.tflite").exists()
