"""Build the course's reveal.js slide decks ("lecture mode"), one per chapter.

    python tools/build_decks.py                                   # notebooks/NN_*.ipynb -> decks/NN_*.slides.html
    python tools/build_decks.py --no-execute notebooks/01_images_and_interpolation.ipynb      # fast, no outputs
    python tools/build_decks.py --reveal-prefix decks/node_modules/reveal.js                   # offline lecture

Each chapter is executed in memory, in its own folder (the file is never written: notebooks are committed
without outputs), with a timeout of 600 s per cell; errors are allowed because the exercise stubs raise
``NotImplementedError`` (those cells are "skip" slides). An error in any other cell is reported and makes
the exit status 1, but the deck is still written. Slide types come from the cells' metadata, which
``tools/slides.py`` sets by one rule. In the deck, figures are large and code is small: prompts are hidden,
``# NBVAL_…`` lines are dropped from the shown code, a code cell longer than ``SHORT`` lines that draws a
figure or a widget shows only its output (the code is in the notebook), code is set in a smaller font,
figures are drawn at double resolution and stretched to the slide's width (at most 70 % of its height),
and a slide taller than the screen scrolls.

reveal.js, require.js, jQuery and MathJax come from CDNs. ``--reveal-prefix`` takes a URL or a local folder
of reveal.js 4 (a local path is written relative to the deck). For a local folder, require.js, jQuery,
MathJax 2 and the widgets' HTML manager are taken from its sibling folders when they exist, as
``npm install --prefix decks reveal.js@4 requirejs jquery@3 mathjax@2 @jupyter-widgets/html-manager@1`` lays
them out in ``decks/node_modules/``: then the deck needs no network (README, "Presenting the course").
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parents[1]
SHORT = 8          # a figure cell with more source lines than this shows only its output in the deck
NBVAL_LINE = re.compile(r"^\s*# NBVAL_\w+\s*\n?", re.M)
STYLE = """<style type="text/css">  /* srkit decks: code small, figures large (px of the 1280x800 slide) */
:root { --jp-code-font-size: 14px; }
.reveal .jp-OutputArea-output pre { font-size: 15px; line-height: 1.3; }
.reveal .jp-RenderedImage img { width: 100%; height: auto; max-height: 560px; object-fit: contain; }
.reveal img.widget-image { max-height: 480px; object-fit: contain; }
</style>
"""
# Sibling folders of a local reveal.js (npm's node_modules layout) -> the exporter setting they replace.
OFFLINE = {
    "require_js_url": "requirejs/require.js",
    "jquery_url": "jquery/dist/jquery.min.js",
    "mathjax_url": "mathjax/MathJax.js",           # MathJax 2 (nbconvert's templates use MathJax.Hub)
    "widget_renderer_url": "@jupyter-widgets/html-manager/dist/embed-amd.js",
}


def _url(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path.resolve(), out.resolve())).as_posix()


def exporter(out: Path, reveal_prefix: str | None) -> SlidesExporter:
    """A SlidesExporter for decks written to folder ``out``; ``reveal_prefix``: URL or local path (or None: CDN)."""
    slides = SlidesExporter(exclude_input_prompt=True, exclude_output_prompt=True, reveal_scroll=True,
                            reveal_number="c/t", reveal_width="1280", reveal_height="800")
    if reveal_prefix and "://" not in reveal_prefix:
        local = Path(reveal_prefix)
        slides.reveal_url_prefix = _url(local, out)
        for setting, sibling in OFFLINE.items():
            if (local.parent / sibling).is_file():
                query = "?config=TeX-AMS_CHTML-full,Safe" if setting == "mathjax_url" else ""
                setattr(slides, setting, _url(local.parent / sibling, out) + query)
    elif reveal_prefix:
        slides.reveal_url_prefix = reveal_prefix.rstrip("/")
    return slides


def prepare(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an (executed) notebook laid out for the deck: NBVAL lines dropped, long figure cells' code hidden."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source = NBVAL_LINE.sub("", cell.source)
        shows = any(kind in out.get("data", {}) for out in cell.get("outputs", [])
                    for kind in ("image/png", "image/svg+xml", "application/vnd.jupyter.widget-view+json"))
        if shows and len(cell.source.strip().splitlines()) > SHORT:
            cell.metadata["transient"] = {"remove_source": True}
    return nb


def errors(nb: nbformat.NotebookNode) -> list[str]:
    """'cell i: ename' for each cell that raised and is not tagged raises-exception."""
    return [f"cell {i}: {out.get('ename')}: {out.get('evalue', '')[:80]}" for i, cell in enumerate(nb.cells)
            if "raises-exception" not in cell.metadata.get("tags", [])
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def build(path: Path, out: Path, execute: bool = True, reveal_prefix: str | None = None) -> tuple[Path, list[str]]:
    """Write ``out/<stem>.slides.html`` for notebook ``path``; returns the deck and the unexpected errors."""
    nb = nbformat.read(path, as_version=4)
    if execute:
        NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3",
                       extra_arguments=["--InlineBackend.figure_formats=retina"],   # sharp when enlarged
                       resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    html, _ = exporter(out, reveal_prefix).from_notebook_node(prepare(nb), resources={"metadata": {"name": path.stem}})
    html = html.replace("</head>", STYLE + "</head>", 1)
    out.mkdir(parents=True, exist_ok=True)
    deck = out / f"{path.stem}.slides.html"
    deck.write_text(html, encoding="utf-8")
    return deck, errors(nb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every chapter, notebooks/[0-9][0-9]_*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "decks", help="output folder (default: decks/)")
    parser.add_argument("--no-execute", dest="execute", action="store_false", help="export without running")
    parser.add_argument("--reveal-prefix", help="URL or local folder of reveal.js 4 (default: a CDN)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.reveal_prefix and "://" not in args.reveal_prefix:
        modules = Path(args.reveal_prefix).parent
        cdn = [str(Path(sibling).parent).split("/dist")[0] for sibling in OFFLINE.values()
               if not (modules / sibling).is_file()]
        print(f"reveal.js from {args.reveal_prefix}; still from a CDN: {', '.join(cdn) or 'nothing'}")
    status = 0
    for path in notebooks:
        deck, problems = build(path, args.out, args.execute, args.reveal_prefix)
        kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in nbformat.read(path, as_version=4).cells]
        print(f"wrote {deck} ({kinds.count('slide')} slides + {kinds.count('subslide')} subslides, "
              f"{deck.stat().st_size / 1e6:.1f} MB)")
        for problem in problems:
            print(f"  error in {path.name}, {problem}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
