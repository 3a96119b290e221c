"""The course's notebook policy (CONTRIBUTING.md), checked on every chapter. nbval runs them separately."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
OPENING = ["Learning goals", "Prerequisites"]
ENDING = ["Summary", "Questions", "Exercises", "Further reading"]


def cells(path):
    return json.loads(path.read_text())["cells"]


def headings(path):
    return [line[3:].strip() for c in cells(path) if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("## ")]


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("path", CHAPTERS + SOLUTIONS, ids=lambda p: p.name)
def test_committed_clean(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb.get("metadata", {}), "widget state is committed"
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c.get("outputs") == [] and c.get("execution_count") is None, "outputs are committed"
    text = path.read_text()
    assert not re.search(r"/(root|tmp|work|home)/[A-Za-z0-9_.-]+", text), "machine path"
    assert "import *" not in text
    # Outputs are not committed, so an output check would compare against nothing: claims are asserted instead.
    assert "NBVAL_CHECK_OUTPUT" not in text


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_same_opening_and_ending(path):
    first = cells(path)[0]
    assert first["cell_type"] == "markdown"
    assert re.match(rf"# {path.name[:2]} · \S", "".join(first["source"])), "title '# NN · Title' first"
    found = headings(path)
    assert found[: len(OPENING)] == OPENING, f"opening headings are {found[:2]}"
    tail = [h for h in found if h in ENDING]
    assert tail == ENDING and found[-len(ENDING):] == ENDING, f"ending headings are {found[-4:]}"
    setup = next(c for c in cells(path) if c["cell_type"] == "code")
    source = "".join(setup["source"])
    assert "import srkit" in source and "seed" in source and "device" in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_have_checks_and_solutions(path):
    solution = NOTEBOOKS / "solutions" / f"{path.stem}_solutions.ipynb"
    assert solution.is_file(), f"missing {solution.name}"
    stubs = [c for c in cells(path) if c["cell_type"] == "code" and "NotImplementedError" in "".join(c["source"])]
    checks = [c for c in cells(path) if c["cell_type"] == "code" and "check(" in "".join(c["source"])]
    assert len(stubs) >= 3 and len(checks) >= 3
    for c in stubs + checks:
        assert "raises-exception" in c["metadata"].get("tags", []), "stub/check cells must be tagged raises-exception"
    solved = [c for c in cells(solution) if c["cell_type"] == "code" and "check(" in "".join(c["source"])]
    assert len(solved) >= len(checks)
    for c in cells(solution):
        assert "raises-exception" not in c["metadata"].get("tags", []), "solutions must run without exceptions"
        assert "NotImplementedError" not in "".join(c["source"])
