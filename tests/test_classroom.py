"""Classroom tooling (tools/classroom.py): nbgrader metadata, student editions, grading.

Fast tests first; the ones that execute notebooks are marked `classroom` (select them with
`pytest -m classroom`, skip them with `-m "not classroom"`).
"""

import ast
import copy
import csv
import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import classroom  # noqa: E402

FOLDER = classroom.NOTEBOOKS
NOTEBOOKS = classroom.instructor_notebooks(FOLDER)
WRONG_DIR = Path(__file__).resolve().parent / "wrong_answers"
GRADED = "01"  # the notebook graded in test_grading_*: the fastest in the quick profile
# Numbers of a check's asserts that may appear in a student's outputs (they are inputs of the
# exercise, not its answer), per notebook. Filled in when a false positive is found.
NOT_ANSWERS: dict[str, set[str]] = {}
MIN_EXERCISES, MIN_WRITTEN = 5, 1


def _name(path: Path) -> str:
    return path.name


def _nb(name: str) -> nbformat.NotebookNode:
    return classroom.read(FOLDER / name)


def _tiny(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(source: str, **metadata) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata=metadata)


SOLUTION = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
CHECK = 'assert f(2) == 4, "Exercise 1: f doubles"'


# ---------------------------------------------------------------- fast: conventions and sync

@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_metadata_in_sync(path):
    """The committed nbgrader metadata is exactly what `classroom.py sync` derives."""
    nb = classroom.read(path)
    mismatches = classroom.metadata_mismatches(nb, path.name)
    assert not mismatches, "run `python tools/classroom.py sync`:\n" + "\n".join(mismatches)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_enough_exercises(path):
    found = classroom.exercises(classroom.read(path), path.name)
    written = [ex for ex in found if ex.kind == "written"]
    assert len(found) >= MIN_EXERCISES and len(written) >= MIN_WRITTEN, \
        f"{path.name}: {len(found)} exercises, {len(written)} written"


@pytest.mark.parametrize(("cells", "error"), [
    ([_code("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n### BEGIN SOLUTION\nz = 3\n"
            "### END SOLUTION"), _code(CHECK)], "2 solution regions"),
    ([nbformat.v4.new_markdown_cell("Write `### BEGIN SOLUTION` here")], "outside a code"),
    ([_code("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x"), _code(CHECK)],
     "without END"),
    ([_code(SOLUTION), nbformat.v4.new_markdown_cell("text"), _code(CHECK)],
     "without a check cell"),
    ([_code("x = 1  ### BEGIN SOLUTION\n### END SOLUTION"), _code(CHECK)], "alone on its line"),
    ([_code("x = 1", tags=["answer"])], "only markdown cells"),
])
def test_sync_refuses_broken_conventions(cells, error):
    with pytest.raises(classroom.ClassroomError, match=error) as info:
        classroom.derived_metadata(_tiny(nbformat.v4.new_markdown_cell("# t"), *cells), "99_t")
    assert "99_t, cell 1" in str(info.value)  # names notebook and cell


def test_sync_writes_metadata_and_is_idempotent(tmp_path):
    answer = nbformat.v4.new_markdown_cell("Because.", metadata={"tags": ["answer"]})
    stale = _code("print(1)", nbgrader={"grade_id": "old", "grade": False, "solution": False,
                                        "locked": True, "schema_version": 3})
    path = tmp_path / "99_t.ipynb"
    nbformat.write(_tiny(stale, _code(SOLUTION), _code(CHECK), _code(CHECK), answer), path)
    assert classroom.sync(path)
    text = path.read_text()
    assert not classroom.sync(path) and path.read_text() == text
    meta = [c.metadata.get("nbgrader", {}).get("grade_id") for c in classroom.read(path).cells]
    assert meta == [None, "ex1", "ex1-check1", "ex1-check2", "ex2"]


