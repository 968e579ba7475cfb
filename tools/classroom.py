"""Student editions and automatic grading of the exercises, compatible with nbgrader.

    python tools/classroom.py sync [notebooks...]            # write nbgrader metadata
    python tools/classroom.py student [--out build/student]  # student editions
    python tools/classroom.py grade SUBMISSION [...] [--csv grades.csv]

An exercise is a code cell with one `### BEGIN SOLUTION` ... `### END SOLUTION` region
(its check cells are the code cells after it, up to the next markdown or solution cell;
one point each) or a markdown cell tagged `answer` (a written answer, graded by hand).
Exercises are numbered in order of appearance: grade_id `exK`, checks `exK-checkJ`.
`sync` writes nbgrader's schema-3 metadata for them into the instructor notebooks; a test
keeps it in sync. `grade` restores every check cell from the instructor notebook (so an
edited check cannot pass), runs the submission in this environment's Python in the quick
profile with its tables written to a temporary folder, and reports points per exercise.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from run_notebooks import environment  # tools/run_notebooks.py, beside this file

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STUDENT_DIR = ROOT / "build" / "student"
BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"  # nbgrader's markers (any line containing them)
ANSWER_TAG = "answer"
CODE_STUB = "raise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"  # nbgrader's default text stub
ANSWER_POINTS = 2
CELL_TIMEOUT_S = 300
KERNEL_NAME = "compress-classroom"  # a kernelspec made on the fly for sys.executable
TIMEOUT_ERROR = {"ename": "CellTimeoutError", "evalue": f"the cell ran over {CELL_TIMEOUT_S} s",
                 "traceback": []}
PROFILE_ENV, RESULTS_ENV = "COMPRESS_PROFILE", "COMPRESS_RESULTS_DIR"


class ClassroomError(Exception):
    """A notebook breaks the exercise conventions; the message names notebook and cell."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number, kind ("code" or "written"), cell index and check cells."""

    number: int
    kind: str
    cell: int
    checks: tuple[int, ...] = ()

    @property
    def grade_id(self) -> str:
        """nbgrader's grade_id of the solution or answer cell."""
        return f"ex{self.number}"

    def check_id(self, j: int) -> str:
        """grade_id of the j-th check cell (1-based)."""
        return f"{self.grade_id}-check{j}"


# ---------------------------------------------------------------- markers and exercises

def solution_regions(source: str, where: str) -> list[tuple[int, int]]:
    """(BEGIN line, END line) index pairs of a cell's regions; refuses malformed ones."""
    regions, start = [], None
    for i, line in enumerate(source.split("\n")):
        if BEGIN in line or END in line:
            if line.strip() not in (f"### {BEGIN}", f"### {END}"):
                raise ClassroomError(f"{where}: a marker must be alone on its line: {line!r}")
            if BEGIN in line:
                if start is not None:
                    raise ClassroomError(f"{where}: nested {BEGIN} (line {i + 1})")
                start = i
            elif start is None:
                raise ClassroomError(f"{where}: {END} without {BEGIN} (line {i + 1})")
            else:
                regions.append((start, i))
                start = None
    if start is not None:
        raise ClassroomError(f"{where}: region without {END} (opened on line {start + 1})")
    return regions


def _where(name: str, index: int, cell: nbformat.NotebookNode) -> str:
    """How an error names a cell: notebook, index and first line."""
    first = cell.source.strip().split("\n")[0][:60]
    return f"{name}, cell {index} ({cell.cell_type}: {first!r})"


def _is_solution(cell: nbformat.NotebookNode, name: str, index: int) -> bool:
    """Whether a cell is a solution cell (one region); refuses markers out of place."""
    where = _where(name, index, cell)
    has_marker = BEGIN in cell.source or END in cell.source
    if cell.cell_type != "code":
        if has_marker:
            raise ClassroomError(f"{where}: solution markers outside a code cell")
        return False
    regions = solution_regions(cell.source, where)
    if len(regions) > 1:
        raise ClassroomError(f"{where}: {len(regions)} solution regions (one per cell)")
    return bool(regions)


def _is_answer(cell: nbformat.NotebookNode, name: str, index: int) -> bool:
    """Whether a cell is a written-answer cell (markdown tagged `answer`)."""
    if ANSWER_TAG not in cell.metadata.get("tags", []):
        return False
    if cell.cell_type != "markdown":
        raise ClassroomError(f"{_where(name, index, cell)}: tag {ANSWER_TAG!r} on a "
                             f"{cell.cell_type} cell (only markdown cells are answers)")
    return True


