"""Exported files written whole, with their class names inside them.

The class names travel in the model itself, so that a model and its labels
can never be separated or mixed up: in a `.tflite` file as the flatbuffer
metadata entry `class_names` and in an `.onnx` file as the metadata property
`class_names` (a JSON list of strings in both), in a SavedModel folder as
`labels.txt` (one name per line).

Writes are atomic and leave nothing behind if the process dies, `kill -9`
included: a file is written to an unnamed temporary inode of the target's
folder (Linux `O_TMPFILE`; elsewhere a hidden temporary file) and linked into
place once complete; a SavedModel folder is filled in the system's temporary
folder and moved into place at the end.
"""

import errno
import functools
import glob
import importlib.util
import json
import os
import pathlib
import shutil
import tempfile

CLASS_NAMES_KEY = "class_names"
PIXEL_RANGE_KEY = "pixel_range"
# The margin of free space an export needs beyond its weights (graph,
# converter metadata).
SPACE_MARGIN_BYTES = 2**20
_PID_PREFIX = "keras-pmm-"

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def read_labels(path):
    """The class names exported with the model at `path`, or None.

    Args:
        path: a `.tflite` or `.onnx` file (names in its metadata), or a
            SavedModel folder (names in `labels.txt`).

    Returns:
        list of str, or None for a model exported without class names.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        labels = path / "labels.txt"
        if not labels.is_file():
            return None
        return labels.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".tflite":
        return tflite_class_names(path.read_bytes())
    if path.suffix == ".onnx":
        return _onnx_class_names(path)
    return None


def tflite_class_names(content):
    """The `class_names` metadata of a `.tflite` file's bytes, or None.

    Reads the flatbuffer with LiteRT's schema only (no TensorFlow).
    """
    return tflite_metadata(content, CLASS_NAMES_KEY)


def tflite_metadata(content, key):
    """The JSON value of metadata entry `key` of a `.tflite` file's bytes,
    or None (LiteRT's schema only, no TensorFlow)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytearray(content), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if (entry.Name() or b"").decode() == key:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(data).decode("utf-8"))
    return None


def tflite_with_pixel_range(content, high):
    """`content` with metadata `pixel_range` = [0, high]: the raw pixel
    range of an image model's input, which `TFLiteModel` checks."""
    return _tflite_with_metadata(
        content, PIXEL_RANGE_KEY, json.dumps([0.0, float(high)]).encode()
    )


def _onnx_class_names(path):
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == CLASS_NAMES_KEY:
            return json.loads(prop.value)
    return None


def with_class_names(content, suffix, class_names):
    """`content` (a `.tflite` or `.onnx` file's bytes) with `class_names`
    stored in its metadata (replacing any there)."""
    if class_names is None:
        return content
    value = json.dumps([str(n) for n in class_names])
    if suffix == ".onnx":
        import onnx

        model = onnx.load_from_string(content)
        for prop in list(model.metadata_props):
            if prop.key == CLASS_NAMES_KEY:
                model.metadata_props.remove(prop)
        model.metadata_props.add(key=CLASS_NAMES_KEY, value=value)
        return model.SerializeToString()
    return _tflite_with_metadata(content, CLASS_NAMES_KEY, value.encode())


def _tflite_with_metadata(content, name, data):
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    model.metadata = [
        entry
        for entry in model.metadata or []
        if entry.name not in (name, name.encode())
    ]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(data, np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    aligned = _aligned_buffer_class()
    model.buffers = [aligned(b) for b in model.buffers]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


@functools.cache
def _aligned_buffer_class():
    from ai_edge_litert import schema_py_generated as schema

    class AlignedBuffer(schema.BufferT):
        """A `BufferT` packed with its data 16-byte aligned, as the TFLite
        schema asks (`force_align: 16`, which the Python packer ignores)."""

        def __init__(self, buffer):
            super().__init__()
            self.data = buffer.data
            self.offset = buffer.offset
            self.size = buffer.size

        def Pack(self, builder):  # noqa: N802 - the flatbuffers name
            data = None
            if self.data is not None:
                payload = bytes(bytearray(self.data))
                builder.StartVector(1, len(payload), 16)
                builder.head -= len(payload)
                builder.Bytes[builder.head : builder.head + len(payload)] = (
                    payload
                )
                builder.vectorNumElems = len(payload)
                data = builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    return AlignedBuffer


def source_bytes(model):
    """About how many bytes of weights `model` holds: the size on disk of a
    `.keras` file, preset folder or preset name, or 4 bytes a parameter of a
    Keras model; 0 when it cannot be told cheaply."""
    if isinstance(model, (str, os.PathLike)):
        path = pathlib.Path(model).expanduser()
        if not path.exists():
            spec = importlib.util.find_spec("keras_pmm.zoo")
            origin = getattr(spec, "origin", None)
            if origin is None:
                return 0
            path = pathlib.Path(origin).parent / "presets" / str(model)
        if path.is_file():
            return path.stat().st_size
        if path.is_dir():
            return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        return 0
    try:
        return 4 * int(model.count_params())
    except Exception:  # an unbuilt model, or not a Keras model
        return 0


def check_output(path, overwrite, suffix=None, needed_bytes=0):
    """The output path, checked before anything is loaded or converted.

    Checks the suffix, that an existing output is replaced only when asked
    (and is of the same kind: file or folder), that the folder exists and
    can be written (by creating and removing a file there) and that it has
    `needed_bytes` plus a margin free. Removes what an export killed in this
    folder left (hidden temporary files named after a dead process).

    Args:
        path: the output file (`suffix` given) or SavedModel folder.
        overwrite: whether an existing output may be replaced.
        suffix: the file suffix the format needs, or None for a folder.
        needed_bytes: the model's size (`source_bytes`).

    Returns:
        `pathlib.Path` of the output.

    Raises:
        ValueError: a wrong suffix, or a file where a folder goes (or the
            reverse).
        FileExistsError: `path` exists and `overwrite` is False.
        FileNotFoundError: the folder does not exist.
        PermissionError: the folder cannot be written.
        OSError: not enough free space.
    """
    path = pathlib.Path(path).expanduser()
    if suffix is not None and path.suffix != suffix:
        raise ValueError(
            f"The output of this format must end in {suffix!r}. Received: "
            f"path={str(path)!r}"
        )
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} exists; pass overwrite=True (or --force) to replace it."
        )
    if path.exists() and path.is_dir() != (suffix is None):
        kind = "a folder" if path.is_dir() else "a file"
        raise ValueError(f"{path} is {kind}; it cannot be replaced by this.")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"No such folder: {folder}")
    _remove_stale(folder, path.name)
    try:
        handle, probe = tempfile.mkstemp(
            prefix=f".{path.name}.{_PID_PREFIX}{os.getpid()}-",
            suffix=".tmp",
            dir=folder,
        )
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise _one_line(error, path) from None
    free = shutil.disk_usage(folder).free
    needed = needed_bytes + SPACE_MARGIN_BYTES
    if free < needed:
        raise OSError(
            errno.ENOSPC,
            f"Not enough free space for {path}: {free / 2**20:.1f} MB free "
            f"in {folder}, the export needs about {needed / 2**20:.1f} MB",
        )
    return path


