"""The notebooks' prose matches their outputs: tools/check_prose.py on every stored notebook."""

import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import check_prose  # noqa: E402

NOTEBOOKS = sorted((check_prose.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# Words a student-facing notebook does not use: the workbook's planning is not its content.
PLANNING = re.compile(r"\b(issues?\b(?! with)|pre-?registered|registration)", re.IGNORECASE)


def _notebook(markdown: str, output: str = "", figures: dict | None = None):
    """A two-cell notebook: one markdown cell, one code cell printing `output`."""
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell(markdown)
    if figures is not None:
        md.metadata[check_prose.FIGURES_KEY] = figures
    code = nbformat.v4.new_code_cell("print(...)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    nb.cells = [md, code]
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_measured_number_in_markdown_is_shown_or_declared(path):
    nb = nbformat.read(path, as_version=4)
    findings = [str(f) for f in check_prose.check_notebook(nb)]
    assert not findings, "numbers in markdown that no output shows:\n" + "\n".join(findings)
    assert not check_prose.stale_declarations(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_speaks_to_students(path):
    nb = nbformat.read(path, as_version=4)
    hits = [(i, m.group(0)) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
            for m in PLANNING.finditer(c.source)]
    assert not hits, f"planning words in markdown cells: {hits}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_planted_wrong_number_fails(path):
    nb = nbformat.read(path, as_version=4)
    planted = {"97.3141%", "8,191,017", "3.1937×"}  # more digits than any output prints
    assert not any(f in str(cell.get("outputs", "")) for f in planted for cell in nb.cells)
    text = "Pruning keeps 97.3141% accuracy at 8,191,017 weights, 3.1937× faster."
    nb.cells.insert(len(nb.cells) - 1, nbformat.v4.new_markdown_cell(text))
    assert planted <= {f.figure for f in check_prose.check_notebook(nb)}


@pytest.mark.parametrize(("text", "figures"), [
    ("accuracy 98.21% on 10,000 images, 2.9× smaller, loss 0.0712", ["98.21%", "10,000", "2.9×",
                                                                      "0.0712"]),
    ("kept 8 % of the weights; 4x faster", ["8 %", "4x"]),
    ("formula 4.2.3, section 5.2, Keras 3.15, TF 2.21", []),
    ("$p = 0.97$ and `lr=0.001` and ```\n0.5\n``` and [arXiv](https://x.org/1503.02531)", []),
    ("3 epochs, 128 units, layer 2", []),
])
def test_what_counts_as_a_measured_number(text, figures):
    assert [f for f, _, _ in check_prose.measured_numbers(text)] == figures


def test_a_number_in_an_output_or_declared_passes():
    assert not check_prose.check_notebook(_notebook("error 1.58%", "test error 1.58 %\n"))
    assert not check_prose.check_notebook(_notebook("error 1.6%", figures={"1.6%": "Han 2015"}))
    assert [f.figure for f in check_prose.check_notebook(_notebook("error 1.6%", "1.58%"))] == [
        "1.6%"]  # a rounded number is not the printed one


def test_a_number_must_appear_whole_and_a_percentage_as_one():
    assert check_prose.check_notebook(_notebook("0.5 of it", "0.58"))  # not a prefix of 0.58
    assert check_prose.check_notebook(_notebook("8% kept", "8 layers"))  # 8 is not 8%
    assert not check_prose.check_notebook(_notebook("8% kept", "kept 8 %"))


def test_stale_or_unsourced_declarations_are_reported():
    nb = _notebook("error 1.6%", figures={"1.6%": " ", "2.5%": "Han 2015"})
    problems = check_prose.stale_declarations(nb)
    assert len(problems) == 2 and "without a source" in problems[0] and "2.5%" in problems[1]
