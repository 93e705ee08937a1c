"""Packaging promises: import surface, backend isolation, extras, metadata."""

import importlib.metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

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


def _readme_python_examples():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


# Runs before the README's examples: the same calls on a tenth of MNIST, so
# the test checks that they run, not how well they learn.
README_PRELUDE = """
import keras_pmm.datasets

_load_mnist = keras_pmm.datasets.load_mnist


def _small_mnist(*args, **kwargs):
    (x_train, y_train), (x_test, y_test) = _load_mnist(*args, **kwargs)
    return (x_train[:2048], y_train[:2048]), (x_test[:512], y_test[:512])


keras_pmm.datasets.load_mnist = _small_mnist
"""

README_EPILOGUE = """
import importlib, sys
for name in ("keras_pmm", "keras_pmm.training", "keras_pmm.zoo",
             "keras_pmm.uq", "keras_pmm.export", "keras_pmm.datasets"):
    print("module", name, importlib.import_module(name).__file__)
"""


@pytest.mark.large
def test_wheel_installs_and_runs_the_readme_examples(tmp_path, data_dir):
    """Issue 31: a plain (non-editable) install lacked `keras_pmm.training`.

    Builds the wheel from a copy of the sources, checks that it holds every
    module and data file, installs it into a fresh virtual environment that
    sees this one's packages (Keras and the backends are not reinstalled)
    but not its editable keras-pmm, and runs the README's Python examples
    and the CLI from outside the source tree.
    """
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("keras_pmm", "zoo", "uq"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--quiet", "-w", dist, source],
        check=True,
        timeout=600,
    )
    (wheel,) = dist.glob("keras_pmm-*.whl")

    # Every module and data file of the source folders is in the wheel.
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    expected = set()
    for top, package in SOURCE_PACKAGES.items():
        for file in (ROOT / top).rglob("*"):
            relative = file.relative_to(ROOT / top)
            if file.is_file() and "__pycache__" not in relative.parts:
                prefix = package.replace(".", "/")
                expected.add(f"{prefix}/{relative.as_posix()}")
    assert sorted(expected - in_wheel) == []

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", venv], check=True
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [
            python,
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A plain path line: this environment's packages become importable, but
    # its `.pth` hooks (the editable keras-pmm's finder) do not run.
    paths = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (pathlib.Path(site) / "parent_environment.pth").write_text(
        "\n".join(sorted(paths)) + "\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install"]
        + ["--no-deps", "--no-index", "--quiet", wheel],
        check=True,
        timeout=600,
    )

    work = tmp_path / "work"
    work.mkdir()
    environment = {**os.environ, "KERAS_PMM_DATA_DIR": str(data_dir)}
    environment.pop("PYTHONPATH", None)
    script = work / "readme_examples.py"
    script.write_text(
        "\n".join([README_PRELUDE, *_readme_python_examples(), README_EPILOGUE])
    )
    result = subprocess.run(
        [python, script],
        capture_output=True,
        text=True,
        cwd=work,
        env=environment,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    modules = [line.split() for line in result.stdout.splitlines()]
    modules = {m[1]: m[2] for m in modules if m[:1] == ["module"]}
    assert len(modules) == 6
    for name, file in modules.items():
        assert file.startswith(site), (name, file)

    keras_pmm_command = venv / "bin" / "keras-pmm"
    sample = (
        pathlib.Path(site)
        / "keras_pmm/zoo/samples/fashion_mnist_test_0000_9.png"
    )
    for arguments, expected_text in [
        (["zoo", "list"], "pmm_franke"),
        (["predict", "pmm_fashion_mnist", sample], "Ankle boot"),
        (["zoo", "evaluate", "pmm_franke"], "card: reproduced"),
    ]:
        result = subprocess.run(
            [keras_pmm_command, *arguments],
            capture_output=True,
            text=True,
            cwd=work,
            env=environment,
            timeout=600,
        )
        assert result.returncode == 0, (arguments, result.stderr[-4000:])
        assert expected_text in result.stdout, (arguments, result.stdout)


def test_readme_install_section_names_every_extra():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Install\n", 1)[1].split("\n## ", 1)[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extra in project["optional-dependencies"]:
        assert f"`{extra}`" in section, extra
    assert 'pip install "keras-pmm[jax]"' in section
    assert "pip install keras-pmm ai-edge-litert" in section
    assert "KERAS_BACKEND" in section and "BackendNotInstalledError" in section