def _one_line(error, path):
    """An `OSError` from writing `path` as a one-line error naming `path`
    (and, for a denied permission or a full disk, what to do)."""
    if error.errno in _DENIED:
        reason = (
            "read-only file system"
            if error.errno == errno.EROFS
            else "permission denied"
        )
        return PermissionError(
            error.errno,
            f"Cannot write {path} ({reason}); choose a folder you can write",
        )
    if error.errno in _FULL:
        return OSError(
            error.errno,
            f"No space left on the device while writing {path}; free some "
            "space or choose another folder (nothing was written)",
        )
    return OSError(error.errno, f"Cannot write {path}: {error.strerror}")


def _remove_stale(folder, name):
    """Removes `.NAME.keras-pmm-PID-*.tmp` entries of processes that died."""
    prefix = f".{name}.{_PID_PREFIX}"
    for entry in folder.glob(f"{glob.escape(prefix)}*.tmp"):
        try:
            pid = int(entry.name[len(prefix) :].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except (ValueError, OSError):  # not ours, or alive elsewhere
            continue


def _temporary_name(path):
    return path.parent / (
        f".{path.name}.{_PID_PREFIX}{os.getpid()}-{os.urandom(4).hex()}.tmp"
    )


def _write_all(handle, content):
    view = memoryview(content)
    while view:
        view = view[os.write(handle, view) :]
    os.fsync(handle)


def _link_unnamed(handle, path):
    """Gives the `O_TMPFILE` inode open as `handle` the name `path`.

    `linkat` with `AT_SYMLINK_FOLLOW` on `/proc/self/fd/N` (what `os.link`
    calls when given a folder descriptor; plain `link` would link the magic
    link itself).
    """
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(
            f"/proc/self/fd/{handle}",
            path.name,
            dst_dir_fd=folder,
            follow_symlinks=True,
        )
    finally:
        os.close(folder)


def _write_bytes_atomic(path, content):
    """Writes `content` to `path` whole or not at all.

    On Linux the bytes go to an unnamed inode of the folder (`O_TMPFILE`),
    which vanishes if the process dies, and are linked in once complete
    (under a hidden name renamed over `path`, for an instant).
    """
    umask = os.umask(0)
    os.umask(umask)
    handle = None
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            handle = os.open(
                path.parent, os.O_TMPFILE | os.O_WRONLY, 0o666 & ~umask
            )
        except OSError as error:
            if error.errno in _DENIED + _FULL:
                raise _one_line(error, path) from None
            handle = None  # a file system without O_TMPFILE
    temporary = _temporary_name(path)
    try:
        if handle is not None:
            _write_all(handle, content)
            _link_unnamed(handle, temporary)
        else:
            handle = os.open(
                temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666
            )
            _write_all(handle, content)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _one_line(error, path) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        if handle is not None:
            os.close(handle)


def write_file(path, content, class_names=None):
    """Writes a `.tflite` or `.onnx` file whole, its class names inside.

    Args:
        path: the file; an existing one is replaced (the caller checked
            `overwrite`).
        content: the model's bytes.
        class_names: list of str stored in the file's metadata, or None.
    """
    path = pathlib.Path(path)
    _write_bytes_atomic(
        path, with_class_names(content, path.suffix, class_names)
    )


def write_folder(path, fill, class_names=None):
    """Writes a SavedModel folder whole: `fill(folder)` fills a folder in the
    system's temporary folder, which then moves to `path` (copied beside it
    first, under a hidden name, when `path` is on another file system).

    An existing `path` (the caller checked `overwrite`) is moved aside and
    deleted only once the new folder is in place.
    """
    path = pathlib.Path(path)
    staging = pathlib.Path(tempfile.mkdtemp(prefix="keras-pmm-export-"))
    try:
        target = staging / "model"
        fill(target)
        if class_names is not None:
            (target / "labels.txt").write_text(
                "\n".join(class_names) + "\n", encoding="utf-8"
            )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(target, 0o777 & ~umask)
        try:
            _move_folder(target, path, staging)
        except OSError as error:
            raise _one_line(error, path) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_folder(source, path, staging):
    if os.stat(staging).st_dev != os.stat(path.parent).st_dev:
        copy = _temporary_name(path)
        try:
            shutil.copytree(source, copy)
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise
        source = copy
        aside = _temporary_name(path)
    else:
        aside = staging / "old"
    moved = path.exists()
    try:
        if moved:
            os.replace(path, aside)
        try:
            os.replace(source, path)
        except BaseException:
            if moved:
                os.replace(aside, path)  # the old folder back in place
            raise
    finally:
        for leftover in (aside, source):
            if leftover.exists() and leftover != path:
                shutil.rmtree(leftover, ignore_errors=True)
