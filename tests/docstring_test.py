"""Every docstring example of keras_pmm runs exactly as written.

One case per module with examples (keras-hub's docstring test, optax's
test.sh): `doctest` finds the examples and runs them with empty globals, so
each example imports what it uses, on whichever backend the suite runs.
"""

import doctest
import importlib
import pkgutil

import pytest

import keras_pmm

# Folders outside keras_pmm/ that an install maps into the package.
MAPPED_SUBPACKAGES = ("keras_pmm.zoo", "keras_pmm.uq")
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def module_names():
    names = {"keras_pmm"}
    for info in pkgutil.walk_packages(keras_pmm.__path__, "keras_pmm."):
        names.add(info.name)
    for package_name in MAPPED_SUBPACKAGES:
        package = importlib.import_module(package_name)
        names.add(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            names.add(info.name)
    return sorted(names)


def examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [test for test in finder.find(module, globs={}) if test.examples]


MODULES_WITH_EXAMPLES = [name for name in module_names() if examples(name)]
# Their examples read the real MNIST files (`KERAS_PMM_DATA_DIR`), so they
# skip, or fail under CI, like every real-data test (`data_dir` fixture).
NEED_REAL_DATA = {"keras_pmm.datasets.mnist", "keras_pmm.zoo"}


@pytest.mark.parametrize("module_name", MODULES_WITH_EXAMPLES)
def test_docstring_examples_run(module_name, request):
    if module_name in NEED_REAL_DATA:
        request.getfixturevalue("data_dir")
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS, verbose=False)
    report = []
    for test in examples(module_name):
        runner.run(test, out=report.append)
    assert not runner.failures, "".join(report)
