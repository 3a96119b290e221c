"""Give every cell of the course's notebooks a reveal.js slide type, by one rule ("lecture mode").

    python tools/slides.py notebooks/*.ipynb notebooks/solutions/*.ipynb     # write the metadata
    python tools/slides.py --check notebooks/*.ipynb                          # exit 1, listing cells that differ

The rule sets ``cell.metadata.slideshow.slide_type`` and nothing else (tags and other metadata stay):

1. the first cell (the ``# NN · Title`` cell) is a "slide": the title slide;
2. a markdown cell that starts with ``## `` starts a "slide" (one section, one idea), ``### `` a "subslide";
3. the set-up code cell (the first code cell) and the exercise stubs and checks (cells tagged
   ``raises-exception``) are "skip": the audience sees neither imports nor ``NotImplementedError``;
4. a "subslide" starts, so that a slide holds about one idea and fits the screen,
   - at any cell after a code cell that draws a figure or shows a widget: one figure per slide, the last
     thing on it (figures are recognised by their source, ``plt.``, ``plot.show/compare/grid``,
     ``widgets.…(``, since outputs are not committed);
   - at such a figure cell when the slide (or subslide) already holds more than ``ROOM`` source lines of
     markdown and code (a figure needs half a slide);
   - at a markdown cell (not a heading) when the slide holds more than ``LONG`` lines: a new paragraph on
     a long slide is usually a new idea; and at a code cell of more than ``LONG`` lines on such a slide;
   when such a break falls on a code cell right after a markdown cell, it moves up to that cell, so the
   text that introduces a figure or a piece of code stays on its slide;
5. everything else is "-" (continues the current slide or subslide), e.g. a figure right after its
   text, and the exercise texts of ``## Exercises`` (their stubs and checks are skipped, rule 3).

``tools/build_decks.py`` turns the notebooks into reveal.js decks; ``tests/test_slides.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

LONG = 12           # source lines (markdown + code) after which a paragraph or a long code cell starts a subslide
ROOM = 8            # ... after which a figure starts a subslide
FIGURE = re.compile(r"\bplt\.(subplots|figure|imshow|plot)\(|\bplot\.(show|compare|grid)\(|\bwidgets\.\w+\(")


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def slide_types(cells: list[dict]) -> list[str]:
    """The slide type of each cell (a list of nbformat-4 cell dicts) by the rule of the module docstring."""
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), None)
    types, lines, figure = [], 0, False
    for i, cell in enumerate(cells):
        source = _source(cell).strip()
        first = source.splitlines()[0] if source else ""
        markdown, code = cell["cell_type"] == "markdown", cell["cell_type"] == "code"
        draws, n = code and bool(FIGURE.search(source)), len(source.splitlines())
        if i == 0 or (markdown and first.startswith("## ")):
            kind = "slide"
        elif markdown and first.startswith("### "):
            kind = "subslide"
        elif code and (i == first_code or "raises-exception" in cell.get("metadata", {}).get("tags", [])):
            kind = "skip"
        elif figure or draws and lines > ROOM or lines > LONG and (markdown or n > LONG):
            kind = "subslide"
        else:
            kind = "-"
        if kind == "subslide" and code and types[-1] == "-" and cells[i - 1]["cell_type"] == "markdown":
            types[-1], kind = "subslide", "-"                   # the text that introduces the code goes with it
            lines, figure = len(_source(cells[i - 1]).strip().splitlines()), False
        elif kind in ("slide", "subslide"):
            lines, figure = 0, False
        if kind != "skip":
            lines += n
            figure = figure or draws
        types.append(kind)
    return types


def differences(path: Path) -> list[str]:
    """'path: cell i (first line): has X, rule says Y' for each cell whose slide type is not the rule's."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    out = []
    for i, (cell, kind) in enumerate(zip(cells, slide_types(cells))):
        has = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if has != kind:
            head = (_source(cell).strip().splitlines() or [""])[0][:50]
            out.append(f"{path}: cell {i} ({head!r}): has {has!r}, rule says {kind!r}")
    return out


def apply(path: Path) -> bool:
    """Write the rule's slide types into ``path`` (only if something changes); True if it changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    for cell, kind in zip(nb["cells"], slide_types(nb["cells"])):
        cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = kind
    # Jupyter's own format (indent 1, UTF-8, final newline), so that a diff shows only the metadata.
    new = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a cell differs from the rule")
    args = parser.parse_args(argv)
    if args.check:
        problems = [line for path in args.notebooks for line in differences(path)]
        print("\n".join(problems) or f"{len(args.notebooks)} notebook(s) follow the slide rule")
        return 1 if problems else 0
    for path in args.notebooks:
        types = slide_types(json.loads(path.read_text(encoding="utf-8"))["cells"])
        counts = ", ".join(f"{types.count(k)} {k}" for k in ("slide", "subslide", "skip"))
        print(f"{path}: {'updated' if apply(path) else 'unchanged'} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