def test_student_stub_keeps_indentation_and_the_rest():
    source = "import numpy\n\ndef f(x):\n    y = x\n    ### BEGIN SOLUTION\n    return 2 * y\n" \
             "    ### END SOLUTION\n\nz = 1"
    assert classroom.stub_region(source) == \
        "import numpy\n\ndef f(x):\n    y = x\n    raise NotImplementedError()\n\nz = 1"


def test_restore_checks_replaces_reinserts_and_demotes():
    instructor = _tiny(_code(SOLUTION), _code(CHECK), _code("assert True"))
    student = classroom.student_edition(instructor, "99_t")
    edited = copy.deepcopy(student)
    edited.cells[1].source = "pass"  # edited check
    edited.cells.append(copy.deepcopy(edited.cells[1]))  # a copy of a check cell
    del edited.cells[2]  # a deleted check
    restored = classroom.restore_checks(edited, instructor, "99_t")
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells]
    assert ids == ["ex1", "ex1-check1", "ex1-check2", None]
    assert [c.source for c in restored.cells[1:3]] == [CHECK, "assert True"]


def test_instructor_for_and_bad_invocations(tmp_path, capsys):
    assert classroom.instructor_for(Path(f"x/{NOTEBOOKS[0].name}"), FOLDER) == NOTEBOOKS[0]
    with pytest.raises(classroom.ClassroomError, match="no single instructor notebook"):
        classroom.instructor_for(Path("homework.ipynb"), FOLDER)
    assert classroom.main(["grade", str(tmp_path / "missing.ipynb")]) == 2
    assert classroom.main(["grade", str(tmp_path)]) == 2  # a folder without notebooks
    assert "no such file" in capsys.readouterr().err
    broken = tmp_path / NOTEBOOKS[0].name
    broken.write_text("{not json")
    assert classroom.main(["grade", str(broken)]) == 1  # reported, not graded
    assert "not a readable notebook" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        classroom.main(["grade"])
    assert info.value.code != 0


# ---------------------------------------------------------------- fast: student editions

def _region_lines(nb: nbformat.NotebookNode, name: str) -> tuple[Counter, Counter]:
    """Stripped lines of solutions and answers, and of every other cell, counted."""
    hidden, shown = Counter(), Counter()
    spans = {ex.cell: ex for ex in classroom.exercises(nb, name)}
    for i, cell in enumerate(nb.cells):
        lines = cell.source.split("\n")
        inside = set()
        if i in spans and spans[i].kind == "code":
            (begin, end), = classroom.solution_regions(cell.source, name)
            inside = set(range(begin, end + 1))
        elif i in spans:
            inside = set(range(len(lines)))
        for j, line in enumerate(lines):
            if line.strip():
                (hidden if j in inside else shown)[line.strip()] += 1
    return hidden, shown


def _output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/markdown", "")]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _significant_digits(value: float) -> int:
    return len(f"{abs(value):.12g}".split("e")[0].replace(".", "").strip("0"))


