"""The project's own promises about itself: one version, one place to read it from."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import flowzip

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]  # the package metadata takes it from flowzip
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "flowzip.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", flowzip.__version__)


def test_the_installed_metadata_agrees():
    # an install made before a version change would disagree: reinstall (pip install -e .)
    assert importlib.metadata.version("flowzip") == flowzip.__version__