def exercises(nb: nbformat.NotebookNode, name: str) -> list[Exercise]:
    """The notebook's exercises in order; ClassroomError on a convention broken."""
    found: list[Exercise] = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if _is_answer(cell, name, i):
            found.append(Exercise(len(found) + 1, "written", i))
        elif _is_solution(cell, name, i):
            checks = []
            for j in range(i + 1, len(cells)):
                if cells[j].cell_type != "code" or BEGIN in cells[j].source:
                    break
                checks.append(j)
            if not checks:
                raise ClassroomError(f"{_where(name, i, cell)}: solution cell without a "
                                     "check cell (a code cell right after it)")
            found.append(Exercise(len(found) + 1, "code", i, tuple(checks)))
    return found


def derived_metadata(nb: nbformat.NotebookNode, name: str) -> dict[int, dict]:
    """nbgrader schema-3 metadata of every exercise cell, by cell index."""
    meta: dict[int, dict] = {}
    for ex in exercises(nb, name):
        if ex.kind == "written":
            meta[ex.cell] = {"solution": True, "grade": True, "locked": False,
                             "points": ANSWER_POINTS, "grade_id": ex.grade_id,
                             "schema_version": 3}
            continue
        meta[ex.cell] = {"solution": True, "grade": False, "locked": False,
                         "grade_id": ex.grade_id, "schema_version": 3}
        for j, index in enumerate(ex.checks, 1):
            meta[index] = {"grade": True, "solution": False, "locked": True, "points": 1,
                           "grade_id": ex.check_id(j), "schema_version": 3}
    return meta


