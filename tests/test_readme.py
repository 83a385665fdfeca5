"""The README's Python example runs as written (a user's first copy and paste)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> str:
    """The first ``python`` code block under the README's "## Python" heading."""
    section = README.read_text(encoding="utf-8").split("\n## Python\n", 1)[1]
    match = re.match(r"\s*```python\n(.*?)\n```", section, re.DOTALL)
    assert match, "the Python section starts with a python code block"
    return match.group(1)


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    code = python_example()
    assert "flowzip.compress(" in code and "flowzip.Decompressor(" in code
    monkeypatch.chdir(tmp_path)  # whatever it writes lands here
    exec(compile(code, f"{README}:## Python", "exec"), {"__name__": "readme"})
    assert "bits per sample" in capsys.readouterr().out
