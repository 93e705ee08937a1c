"""Where data set files come from: a local folder, or a download when online."""

import os
import pathlib
import socket
import urllib.parse

DATA_DIR_VARIABLE = "KERAS_PMM_DATA_DIR"

# Seconds to wait for a TCP connection before declaring the machine offline.
CONNECT_TIMEOUT = 3.0


def data_dir_from(data_dir):
    """`data_dir`, else `KERAS_PMM_DATA_DIR`, else None (meaning: download)."""
    data_dir = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    return pathlib.Path(data_dir).expanduser() if data_dir else None


def find_folder(name, files, base, subfolders):
    """The first of `base/<subfolder>` and `base` that holds all of `files`.

    Raises:
        FileNotFoundError: naming every folder searched and the files sought.
    """
    candidates = [base / sub for sub in subfolders] + [base]
    for folder in candidates:
        if all((folder / file).is_file() for file in files):
            return folder
    looked = " or ".join(str(folder) for folder in candidates)
    raise FileNotFoundError(
        f"No {name} IDX files in {looked} (looked for {', '.join(files)}). "
        f"Pass data_dir= or set {DATA_DIR_VARIABLE} to a folder that holds "
        "them, or unset both to download."
    )


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
