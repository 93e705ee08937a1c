"""A `keras-pmm train` output folder that survives faults.

- `locked(folder)`: one run at a time writes a folder. A second run into it
  is refused, naming the first one's process id; the lock of a run that
  died (`kill -9`, a power cut) is taken over.
- `write_atomically(path, write)`: a file is written under a temporary
  name, flushed to disk and renamed, so a crash leaves the old file or the
  new one, never a piece of one.
- `Checkpoints`: the Keras callback that keeps a run's resume state, one
  checkpoint per epoch, the last two kept; a resumed run falls back to the
  older when the newer cannot be read, and refuses to continue a run that
  was started with other settings.
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import sys
import time

import keras
import numpy as np

from keras_pmm.datasets.idx import sha256_of

try:
    import fcntl
except ImportError:  # Windows: an exclusive lock file instead of flock
    fcntl = None

LOCK_FILE = ".keras-pmm-train.lock"
KEEP = 2  # checkpoints kept: the newest and its backup


class RunFolderError(FileExistsError):
    """The output folder holds what this run must not overwrite or continue:
    a finished run, a run in progress, an interrupted run with other
    settings, or checkpoints that cannot be read."""


def _fsync_folder(folder):
    """Flushes a folder's entries (a rename) to disk where the OS can."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows opens no folders; NTFS journals renames
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_atomically(path, write):
    """Writes a file whole or not at all: `write(temporary)`, fsync, rename.

    The temporary file sits in the same folder (a rename within one file
    system is atomic) and keeps `path`'s name as its ending, so writers that
    check suffixes (Keras's `.weights.h5`) accept it.

    Args:
        path: the file to (re)place.
        write: a function writing the new content to the path it is given.
    """
    path = pathlib.Path(path)
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # left only by a failed write
    _fsync_folder(path.parent)


def write_text_atomically(path, text):
    """`write_atomically` for a text file."""
    write_atomically(path, lambda temporary: temporary.write_text(text))


