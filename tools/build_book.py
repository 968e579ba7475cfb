"""Render the stored notebooks and results/README.md into a static HTML book (`make book`).

    python tools/build_book.py                  # the book in build/book/ (index.html)
    python tools/build_book.py --out DIR        # somewhere else

Nothing is executed: every page shows the outputs stored by the last full-profile run.
The sources are staged in build/book-src/ with the repository's layout (`notebooks/`,
`results/`), so the relative links between them work unchanged; the Sphinx configuration
and the hand-written pages come from book/. Sphinx runs with warnings as errors, so a
broken cross-reference or an unreadable notebook fails the build.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"  # conf.py and the hand-written pages
NOTEBOOKS = ROOT / "notebooks"
RESULTS_PAGE = ROOT / "results" / "README.md"
DEFAULT_OUT = ROOT / "build" / "book"
DEFAULT_SRC = ROOT / "build" / "book-src"


def _mathjax_dir() -> Path:
    """MathJax's files as shipped in the jupyter-server-mathjax package (no network)."""
    import jupyter_server_mathjax

    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").is_file():
        raise FileNotFoundError(f"MathJax.js not found in {static}")
    return static


def stage(src: Path, notebooks: Path = NOTEBOOKS) -> list[Path]:
    """Lay out the book's sources in `src` (emptied first); return the staged notebooks."""
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(BOOK, src, ignore=shutil.ignore_patterns("__pycache__", "_build"))
    (src / "notebooks").mkdir()
    staged = []
    for nb in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        staged.append(Path(shutil.copy2(nb, src / "notebooks" / nb.name)))
    if not staged:
        raise FileNotFoundError(f"no notebooks NN_*.ipynb in {notebooks}")
    (src / "results").mkdir()
    shutil.copy2(RESULTS_PAGE, src / "results" / "README.md")
    shutil.copytree(_mathjax_dir(), src / "_static" / "mathjax")
    return staged


def build(out: Path = DEFAULT_OUT, src: Path = DEFAULT_SRC, quiet: bool = True,
          notebooks: Path = NOTEBOOKS) -> Path:
    """Stage the sources and run sphinx-build (warnings are errors); return index.html."""
    stage(src, notebooks)
    html = src / "_build" / "html"  # myst-nb writes its image files beside this folder
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-E",
           "-d", str(src / "_build" / "doctrees"), str(src), str(html)]
    subprocess.run(cmd + (["-q"] if quiet else []), check=True)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(html, out)
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    """Command line: build the book and say where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="staging folder")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                        help="folder of the NN_*.ipynb to render (default: notebooks/)")
    parser.add_argument("--verbose", action="store_true", help="Sphinx's progress output")
    args = parser.parse_args(argv)
    try:
        index = build(args.out.resolve(), args.src.resolve(), quiet=not args.verbose,
                      notebooks=args.notebooks.resolve())
    except subprocess.CalledProcessError as exc:
        print(f"sphinx-build failed (exit {exc.returncode}); see the messages above",
              file=sys.stderr)
        return 1
    print(f"book written to {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
