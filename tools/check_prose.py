"""Find numbers in a notebook's markdown that none of its outputs shows.

    python tools/check_prose.py                     # every stored notebook
    python tools/check_prose.py notebooks/04_pruning.ipynb

A number "looks measured" when it is a decimal (0.97), a percentage (8%), a ratio
(2.9×) or a count with thousands separators (12,730). LaTeX (`$...$`), code spans,
fenced code, link targets and section numbers ("section 5.2", "formula 4.2.1") are not
scanned. Such a number must appear in an output of the same notebook (printed by code
from the measured values), or be declared in the markdown cell's metadata as a
published or definitional figure, with its source:

    "metadata": {"figures": {"12,730": "the article's section 5.4 table"}}

Exit status 1 lists every undeclared number with its cell index and its sentence.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FIGURES_KEY = "figures"  # markdown cell metadata: {figure as written: its source}
_NUM = r"\d+(?:\.\d+)?"
# Order matters: the first alternative that matches at a position wins.
MEASURED = re.compile(
    r"(?<![\w.,])(?:"
    r"(?P<sep>\d{1,3}(?:,\d{3})+(?:\.\d+)?)"      # 12,730
    r"|(?P<pct>" + _NUM + r")\s?%"                # 8%, 1.58 %
    r"|(?P<ratio>" + _NUM + r")\s?[×x](?![\w])"   # 2.9×, 4x
    r"|(?P<dec>\d+\.\d+)(?![\d.])"                # 0.97 (not 4.2.1)
    r")")
# Stripped before scanning: display and inline LaTeX, fenced and inline code, link targets.
HIDDEN = [re.compile(p, re.DOTALL) for p in (
    r"```.*?```", r"\$\$.*?\$\$", r"\$[^$]+?\$", r"`[^`\n]+`", r"\]\([^)]*\)",
    r"<[^>\n]+>")]
# A number right after one of these words names a section, formula, version or date.
REFERENCE_WORDS = re.compile(
    r"(?:sections?|formulas?|equations?|eqs?\.|§|chapter|version|v|python|keras|tf|"
    r"tensorflow|litert|table|figure|step|listing|arxiv:?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One number in markdown that no output of the notebook shows."""

    cell: int
    figure: str
    sentence: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.figure!r} in “{self.sentence}”"


def visible_text(markdown: str) -> str:
    """The markdown with LaTeX, code and link targets blanked out (positions kept)."""
    for pattern in HIDDEN:
        markdown = pattern.sub(lambda m: " " * len(m.group(0)), markdown)
    return markdown


def measured_numbers(markdown: str) -> list[tuple[str, str, int]]:
    """(figure as written, its number, position) for each number that looks measured."""
    text = visible_text(markdown)
    found = []
    for match in MEASURED.finditer(text):
        if REFERENCE_WORDS.search(text[max(0, match.start() - 12):match.start()]):
            continue
        kind = match.lastgroup
        found.append((match.group(0), match.group(kind), match.start()))
    return found


def output_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's code cells show: streams, plain text, markdown, HTML."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime in ("text/plain", "text/markdown", "text/html"):
                value = out.get("data", {}).get(mime)
                if value:
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def shown(number: str, outputs: str, percent: bool) -> bool:
    """Whether the number appears in the outputs as a whole number (and with % if one)."""
    unit = r"\s?%" if percent and "." not in number else ""
    pattern = r"(?<![\d.])" + re.escape(number) + r"(?![\d])" + unit
    return re.search(pattern, outputs) is not None


def sentence_at(text: str, pos: int) -> str:
    """The sentence around a position, on one line, shortened."""
    start = max(text.rfind(". ", 0, pos), text.rfind("\n", 0, pos)) + 1
    end = min(i for i in (text.find(". ", pos), text.find("\n", pos), len(text)) if i >= 0)
    return " ".join(text[start:end].split())[:160]


def check_notebook(nb: nbformat.NotebookNode) -> list[Finding]:
    """Every undeclared measured-looking number in the notebook's markdown cells."""
    outputs = output_text(nb)
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        declared = cell.metadata.get(FIGURES_KEY, {})
        for figure, number, pos in measured_numbers(cell.source):
            if figure in declared or number in declared:
                continue
            if not shown(number, outputs, percent=figure.endswith("%")):
                findings.append(Finding(index, figure, sentence_at(cell.source, pos)))
    return findings


def stale_declarations(nb: nbformat.NotebookNode) -> list[str]:
    """Declared figures that their cell no longer contains, or that name no source."""
    problems = []
    for index, cell in enumerate(nb.cells):
        for figure, source in cell.metadata.get(FIGURES_KEY, {}).items():
            if figure not in cell.source:
                problems.append(f"cell {index}: declares {figure!r}, which it does not contain")
            if not str(source).strip():
                problems.append(f"cell {index}: {figure!r} is declared without a source")
    return problems


def main(paths: list[str]) -> int:
    """Print every finding of the given notebooks (all stored ones by default)."""
    notebooks = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    failed = False
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        problems = [str(f) for f in check_notebook(nb)] + stale_declarations(nb)
        for problem in problems:
            print(f"{path.name} {problem}")
        failed = failed or bool(problems)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
