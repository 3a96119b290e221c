"""Lecture mode: every notebook carries the slide metadata of tools/slides.py, and every chapter builds into a
reveal.js deck with tools/build_decks.py (see README, "Presenting the course")."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ALL = CHAPTERS + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_decks = _load("build_decks")


def _check(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools" / "slides.py"), "--check", *map(str, paths)],
                          capture_output=True, text=True, timeout=60)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_notebook_follows_the_slide_rule():
    result = _check(*ALL)
    assert result.returncode == 0, "run: python tools/slides.py notebooks/*.ipynb notebooks/solutions/*.ipynb\n" + \
        result.stdout


def test_check_finds_a_wrong_cell_and_apply_fixes_only_that(tmp_path):
    tool = [sys.executable, str(ROOT / "tools" / "slides.py")]
    reference, path = tmp_path / "reference.ipynb", tmp_path / CHAPTERS[0].name
    shutil.copy(CHAPTERS[0], reference)
    subprocess.run([*tool, str(reference)], check=True, capture_output=True, timeout=60)
    nb = json.loads(reference.read_text(encoding="utf-8"))
    nb["cells"][0]["metadata"]["slideshow"] = {"slide_type": "-"}
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    result = _check(path)
    assert result.returncode == 1 and "cell 0 " in result.stdout and "rule says 'slide'" in result.stdout
    subprocess.run([*tool, str(path)], check=True, capture_output=True, timeout=60)
    assert _check(path).returncode == 0
    # Jupyter's own JSON layout is kept, tags included: only the slide type of cell 0 changed back.
    assert path.read_text(encoding="utf-8") == reference.read_text(encoding="utf-8")
    assert any("raises-exception" in c["metadata"].get("tags", []) for c in _cells(path))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_deck_builds_one_section_per_slide(path, tmp_path):
    assert build_decks.main(["--no-execute", "--out", str(tmp_path), str(path)]) == 0
    html = (tmp_path / f"{path.stem}.slides.html").read_text(encoding="utf-8")
    cells = _cells(path)
    types = [c["metadata"].get("slideshow", {}).get("slide_type", "-") for c in cells]
    # nbconvert opens a <section> per slide and one per subslide; a slide's first subslide is the slide itself.
    assert html.count("<section") == 2 * types.count("slide") + types.count("subslide")
    shown_code = sum(c["cell_type"] == "code" and t != "skip" for c, t in zip(cells, types))
    assert html.count('class="jp-Cell jp-CodeCell') == shown_code          # set-up and exercise stubs skipped
    title = "".join(cells[0]["source"]).splitlines()[0].removeprefix("# ")
    first_slide = html[html.index("<section"):html.index("</section>")]
    assert "<h1" in first_slide and title in first_slide                   # the deck opens with the title slide
    assert "https://unpkg.com/reveal.js" in html                            # default: reveal.js from a CDN


def test_executed_deck_has_figures_and_offline_reveal(tmp_path):
    out = tmp_path / "decks"
    local = tmp_path / "node_modules" / "reveal.js"                          # need not exist to build
    assert build_decks.main(["--out", str(out), "--reveal-prefix", str(local), str(CHAPTERS[0])]) == 0
    html = (out / f"{CHAPTERS[0].stem}.slides.html").read_text(encoding="utf-8")
    assert "data:image/png" in html or "<img" in html
    assert '"../node_modules/reveal.js/dist/reveal.js"' in html                # written relative to the deck
    assert "unpkg.com/reveal.js" not in html