def _answer_numbers(source: str) -> set[str]:
    """Distinctive numbers compared against in a check's asserts, as they could be printed.

    Ints of four or more digits that are neither multiples of ten nor powers of two, floats
    with three or more significant digits; not margins (a factor such as `1.01 * x`).
    """
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assert):
            continue
        margins = {id(side) for op in ast.walk(node.test) if isinstance(op, ast.BinOp)
                   and isinstance(op.op, ast.Mult | ast.Div) for side in (op.left, op.right)}
        for const in ast.walk(node.test):
            value = getattr(const, "value", None)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or id(const) in margins:
                continue
            if isinstance(value, int) and abs(value) >= 1000 and value % 10 \
                    and abs(value) & (abs(value) - 1):  # not a power of two
                found |= {str(value), f"{value:,}"}
            elif isinstance(value, float) and _significant_digits(value) >= 3:
                found |= {f"{value:.{d}f}" for d in (2, 3, 4)} | {repr(value)}
    return {f for f in found if len(f.strip("-0.")) >= 3}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_student_edition_hides_solutions(path):
    nb = classroom.read(path)
    student = classroom.student_edition(nb, path.name)
    hidden, shown = _region_lines(nb, path.name)
    in_student = Counter(line.strip() for c in student.cells
                         for line in c.source.split("\n") if line.strip())
    leaked = [line for line in hidden if in_student[line] > shown[line]]
    assert not leaked, f"solution or answer lines in the student edition: {leaked}"
    markers = [c.source for c in student.cells if classroom.BEGIN in c.source
               or classroom.END in c.source]
    assert not markers
    found = classroom.exercises(nb, path.name)
    for ex in found:
        for i in (ex.cell, *ex.checks):
            assert not student.cells[i].get("outputs"), f"cell {i} keeps its outputs"
    numbers = {n for ex in found for i in ex.checks
               for n in _answer_numbers(nb.cells[i].source)}
    numbers -= NOT_ANSWERS.get(path.name[:2], set())
    outputs = "\n".join(_output_text(c) for c in student.cells)
    shown_numbers = [n for n in numbers
                     if re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", outputs)]
    assert not shown_numbers, f"outputs show numbers the checks compare against: {shown_numbers}"


def test_make_student_writes_every_notebook(tmp_path):
    written = classroom.write_students(tmp_path, FOLDER)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for path in written:
        nbformat.validate(nbformat.read(path, as_version=4))


# ---------------------------------------------------------------- nbgrader (teach extra)

def test_nbgrader_accepts_the_metadata():
    validator = pytest.importorskip("nbgrader.nbgraderformat").MetadataValidator()
    for path in NOTEBOOKS:
        validator.validate_nb(classroom.read(path))


def _by_grade_id(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if "nbgrader" in c.metadata}


def test_nbgrader_generates_the_same_student_cells(tmp_path):
    pytest.importorskip("nbgrader")
    root, course = tmp_path / "course", "workbook"
    (root / "source" / course).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.course_id = {course!r}\n"
        f"c.ClearSolutions.code_stub = {{'python': {classroom.CODE_STUB!r}}}\n")
    for path in NOTEBOOKS:
        (root / "source" / course / path.name).write_bytes(path.read_bytes())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", course,
                          "--force"], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)  # nbgrader runs `alembic` from PATH: this venv's
    assert run.returncode == 0, run.stdout + run.stderr
    for path in NOTEBOOKS:
        released = classroom.read(root / "release" / course / path.name)
        ours = classroom.student_edition(classroom.read(path), path.name)
        assert _by_grade_id(released) == _by_grade_id(ours), path.name


# ---------------------------------------------------------------- slow: executing notebooks

def test_grading_kernel_is_this_interpreter(tmp_path):
    nb = _tiny(_code("import os, sys\nprint(sys.executable)\n"
                     "print(os.environ['COMPRESS_PROFILE'], os.environ['COMPRESS_RESULTS_DIR'])"))
    assert classroom.execute(nb, tmp_path) == ""
    executable, env = nb.cells[0].outputs[0].text.split("\n")[:2]
    assert executable == sys.executable
    profile, results_dir = env.split(" ")
    assert profile == "quick" and Path(results_dir).name == "results"
    assert not Path(results_dir).exists()  # a temporary folder, removed after the run


