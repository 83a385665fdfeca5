"""The examples in the docstrings run and pass (constriction's docs-as-tests practice).

Every module of the package whose source holds a ``>>>`` example is found and run; none is
listed by hand, so a new module's examples cannot be forgotten.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest


def _modules_with_examples() -> list[str]:
    import flowzip.cli
    import flowzip.kernels

    names = ["flowzip", "flowzip.kernels"]
    found = [*pkgutil.walk_packages(flowzip.__path__, "flowzip.")]
    for package in (
        flowzip.kernels,
        flowzip.cli,
    ):  # installed inside flowzip from their own folders
        found += pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    for info in found:
        if info.name.startswith("flowzip.kernels.cuda"):
            continue  # needs numba-cuda; its kernels are tested under the simulator
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py") and ">>>" in Path(origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return sorted(set(names))


MODULES = _modules_with_examples()


def test_discovery_finds_the_modules():
    assert {"flowzip.api", "flowzip.container", "flowzip.classic", "flowzip.kernels"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    # an example too long to run (training) is marked +SKIP; every other module's runs
    assert result.attempted > 0 or "doctest: +SKIP" in Path(module.__file__).read_text(
        encoding="utf-8"
    ), name
    assert result.failed == 0