def metadata_mismatches(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """Cells whose committed nbgrader metadata differs from what the markers derive."""
    meta = derived_metadata(nb, name)
    return [f"{name}, cell {i}: has {cell.metadata.get('nbgrader')}, derived {meta.get(i)}"
            for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader") != meta.get(i)]


# ---------------------------------------------------------------- sync and student editions

def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook (format 4)."""
    return nbformat.read(path, as_version=4)


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook the way tools/run_notebooks.py does, replacing it atomically."""
    text = nbformat.writes(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.classroom.tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def sync(path: Path) -> bool:
    """Write the derived nbgrader metadata into a notebook; whether anything changed."""
    nb = read(path)
    if not metadata_mismatches(nb, path.name):
        return False
    meta = derived_metadata(nb, path.name)
    for i, cell in enumerate(nb.cells):
        if i in meta:
            cell.metadata["nbgrader"] = meta[i]
        else:
            cell.metadata.pop("nbgrader", None)
    write(nb, path)
    return True


def stub_region(source: str) -> str:
    """A solution cell's source with its region replaced by the stub, as nbgrader does."""
    lines = source.split("\n")
    (begin, end), = solution_regions(source, "solution cell")
    indent = re.match(r"\s*", lines[begin]).group(0)
    return "\n".join(lines[:begin] + [indent + CODE_STUB] + lines[end + 1:])


def _clear(cell: nbformat.NotebookNode) -> None:
    """Remove a code cell's outputs and execution count."""
    cell.outputs, cell.execution_count = [], None


def student_edition(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student's copy: stubs for solutions and answers, checks locked, their outputs gone."""
    out = copy.deepcopy(nb)
    meta = derived_metadata(nb, name)
    for ex in exercises(nb, name):
        cell = out.cells[ex.cell]
        if ex.kind == "written":
            cell.source = TEXT_STUB
        else:
            cell.source = stub_region(cell.source)
            _clear(cell)
        cell.metadata["deletable"] = False
        for index in ex.checks:
            _clear(out.cells[index])
            out.cells[index].metadata.update(editable=False, deletable=False)
    for i, cell_meta in meta.items():
        out.cells[i].metadata["nbgrader"] = dict(cell_meta)
    return out


def instructor_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The instructor notebooks NN_*.ipynb of a folder."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def write_students(out_dir: Path, folder: Path = NOTEBOOKS) -> list[Path]:
    """Write every notebook's student edition into out_dir; their paths."""
    written = []
    for path in instructor_notebooks(folder):
        write(student_edition(read(path), path.name), out_dir / path.name)
        written.append(out_dir / path.name)
    return written


# ---------------------------------------------------------------- grading

@dataclass(frozen=True)
class Row:
    """One exercise of one graded submission."""

    submission: str
    exercise: str
    kind: str
    earned: int | None  # None: graded by hand
    possible: int
    status: str  # passed, partial, failed, graded by hand
    message: str = ""


def instructor_for(submission: Path, folder: Path = NOTEBOOKS) -> Path:
    """The instructor notebook of a submission, matched by its file name's NN_ prefix."""
    match = re.match(r"(\d\d)_", submission.name)
    found = sorted(folder.glob(f"{match.group(1)}_*.ipynb")) if match else []
    if len(found) != 1:
        raise ClassroomError(f"{submission}: no single instructor notebook NN_*.ipynb in "
                             f"{folder} matches its name (found {[p.name for p in found]})")
    return found[0]


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    """The cell's nbgrader grade_id, if any."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _fresh_check(cell: nbformat.NotebookNode, meta: dict) -> nbformat.NotebookNode:
    """A new code cell with an instructor check cell's source and its nbgrader metadata."""
    return nbformat.v4.new_code_cell(cell.source, metadata={"nbgrader": dict(meta)})


def restore_checks(submission: nbformat.NotebookNode, instructor: nbformat.NotebookNode,
                   name: str) -> nbformat.NotebookNode:
    """The submission with every check cell replaced (or re-inserted) from the instructor's."""
    out = copy.deepcopy(submission)
    meta = derived_metadata(instructor, name)  # by cell index, in the instructor's order
    checks = {m["grade_id"]: (instructor.cells[i], m) for i, m in sorted(meta.items())
              if m["grade"] and not m["solution"]}
    seen: set[str] = set()
    for i, cell in enumerate(out.cells):
        grade_id = _grade_id(cell)
        if grade_id in checks and grade_id not in seen:
            out.cells[i] = _fresh_check(*checks[grade_id])
            seen.add(grade_id)
        elif grade_id in checks:  # a copy of a check cell: no longer graded
            del cell.metadata["nbgrader"]
    previous = None
    for _, m in sorted(meta.items()):
        if m["grade_id"] in checks and m["grade_id"] not in seen:
            ids = [_grade_id(c) for c in out.cells]
            at = ids.index(previous) + 1 if previous in ids else len(out.cells)
            out.cells.insert(at, _fresh_check(*checks[m["grade_id"]]))
        previous = m["grade_id"]
    return out


def inject_profile(nb: nbformat.NotebookNode, profile: str = "quick") -> None:
    """Insert `PROFILE = ...` after the `parameters` cell, as papermill does."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    cell = nbformat.v4.new_code_cell(f"PROFILE = {profile!r}",
                                     metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(tagged[0] + 1 if tagged else 0, cell)


def _kernelspec(folder: Path) -> str:
    """Write a kernelspec for this very interpreter under folder; the JUPYTER_PATH entry."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "compress_lib (grading)", "language": "python"}))
    return str(folder)


def _record_failure(cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict) -> None:
    """Give a cell whose reply is an error (a timeout, say) an error output if it has none."""
    content = (execute_reply or {}).get("content", {})
    if content.get("status") == "error" and \
            not any(out.output_type == "error" for out in cell.get("outputs", [])):
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename=content.get("ename", "Error"), evalue=content.get("evalue", ""),
            traceback=[]))


def execute(nb: nbformat.NotebookNode, cwd: Path) -> str:
    """Run a notebook in place (quick profile, this interpreter, errors allowed).

    Returns "" or, if the kernel died, why: the cells after that stay unexecuted.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        paths = os.pathsep.join(filter(None, [_kernelspec(Path(tmp) / "jupyter"),
                                              os.environ.get("JUPYTER_PATH")]))
        env = {PROFILE_ENV: "quick", RESULTS_ENV: str(Path(tmp) / "results"),
               "JUPYTER_PATH": paths, "TF_CPP_MIN_LOG_LEVEL": "2",
               "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}
        client = NotebookClient(  # a cell over the timeout is interrupted, fails, run goes on
            nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL_NAME, allow_errors=True,
            interrupt_on_timeout=True, error_on_timeout=TIMEOUT_ERROR, startup_timeout=120,
            shutdown_kernel="immediate", on_cell_executed=_record_failure,
            resources={"metadata": {"path": str(cwd)}})
        with environment(**env):
            try:
                client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines
            except DeadKernelError as exc:
                return f"the kernel died: {exc}"
    return ""


def check_result(cell: nbformat.NotebookNode | None, died: str) -> str | None:
    """None if a check cell passed, else why it failed (first line of the message)."""
    if cell is None or cell.get("execution_count") is None:
        return died or "not run"
    for out in cell.outputs:
        if out.output_type == "error":
            first = (out.evalue or "").strip().split("\n")[0]
            return first if out.ename == "AssertionError" and first else \
                (f"{out.ename}: {first}" if first else out.ename)
    return None


def score(executed: nbformat.NotebookNode, instructor: nbformat.NotebookNode, name: str,
          submission: str, died: str = "") -> list[Row]:
    """One row per exercise: points earned, status and the first failing check's message."""
    cells: dict[str | None, nbformat.NotebookNode] = {}
    for cell in executed.cells:
        cells.setdefault(_grade_id(cell), cell)
    rows = []
    for ex in exercises(instructor, name):
        if ex.kind == "written":
            rows.append(Row(submission, ex.grade_id, ex.kind, None, ANSWER_POINTS,
                            "graded by hand"))
            continue
        fails = [check_result(cells.get(ex.check_id(j)), died)
                 for j in range(1, len(ex.checks) + 1)]
        earned = sum(f is None for f in fails)
        status = "passed" if earned == len(fails) else "partial" if earned else "failed"
        message = next((f for f in fails if f is not None), "")
        rows.append(Row(submission, ex.grade_id, ex.kind, earned, len(fails), status, message))
    return rows


def run_submission(submission: Path, folder: Path = NOTEBOOKS
                   ) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode, str, str]:
    """Restore a submission's checks and run it: (executed, instructor, its name, died)."""
    instructor_path = instructor_for(submission, folder)
    instructor = read(instructor_path)
    try:
        submitted = read(submission)
    except Exception as exc:  # not JSON, not a notebook: nbformat raises several kinds
        raise ClassroomError(f"{submission}: not a readable notebook: "
                             f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    nb = restore_checks(submitted, instructor, instructor_path.name)
    inject_profile(nb)
    died = execute(nb, instructor_path.parent)
    return nb, instructor, instructor_path.name, died


def grade(submission: Path, folder: Path = NOTEBOOKS) -> list[Row]:
    """Grade one submission: restore its checks, run it, score every exercise."""
    executed, instructor, name, died = run_submission(submission, folder)
    return score(executed, instructor, name, str(submission), died)


def report(rows: list[Row]) -> str:
    """The per-exercise report of one submission, ending with `N passed, N failed`."""
    lines = [f"{rows[0].submission}" if rows else "(no exercises)"]
    for r in rows:
        points = "-" if r.earned is None else r.earned
        message = f"  {r.message}" if r.message else ""
        lines.append(f"  {r.exercise:<5} {points}/{r.possible}  {r.status}{message}")
    code = [r for r in rows if r.kind == "code"]
    passed = sum(r.status == "passed" for r in code)
    lines.append(f"{passed} passed, {len(code) - passed} failed")
    return "\n".join(lines)


def write_csv(rows: list[Row], path: Path) -> None:
    """One CSV row per submission x exercise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "exercise", "kind", "earned", "possible", "status",
                         "message"])
        for r in rows:
            writer.writerow([r.submission, r.exercise, r.kind, "" if r.earned is None
                             else r.earned, r.possible, r.status, r.message])


# ---------------------------------------------------------------- command line

def submissions(paths: list[Path]) -> Iterator[Path]:
    """The submissions named: files as given, folders as every *.ipynb in them."""
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.ipynb"))
            if not found:
                raise ClassroomError(f"{path}: no *.ipynb in this folder")
            yield from found
        elif path.is_file():
            yield path
        else:
            raise ClassroomError(f"{path}: no such file or folder")


def _parser() -> argparse.ArgumentParser:
    """The command-line parser with its three subcommands."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                        help="folder of the instructor notebooks (default: notebooks/)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sync", help="write nbgrader metadata derived from the markers")
    p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all)")
    p = sub.add_parser("student", help="write the student editions")
    p.add_argument("--out", type=Path, default=STUDENT_DIR)
    p = sub.add_parser("grade", help="run and grade submissions (files or folders)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--csv", type=Path, help="write one row per submission x exercise")
    return parser


def run_grade(paths: list[Path], folder: Path, csv_path: Path | None) -> int:
    """Grade every submission, print each report (and a total), write the CSV.

    A submission that cannot be graded (unreadable, no instructor notebook) is reported
    and skipped; the exit status is then 1, else 0 whatever the grades.
    """
    every: list[Row] = []
    todo, skipped = list(submissions(paths)), 0
    for path in todo:
        try:
            rows = grade(path, folder)
        except ClassroomError as exc:
            print(f"not graded: {exc}", flush=True)
            every.append(Row(str(path), "", "", None, 0, "not graded", str(exc)))
            skipped += 1
            continue
        print(report(rows), flush=True)
        every += rows
    if len(todo) > 1:
        code = [r for r in every if r.kind == "code"]
        passed = sum(r.status == "passed" for r in code)
        print(f"all {len(todo)} submissions: {passed} passed, {len(code) - passed} failed"
              + (f", {skipped} not graded" if skipped else ""))
    if csv_path is not None:
        write_csv(every, csv_path)
        print(f"wrote {csv_path}")
    return 1 if skipped else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; the exit status (0 even when exercises fail, see run_grade)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "sync":
            for path in args.paths or instructor_notebooks(args.notebooks):
                print(f"{path}: {'updated' if sync(path) else 'in sync'}")
        elif args.command == "student":
            for path in write_students(args.out, args.notebooks):
                print(f"wrote {path}")
        else:
            return run_grade(args.paths, args.notebooks, args.csv)
    except ClassroomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