def test_a_hung_cell_fails_and_the_run_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(classroom, "CELL_TIMEOUT_S", 1)
    nb = _tiny(_code("import time\ntime.sleep(30)"),  # interrupted after the timeout
               _code("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                     "time.sleep(4)"),  # ignores the interrupt: failed by the timeout alone
               _code("print('next')"))
    assert classroom.execute(nb, tmp_path) == ""
    assert [classroom.check_result(c, "") for c in nb.cells] == \
        ["KeyboardInterrupt", f"CellTimeoutError: {classroom.TIMEOUT_ERROR['evalue']}", None]


@pytest.mark.classroom
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_student_edition_fails_every_check(path, tmp_path):
    submission = tmp_path / path.name
    classroom.write(classroom.student_edition(classroom.read(path), path.name), submission)
    rows = classroom.grade(submission, FOLDER)
    found = classroom.exercises(classroom.read(path), path.name)
    assert [r.exercise for r in rows] == [ex.grade_id for ex in found]
    passing = [r for r in rows if r.kind == "code" and (r.earned or r.status != "failed")]
    assert not passing, f"checks that pass without a solution: {passing}"
    text = classroom.report(rows)
    assert all(re.search(rf"^  {ex.grade_id} ", text, re.MULTILINE) for ex in found)
    assert all(r.status == "graded by hand" for r in rows if r.kind == "written")


def _wrong_answers(path: Path) -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("wrong", WRONG_DIR / f"{path.name[:2]}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


def _with_region(source: str, body: str) -> str:
    """A solution cell with the lines between its markers replaced by body (indented)."""
    lines = source.split("\n")
    (begin, end), = classroom.solution_regions(source, "solution cell")
    indent = re.match(r"\s*", lines[begin]).group(0)
    new = [indent + line if line.strip() else "" for line in body.strip("\n").split("\n")]
    return "\n".join(lines[:begin + 1] + new + lines[end:])


@pytest.mark.classroom
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_wrong_answers_fail_their_checks(path, tmp_path):
    nb = classroom.read(path)
    code = [ex for ex in classroom.exercises(nb, path.name) if ex.kind == "code"]
    wrong = _wrong_answers(path)
    assert sorted(wrong) == sorted(ex.grade_id for ex in code), \
        "tests/wrong_answers must hold one wrong answer per code exercise, and only those"
    for ex in code:
        nb.cells[ex.cell].source = _with_region(nb.cells[ex.cell].source, wrong[ex.grade_id])
    classroom.write(nb, tmp_path / path.name)
    executed, _, _, died = classroom.run_submission(tmp_path / path.name, FOLDER)
    assert not died
    results = {classroom._grade_id(c): classroom.check_result(c, died) for c in executed.cells}
    for ex in code:
        for j in range(1, len(ex.checks) + 1):
            message = results[ex.check_id(j)]
            assert message is not None, f"{ex.check_id(j)} passes with the wrong answer"
            assert re.match(rf"Exercise {ex.number}\b", message), \
                f"{ex.check_id(j)} fails without naming Exercise {ex.number}: {message}"


def _graded_path() -> Path:
    return next(p for p in NOTEBOOKS if p.name.startswith(GRADED))


def _one_solved() -> tuple[nbformat.NotebookNode, list]:
    path = _graded_path()
    nb = classroom.read(path)
    found = classroom.exercises(nb, path.name)
    student = classroom.student_edition(nb, path.name)
    first = next(ex for ex in found if ex.kind == "code")
    student.cells[first.cell].source = nb.cells[first.cell].source  # the instructor's solution
    return student, found


@pytest.mark.classroom
def test_grading_one_solved_exercise(tmp_path, capsys):
    student, found = _one_solved()
    submission = tmp_path / _graded_path().name
    classroom.write(student, submission)
    assert classroom.main(["grade", str(submission), "--csv", str(tmp_path / "g.csv")]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    code = [ex for ex in found if ex.kind == "code"]
    assert lines[-2] == f"1 passed, {len(code) - 1} failed", lines
    with (tmp_path / "g.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    passed = [r["exercise"] for r in rows if r["status"] == "passed"]
    assert passed == [code[0].grade_id]
    assert len(rows) == len(found)


@pytest.mark.classroom
def test_grading_restores_edited_and_deleted_checks(tmp_path):
    student, found = _one_solved()
    path = tmp_path / _graded_path().name
    classroom.write(student, path)
    honest = classroom.grade(path, FOLDER)
    for ex in found:
        for i in ex.checks:
            student.cells[i].source = "pass"
    last = [ex for ex in found if ex.kind == "code"][-1]
    del student.cells[last.checks[0]]  # a deleted check cell is restored too
    classroom.write(student, path)
    assert classroom.grade(path, FOLDER) == honest
