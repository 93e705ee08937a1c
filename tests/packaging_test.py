"""Packaging promises: import surface, backend isolation, extras, metadata."""

import importlib.metadata
import os
import pathlib
import subprocess
import sys

import pytest
import tomllib

import keras_pmm

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_import_does_not_pull_in_tensorflow(backend):
    code = (
        "import sys, keras_pmm, keras_pmm.zoo, keras_pmm.uq\n"
        "loaded = sorted(m for m in sys.modules\n"
        "                if m.split('.')[0] == 'tensorflow')\n"
        "assert not loaded, loaded[:5]\n"
        "import keras; print(keras.backend.backend())\n"
    )
    environment = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == backend


def test_zoo_and_uq_are_subpackages_of_keras_pmm():
    from keras_pmm import uq
    from keras_pmm import zoo

    assert zoo.__name__ == "keras_pmm.zoo"
    assert uq.__name__ == "keras_pmm.uq"
    assert isinstance(zoo.list(), list)
    with pytest.raises(
        ValueError, match=r"Unknown preset 'no_such_model'.*Known presets"
    ):
        zoo.load("no_such_model")


def test_installed_metadata_matches_the_package():
    assert importlib.metadata.version("keras-pmm") == keras_pmm.__version__
    requirements = importlib.metadata.requires("keras-pmm")
    core = [r for r in requirements if "extra ==" not in r]
    assert sorted(
        r.split(">")[0].split("=")[0].split("<")[0].strip() for r in core
    ) == ["h5py", "keras", "numpy", "pillow"]


def test_extras_declare_the_backends_and_the_pinned_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    extras = project["optional-dependencies"]
    assert {"tensorflow", "jax", "torch", "dev"} <= set(extras)
    assert extras["torch"] == ["torch==2.13.0"]
    for needed in (
        "tensorflow",
        "tensorflow-probability",
        "tensorflow-datasets",
        "ai-edge-litert",
    ):
        assert any(spec.startswith(needed) for spec in extras["tensorflow"]), (
            needed
        )


def normalize(name):
    return name.strip().lower().replace("_", "-")


def test_constraints_pin_every_extra():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pinned[normalize(name)] = version.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [
        s for group in project["optional-dependencies"].values() for s in group
    ]
    for spec in specs:
        name = spec.split(";")[0].split("[")[0]
        for separator in ("==", ">=", "<=", "~=", "<", ">"):
            name = name.split(separator)[0]
        assert normalize(name) in pinned, (
            f"{name} is not pinned in constraints.txt"
        )
    assert pinned["torch"] == "2.13.0"


def test_console_script_and_package_data_are_declared():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"keras-pmm": "keras_pmm.cli:main"}
    data = project["tool"]["setuptools"]["package-data"]["keras_pmm.zoo"]
    assert "presets/*/*.h5" in data and "samples/*.png" in data


# Top-level source folders and the package each is installed as
# (`[tool.setuptools.package-dir]`).
SOURCE_PACKAGES = {
    "keras_pmm": "keras_pmm",
    "zoo": "keras_pmm.zoo",
    "uq": "keras_pmm.uq",
}


def _source_folders():
    """{package name: folder} of every source folder holding a `.py` file."""
    folders = {}
    for top, package in SOURCE_PACKAGES.items():
        for source in sorted((ROOT / top).rglob("*.py")):
            folder = source.parent
            if "__pycache__" in folder.parts:
                continue
            parts = folder.relative_to(ROOT / top).parts
            folders[".".join((package, *parts))] = folder
    return folders


def test_every_source_folder_is_a_declared_package():
    """A folder missing from `packages` is missing from the wheel (issue 31:
    `keras_pmm.training` was), though an editable install still finds it."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]
    folders = _source_folders()
    assert [
        n for n, f in folders.items() if not (f / "__init__.py").is_file()
    ] == []
    assert sorted(setuptools["packages"]) == sorted(folders)
    assert setuptools["package-dir"] == {
        package: top for top, package in SOURCE_PACKAGES.items()
    }


def test_every_data_file_is_declared_package_data():
    """Files beside the modules (preset weights, configs, cards, samples) ship
    only when a `package-data` pattern names them."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]
    unmatched = []
    for package, folder in _source_folders().items():
        patterns = setuptools.get("package-data", {}).get(package, [])
        for path in sorted(folder.iterdir()):
            if path.is_dir():
                files = [p for p in path.rglob("*") if p.is_file()]
            elif path.suffix != ".py":
                files = [path]
            else:
                continue
            for file in files:
                relative = file.relative_to(folder)
                if (
                    relative.parts[0] == "__pycache__"
                    or any(part.startswith(".") for part in relative.parts)
                    or (file.parent / "__init__.py").is_file()
                ):
                    continue
                if not any(
                    len(relative.parts) == len(pattern.split("/"))
                    and relative.match(pattern)
                    for pattern in patterns
                ):
                    unmatched.append(str(file.relative_to(ROOT)))
    assert unmatched == []


