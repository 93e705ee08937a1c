"""Where data set files come from: a local folder, or a download when online."""

import os
import pathlib
import re
import socket
import urllib.parse

DATA_DIR_VARIABLE = "KERAS_PMM_DATA_DIR"

# Seconds to wait for a TCP connection before declaring the machine offline.
CONNECT_TIMEOUT = 3.0


def data_dir_from(data_dir):
    """`data_dir`, else `KERAS_PMM_DATA_DIR`, else None (meaning: download)."""
    data_dir = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    return pathlib.Path(data_dir).expanduser() if data_dir else None


def file_names(file):
    """The names one published IDX file goes by where users keep it.

    As published (`train-images-idx3-ubyte.gz`), gunzipped
    (`train-images-idx3-ubyte`, torchvision's `MNIST/raw` keeps both), with a
    dot before `idx` (`train-images.idx3-ubyte`, as some mirrors and Kaggle
    name them), and in a folder of its own name (what unpacking Kaggle's
    archive gives).
    """
    stem = file.removesuffix(".gz")
    dotted = re.sub(r"-(idx\d)", r".\1", stem)
    names = []
    for name in (stem, dotted):
        names += [f"{name}.gz", name, f"{name}/{name}"]
    return list(dict.fromkeys(names))


def find_files(name, files, base, subfolders, alternatives=()):
    """Paths of `files` in the first of `base/<subfolder>` and `base` that
    holds all of them, each under any of its `file_names`.

    Args:
        name: the data set's name, for the error message.
        files: the published file names.
        base: the folder to search.
        subfolders: folders under `base` to search first, in order.
        alternatives: other files (paths relative to `base`) that would
            have served, named in the error message.

    Raises:
        FileNotFoundError: naming every folder searched and the files sought.
    """
    candidates = [base / sub for sub in subfolders] + [base]
    for folder in candidates:
        found = []
        for file in files:
            paths = [folder / n for n in file_names(file)]
            found.append(next((p for p in paths if p.is_file()), None))
        if None not in found:
            return found
    looked = ", ".join(str(folder) for folder in candidates[:-1])
    looked = f"{looked} or {candidates[-1]}" if looked else str(base)
    others = "".join(f", nor {base / other}" for other in alternatives)
    raise FileNotFoundError(
        f"No {name} IDX files in {looked} (looked for {', '.join(files)}, "
        "each also gunzipped or with '.idx' for '-idx' in its name)"
        f"{others}. Pass data_dir= or set {DATA_DIR_VARIABLE} to a folder that "
        "holds them, or unset both to download."
    )


def keras_cache():
    """The folder where `keras.utils.get_file` keeps data sets.

    `$KERAS_HOME/datasets`, else `~/.keras/datasets` (`/tmp/.keras/datasets`
    when the home folder is read-only), as Keras resolves it.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return pathlib.Path(home) / "datasets"


def check_online(url, name):
    """Fails within `CONNECT_TIMEOUT` seconds when `url`'s host is unreachable.

    Download helpers (Keras' `get_file`, tensorflow-datasets) retry for
    minutes when offline; one short TCP connection tells the user at once.

    Raises:
        RuntimeError: the host cannot be resolved or reached.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection(
            (parts.hostname, port), timeout=CONNECT_TIMEOUT
        ).close()
    except OSError as error:
        raise offline_error(name, error) from error


def offline_error(name, error):
    return RuntimeError(
        f"Could not download {name} ({error}). Offline? Point data_dir= or "
        f"{DATA_DIR_VARIABLE} at a folder with the IDX files."
    )