def _holder(path):
    """The lock file's record of the run holding it (may be empty)."""
    try:
        return json.loads(pathlib.Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _busy(folder, path):
    holder = _holder(path)
    who = f"pid {holder.get('pid', 'unknown')}"
    if holder.get("started"):
        who += f", started {holder['started']}"
    return RunFolderError(
        f"{folder} is being written by another keras-pmm train run ({who}). "
        "Two runs into one folder would overwrite each other's checkpoints "
        "and figures: wait for that run to finish, or choose another output."
    )


def _claim(handle):
    handle.seek(0)
    handle.truncate()
    handle.write(
        json.dumps(
            {
                "pid": os.getpid(),
                "started": datetime.datetime.now().isoformat(
                    timespec="seconds"
                ),
            }
        )
    )
    handle.flush()


def _acquire(folder, path):
    """The open, locked lock file of `folder`."""
    if fcntl is None:
        try:
            handle = open(path, "x")
        except FileExistsError:
            raise RunFolderError(
                f"{_busy(folder, path)} If no such run is still going, "
                f"delete {path}."
            ) from None
        _claim(handle)
        return handle
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise _busy(folder, path) from None
        # The run that held the lock may have removed its file between our
        # open and our lock: then ours is a lock on a file nobody sees.
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            _claim(handle)  # a dead run's file is simply taken over
            return handle
        handle.close()


@contextlib.contextmanager
def locked(folder):
    """Holds `folder`'s lock (created with the folder) while the body runs.

    The lock is an `fcntl.flock` on `folder/.keras-pmm-train.lock`, which
    records the holder's pid. The OS drops the lock of a process that dies,
    so a killed run's lock is taken over by the next one. Where `fcntl` is
    missing (Windows), the lock file itself is the lock and a stale one must
    be deleted by hand (the error says so).

    Raises:
        RunFolderError: another run holds the lock; the message names its
            pid.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    handle = _acquire(folder, path)
    try:
        yield
    finally:
        if fcntl is not None:
            path.unlink(missing_ok=True)  # still locked: no one holds it now
            handle.close()
        else:
            handle.close()
            path.unlink(missing_ok=True)


def data_fingerprint(*arrays):
    """A short sha256 of arrays' bytes, shapes and dtypes."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()[:16]


def _checkpoint_json(folder, epoch):
    return pathlib.Path(folder) / f"epoch_{epoch:04d}.json"


def checkpoint_epochs(folder):
    """The epochs with a checkpoint in `folder`, newest first (by name)."""
    epochs = []
    for path in pathlib.Path(folder).glob("epoch_*.json"):
        number = path.stem.removeprefix("epoch_")
        if number.isdigit():
            epochs.append(int(number))
    return sorted(epochs, reverse=True)


def run_settings(
    preset, x_train, y_train, max_train_examples=None, devices=None
):
    """What an interrupted run and its resumption must share: the preset
    and its recipe (epochs, seed, ...), the backend, the device count, the
    example cap and the training data's size and fingerprint."""
    return {
        "preset": preset.name,
        **dataclasses.asdict(preset.recipe),
        "backend": keras.backend.backend(),
        "devices": devices or 1,
        "max_train_examples": max_train_examples,
        "train_examples": int(len(x_train)),
        "train_data_sha256": data_fingerprint(x_train, y_train),
    }


def _describe(settings):
    return ", ".join(f"{key} {value!r}" for key, value in settings.items())


def check_settings(folder, recorded, settings, command=None):
    """Raises `RunFolderError` when the run in `folder` had other settings.

    Args:
        folder: the folder named in the message.
        recorded: the settings the run in `folder` was started with.
        settings: the settings asked for now.
        command: the command that started the run in `folder`, if known.
    """
    changed = [
        f"{key} {recorded.get(key)!r} (now {settings.get(key)!r})"
        for key in {**recorded, **settings}
        if recorded.get(key) != settings.get(key)
    ]
    if not changed:
        return
    started = f" It was started with `{command}`." if command else ""
    raise RunFolderError(
        f"{folder} holds an interrupted run with other settings: "
        f"{'; '.join(changed)}. The interrupted run's settings: "
        f"{_describe(recorded)}.{started} Run with the same settings to "
        "resume it, pass overwrite=True (--overwrite) to start over, or "
        "choose another output."
    )


class Checkpoints(keras.callbacks.Callback):
    """Keeps a run's resume state in a folder, one checkpoint per epoch.

    After epoch E it writes `epoch_E.weights.h5` (the model and its
    optimizer's state) and then `epoch_E.json`: the epoch, the weights'
    sha256, the run's settings and its record (`record`). Each file is
    written atomically (`write_atomically`), the JSON last, so a checkpoint
    is there whole or not at all. The last `KEEP` checkpoints stay; older
    ones are removed. With `monitor` the record also tracks the best value
    of that log entry (higher is better), its epoch and that epoch's weights
    (`best_E.weights.h5`, kept while a checkpoint refers to it).

    Call `restore` before `fit` and pass its epoch as `initial_epoch`.

    Args:
        folder: the run's checkpoint folder (it must exist).
        settings: a JSON-serialisable dict of what must not change between
            an interrupted run and its resumption (seed, backend, epochs,
            data size...).
        monitor: a log entry whose best epoch is kept (e.g.
            `"val_accuracy"`), or None.
        command: the command line to name when a resumption is refused.
    """

    def __init__(self, folder, settings, monitor=None, command=None):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.settings = json.loads(json.dumps(settings))
        self.monitor = monitor
        self.command = command
        self.record = {"epochs_done": 0, "wall_time_s": 0.0}
        if monitor:
            self.record.update(
                {monitor: None, "best_epoch": None, "best_weights": None}
            )
        self.notes = []  # what `restore` fell back from

    @property
    def best_weights(self):
        """The path of the best epoch's weights (None before one)."""
        name = self.record.get("best_weights")
        return self.folder / name if name else None

    def restore(self, model):
        """Loads the newest readable checkpoint into `model`.

        `model` must be built and compiled; its optimizer is built here if
        needed. A checkpoint that cannot be read (missing or truncated
        weights, a sha256 mismatch, broken JSON) is skipped for the one
        before it, and `notes` says why.

        Returns:
            The epoch to resume from (0: no checkpoint, start afresh).

        Raises:
            RunFolderError: the interrupted run had other settings, or no
                checkpoint can be read.
        """
        for leftover in self.folder.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)  # a write cut short
        epochs = checkpoint_epochs(self.folder)
        if not epochs:
            return 0
        for epoch in epochs:
            path = _checkpoint_json(self.folder, epoch)
            try:
                entry = json.loads(path.read_text())
                settings, record = entry["settings"], entry["record"]
            except (OSError, ValueError, KeyError, TypeError) as error:
                self.notes.append(f"{path.name}: {error}")
                continue
            check_settings(
                self.folder, settings, self.settings, entry.get("command")
            )
            try:
                self._load(model, entry)
            except Exception as error:  # h5py and Keras raise many kinds
                self.notes.append(f"epoch {epoch}: {error}")
                continue
            self.record = record
            for newer in epochs[: epochs.index(epoch)]:
                # Unreadable: leave no doubt which checkpoint is the newest.
                _checkpoint_json(self.folder, newer).unlink(missing_ok=True)
            return entry["epoch"]
        raise RunFolderError(
            f"The checkpoints of the interrupted run in {self.folder} cannot "
            f"be read ({'; '.join(self.notes)}). Pass overwrite=True "
            "(--overwrite) to start over, or choose another output."
        )

    def _load(self, model, entry):
        for name, expected in entry["sha256"].items():
            path = self.folder / name
            if not path.is_file():
                raise FileNotFoundError(f"{name} is missing")
            if sha256_of(path) != expected:
                raise ValueError(
                    f"{name} is truncated or corrupt (its sha256 differs "
                    "from the one recorded)"
                )
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.folder / entry["weights"])

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._spent = self.record["wall_time_s"]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        number = epoch + 1
        self.record.update(
            epochs_done=number,
            wall_time_s=self._spent + time.perf_counter() - self._start,
        )
        if "loss" in logs:
            self.record["loss"] = float(logs["loss"])
        if self.monitor:
            value = float(logs[self.monitor])
            best = self.record[self.monitor]
            if best is None or value > best:
                name = f"best_{number:04d}.weights.h5"
                self._save_weights(name)
                self.record.update(
                    {self.monitor: value, "best_epoch": number},
                    best_weights=name,
                )
        self._write(number, fit_done=False)

    def on_train_end(self, logs=None):
        # fit ended (all epochs, or early stopping): a resumed run must not
        # train on after an early stop.
        epochs = checkpoint_epochs(self.folder)
        if epochs:
            self._write(epochs[0], fit_done=True, weights_written=True)

    def _save_weights(self, name):
        write_atomically(
            self.folder / name,
            lambda path: self.model.save_weights(path, overwrite=True),
        )

    def _write(self, epoch, fit_done, weights_written=False):
        weights = f"epoch_{epoch:04d}.weights.h5"
        if not weights_written:
            self._save_weights(weights)
        self.record["fit_done"] = fit_done
        files = [weights] + (
            [self.record["best_weights"]]
            if self.record.get("best_weights")
            else []
        )
        entry = {
            "epoch": epoch,
            "weights": weights,
            "sha256": {name: sha256_of(self.folder / name) for name in files},
            "settings": self.settings,
            "command": self.command,
            "record": dict(self.record),
        }
        write_text_atomically(
            _checkpoint_json(self.folder, epoch), json.dumps(entry, indent=1)
        )
        self._prune()

    def _prune(self):
        """Removes all but the newest `KEEP` checkpoints and the files only
        they used."""
        epochs = checkpoint_epochs(self.folder)
        kept = set()
        for epoch in epochs[:KEEP]:
            try:
                entry = json.loads(
                    _checkpoint_json(self.folder, epoch).read_text()
                )
                kept.update(entry["sha256"])
            except (OSError, ValueError, KeyError):
                continue
        for epoch in epochs[KEEP:]:
            _checkpoint_json(self.folder, epoch).unlink(missing_ok=True)
        for path in self.folder.glob("*.weights.h5"):
            if path.name not in kept:
                path.unlink(missing_ok=True)