def _run_without(modules, code, tmp_path, keras_backend=None, keras_json=None):
    """Runs `code` in a fresh Python where `modules` cannot be imported (as
    if not installed), with `KERAS_HOME` in `tmp_path`."""
    home = tmp_path / "keras_home"
    home.mkdir()
    if keras_json is not None:
        (home / "keras.json").write_text(keras_json)
    environment = {**os.environ, "KERAS_HOME": str(home)}
    environment.pop("KERAS_BACKEND", None)
    if keras_backend is not None:
        environment["KERAS_BACKEND"] = keras_backend
    prelude = "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{prelude}{code}"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=300,
    )


LOAD_AND_REPORT = """
import keras_pmm
try:
    keras_pmm.zoo.load("pmm_mnist")
except ModuleNotFoundError as error:
    assert isinstance(error, keras_pmm.BackendNotInstalledError), error
    print(error.name)
    print(error)
    print(sorted(m for m in sys.modules if m in ("tensorflow", "jax", "torch")
                 and sys.modules[m] is not None))
"""


@pytest.mark.parametrize(
    "missing, keras_backend, keras_json, expected",
    [
        pytest.param(
            ["tensorflow"],
            None,
            None,
            [
                "KERAS_BACKEND is unset, so Keras starts TensorFlow, its "
                "default, but TensorFlow is not installed",
                "set KERAS_BACKEND=jax or KERAS_BACKEND=torch (installed)",
                "pip install 'keras-pmm[tensorflow]'",
            ],
            id="unset-defaults-to-tensorflow",
        ),
        pytest.param(
            ["torch", "tensorflow"],
            None,
            '{"backend": "torch"}',
            [
                'Keras\'s backend is "torch" (set in ',
                "keras.json), but PyTorch is not installed",
                "set KERAS_BACKEND=jax (installed)",
                "pip install 'keras-pmm[torch]'",
            ],
            id="keras-json",
        ),
        pytest.param(
            ["jax"],
            "jax",
            None,
            [
                "KERAS_BACKEND=jax, but JAX is not installed",
                "KERAS_BACKEND=tensorflow or KERAS_BACKEND=torch (installed)",
                "pip install 'keras-pmm[jax]'",
            ],
            id="environment",
        ),
        pytest.param(
            ["tensorflow", "jax", "torch"],
            None,
            None,
            [
                "TensorFlow is not installed, nor any other Keras backend",
                "pip install 'keras-pmm[tensorflow]' (or [jax], [torch]",
            ],
            id="no-backend",
        ),
    ],
)
def test_missing_backend_is_named_in_one_line(
    tmp_path, missing, keras_backend, keras_json, expected
):
    """Issue 31: with one backend installed and KERAS_BACKEND unset,
    `zoo.load` ended in a 25-frame traceback from inside TensorFlow."""
    result = _run_without(
        missing, LOAD_AND_REPORT, tmp_path, keras_backend, keras_json
    )
    assert result.returncode == 0, result.stderr[-3000:]
    name, message, imported = result.stdout.strip().splitlines()
    assert name == (keras_backend or missing[0])
    for part in expected:
        assert part in message
    assert message.endswith(".")
    assert imported == "[]"  # found out without importing any backend


def test_backend_chosen_after_the_error_starts_keras(tmp_path):
    code = (
        "import os, keras_pmm\n"
        "try:\n"
        "    import keras\n"
        "except keras_pmm.BackendNotInstalledError:\n"
        "    os.environ['KERAS_BACKEND'] = 'jax'\n"
        "import keras\n"
        "print(keras.backend.backend())\n"
        "print(keras.saving.get_registered_object("
        "'keras_pmm>PMMClassifier').__name__)\n"
    )
    result = _run_without(["tensorflow"], code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["jax", "PMMClassifier"]


def test_cli_names_the_missing_backend_in_one_line(tmp_path):
    code = "from keras_pmm import cli\nsys.exit(cli.main(['zoo', 'list']))\n"
    result = _run_without(["tensorflow"], code, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-pmm: error:")
    assert "keras-pmm[tensorflow]" in lines[0]
