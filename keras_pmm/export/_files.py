"""Atomic writes of exported files and the class names beside them."""

import os
import pathlib
import shutil
import tempfile


def labels_path(path):
    """Where the class names of an exported model live.

    `m.tflite` -> `m.labels.txt`, `m.onnx` -> `m.labels.txt`; a SavedModel
    folder keeps them inside, as `labels.txt`.
    """
    path = pathlib.Path(path)
    if path.suffix in (".tflite", ".onnx"):
        return path.with_suffix(".labels.txt")
    return path / "labels.txt"


def read_labels(path):
    """The class names exported with the model at `path`, or None."""
    labels = labels_path(path)
    if not labels.is_file():
        return None
    return labels.read_text(encoding="utf-8").splitlines()


def check_output(path, overwrite, suffix=None):
    """The output path, checked: refuses to replace a file unless asked."""
    path = pathlib.Path(path)
    if suffix is not None and path.suffix != suffix:
        raise ValueError(
            f"The output of this format must end in {suffix!r}. Received: "
            f"path={str(path)!r}"
        )
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True (or --force) to replace it."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"No such folder: {path.parent}")
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_text_atomic(path, text):
    _write_bytes_atomic(path, text.encode("utf-8"))


def _write_bytes_atomic(path, content):
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0o600
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def write_file(path, content, class_names=None):
    """Writes `content` to `path` (temporary file, then rename), and labels."""
    path = pathlib.Path(path)
    if class_names is not None:
        _write_text_atomic(labels_path(path), "\n".join(class_names) + "\n")
    _write_bytes_atomic(path, content)


def write_folder(path, fill, class_names=None):
    """Fills a temporary folder with `fill(folder)`, then renames it to `path`.

    An existing `path` (the caller has checked `overwrite`) is moved aside
    first and deleted only once the new folder is in place.
    """
    path = pathlib.Path(path)
    temporary = pathlib.Path(
        tempfile.mkdtemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    )
    try:
        target = temporary / "model"
        fill(target)
        if class_names is not None:
            (target / "labels.txt").write_text(
                "\n".join(class_names) + "\n", encoding="utf-8"
            )
        os.chmod(target, 0o777 & ~_umask())  # mkdtemp makes it 0o700
        old = None
        if path.exists():
            old = temporary / "old"
            os.replace(path, old)
        os.replace(target, path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
