"""Makes `keras_pmm.zoo` and `keras_pmm.uq` importable from a source tree.

An installed keras-pmm maps the top-level `zoo/` and `uq/` folders to
`keras_pmm.zoo` and `keras_pmm.uq` (setuptools package-dir). When Python
imports `keras_pmm` straight from a checkout instead (the repository root on
`sys.path` hides an installed copy), that mapping is missing; this module
adds a finder for the two folders under their package names so the import
works the same either way. Nothing is imported until a package is used.
"""

import importlib.util
import pathlib
import sys

_MAPPED = {"zoo": "keras_pmm.zoo", "uq": "keras_pmm.uq"}


class _FolderFinder:
    """A `sys.meta_path` finder for packages kept in other folders."""

    def __init__(self, inits):
        self.inits = inits  # package name -> its __init__.py

    def find_spec(self, name, path=None, target=None):
        init = self.inits.get(name)
        if init is None:
            return None
        return importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)]
        )


def ensure_mapped_subpackages():
    if any(isinstance(finder, _FolderFinder) for finder in sys.meta_path):
        return
    package_dir = pathlib.Path(__file__).resolve().parent
    inits = {}
    for folder, name in _MAPPED.items():
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            continue
        init = package_dir.parent / folder / "__init__.py"
        if init.is_file():
            inits[name] = init
    if inits:
        sys.meta_path.append(_FolderFinder(inits))