def say(message):
    """Prints a line about the run folder to stderr, beside Keras' bar."""
    print(message, file=sys.stderr, flush=True)


def report_resume(name, checkpoints, epoch, epochs, verbose=1):
    """Says from which epoch a run resumes (stdout, when `verbose`) and which
    unreadable checkpoints it skipped (stderr, always).

    Args:
        name: the preset's name.
        checkpoints: the run's `Checkpoints`, after `restore`.
        epoch: what `restore` returned.
        epochs: the run's epoch count.
        verbose: 0 for silence (the skipped checkpoints are still named).
    """
    if checkpoints.notes:
        say(
            f"{name}: skipped unreadable checkpoints in "
            f"{checkpoints.folder} ({'; '.join(checkpoints.notes)}); "
            f"resuming from the backup of epoch {epoch}."
        )
    if not epoch or not verbose:
        return
    if checkpoints.record.get("fit_done") or epoch >= epochs:
        print(
            f"{name}: the interrupted run in {checkpoints.folder} had "
            f"finished training (epoch {epoch} of {epochs}); writing its "
            "preset."
        )
    else:
        print(
            f"{name}: resuming the interrupted run in {checkpoints.folder} "
            f"from epoch {epoch + 1} of {epochs}."
        )


@contextlib.contextmanager
def explain_interruption(name, folder, epochs, command=None):
    """On Ctrl-C (`KeyboardInterrupt`) in the body, says how to resume
    (stderr), then lets the interruption go on."""
    try:
        yield
    except KeyboardInterrupt:
        done = checkpoint_epochs(folder)
        again = f"`{command}`" if command else "the same call"
        if done:
            say(
                f"\n{name}: interrupted; epochs 1-{done[0]} of {epochs} are "
                f"saved in {folder}. Run {again} again to resume from epoch "
                f"{done[0] + 1}."
            )
        else:
            say(
                f"\n{name}: interrupted before its first epoch ended; "
                f"nothing was saved, and {again} starts over."
            )
        raise
