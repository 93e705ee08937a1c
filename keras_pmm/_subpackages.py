"""Makes `keras_pmm.zoo` and `keras_pmm.uq` importable from a source tree.

An installed keras-pmm maps the top-level `zoo/` and `uq/` folders to
`keras_pmm.zoo` and `keras_pmm.uq` (setuptools package-dir). When Python
imports `keras_pmm` straight from a checkout instead (the repository root on
`sys.path` hides an installed copy), that mapping is missing; this module
registers the two folders under their package names so the import works the
same either way.
"""

import importlib.util
import pathlib
import sys

_MAPPED = {"zoo": "keras_pmm.zoo", "uq": "keras_pmm.uq"}


def ensure_mapped_subpackages():
    package_dir = pathlib.Path(__file__).resolve().parent
    for folder, name in _MAPPED.items():
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            continue
        init = package_dir.parent / folder / "__init__.py"
        if not init.is_file():
            continue
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
