"""The examples in the docstrings run and pass (constriction's docs-as-tests practice)."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "flowzip", "flowzip.api", "flowzip.container", "flowzip.registry", "flowzip.entropy.coder", "flowzip.entropy.stack",
    "flowzip.entropy.tables", "flowzip.flows.base", "flowzip.kernels",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
