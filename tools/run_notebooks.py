"""Execute the workbook's notebooks with papermill and store them with clean metadata.

    python tools/run_notebooks.py --profile full            # every notebook
    python tools/run_notebooks.py --profile full --notebook 02

Each notebook runs from a fresh kernel with PROFILE injected into its `parameters`
cell. Its tables go to a staging folder inside the results folder; only when every
cell succeeded do the staged tables move into place and the executed notebook replace
the one in notebooks/ (without papermill's injected cell or timing metadata), each file
all at once. So stored outputs and tables always come from one complete run; on failure
nothing is overwritten and the message says where it failed. One run at a time: a
second one refuses while the first holds the lock file `.lock` in the results folder.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat

from compress_lib import results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KEEP_NB_METADATA = ("kernelspec", "language_info")
LOCK_FILE = ".lock"  # in the results folder (results/ for full runs); held for the whole run
STAGING_PREFIX = results.STAGING_PREFIX  # a run's tables wait in <results folder>/.staging-*/
TMP_SUFFIX = ".tmp"  # results.write_temp's suffix
CELL_TIMEOUT_S = 1800  # a cell running longer than this is treated as hung and fails the run
# TensorFlow's C++ log lines (absl format "E0000 00:00:17.. 123 file.cc:52] ..."): run noise
# such as CUDA probing on a CPU machine, not output of the notebook's code.
CPP_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\).*|"
                     r"[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*)$\n?", re.MULTILINE)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
DISPLAYS = ("display_data", "execute_result")
CARRIAGE_RETURN = re.compile(r"[^\n]*\r(?=[^\n])")  # a line's text up to its last '\r'


def strip_cpp_logs(outputs: list) -> list:
    """Remove TensorFlow C++ log lines from stderr stream outputs (and outputs left empty)."""
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            out["text"] = CPP_LOG.sub("", out["text"])
            if not out["text"]:
                continue
        kept.append(out)
    return kept


def drop_widget_views(outputs: list) -> list:
    """Keep only the text of widget outputs: without the kernel that made them, JupyterLab
    would show "model not found" where the text (an explorer's note) says what to do."""
    for out in outputs:
        out.get("data", {}).pop(WIDGET_VIEW, None)
    return [out for out in outputs if out.get("output_type") not in DISPLAYS or out["data"]]


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive outputs of one stream; keep only what follows each line's last '\r'.

    A progress bar redraws itself with carriage returns, one stream output per refresh; a
    stored notebook then shows the bar once, in its final (finished) state.
    """
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else {}
        if out.get("output_type") == last.get("output_type") == "stream" and \
                out.get("name") == last.get("name"):
            last["text"] += out["text"]
        else:
            merged.append(out)
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = CARRIAGE_RETURN.sub("", out["text"])
    return merged


def find_notebooks(selector: str | None = None, folder: Path | None = None) -> list[Path]:
    """Notebooks named NN_*.ipynb, all of them or those whose name starts with selector."""
    folder = NOTEBOOKS if folder is None else folder
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if selector:
        paths = [p for p in paths if p.name.startswith(selector) or p.stem == selector]
    if not paths:
        raise SystemExit(f"no notebook in {folder} matches {selector!r}")
    return paths


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop papermill's injected cell, run metadata, C++ log lines and widget views; merge
    progress-bar redraws; renumber counts."""
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    nb.metadata = nbformat.NotebookNode(
        {k: v for k, v in nb.metadata.items() if k in KEEP_NB_METADATA})
    count = 0
    for cell in nb.cells:
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = drop_widget_views(coalesce_streams(strip_cpp_logs(cell.outputs)))
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
    return nb


class RunError(Exception):
    """A failure outside the notebook's cells; the message says where (e.g. while writing)."""


def _acquire(path: Path) -> int:
    """Open and lock `path` (exclusive, non-blocking); its fd, or SystemExit naming the holder."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SystemExit(f"another run is in progress (pid {pid}): it holds {path}; "
                             f"wait for it to finish") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd  # still the file at `path`, not one a finishing run just removed
        except FileNotFoundError:
            pass
        os.close(fd)


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock file (with our pid) for the whole run; removed at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)  # before closing: a waiting run then retries a new file
        os.close(fd)  # closing releases the lock


_SIGNALS = {"committing": False, "pending": 0}  # a signal during a commit waits for its end


def _raise_exit(signum: int, frame: object) -> None:
    """Signal handler: leave through SystemExit so that every finally block runs."""
    if _SIGNALS["committing"]:
        _SIGNALS["pending"] = signum
        return
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Defer SIGTERM/SIGHUP (see signals_exit) until the block's few renames are done."""
    _SIGNALS["committing"], _SIGNALS["pending"] = True, 0
    try:
        yield
    finally:
        _SIGNALS["committing"] = False
        if _SIGNALS["pending"]:
            raise SystemExit(128 + _SIGNALS["pending"])


@contextlib.contextmanager
def signals_exit() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit while the run lasts (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, _raise_exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def remove_stale_temps(notebooks: Path, results_folder: Path) -> None:
    """Delete temp files a killed run left behind (call only while holding the run lock)."""
    for tmp in notebooks.glob(f".*.ipynb.*{TMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)
    for staging in results_folder.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables (inherited by the kernel) and restore them afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_papermill(path: Path, profile: str) -> nbformat.NotebookNode:
    """Execute one notebook in a fresh kernel; return it cleaned (cell numbers as stored)."""
    import papermill as pm

    with tempfile.TemporaryDirectory(prefix="run_notebooks-") as tmp:
        executed = Path(tmp) / path.name
        try:
            pm.execute_notebook(str(path), str(executed), parameters={"PROFILE": profile},
                                cwd=str(path.parent), kernel_name="python3", progress_bar=True,
                                request_save_on_cell_execute=False,
                                execution_timeout=CELL_TIMEOUT_S, start_timeout=120)
        except Exception as exc:
            exc.stored_cell = stored_cell_number(path, getattr(exc, "cell_index", None))
            raise
        return clean(nbformat.read(executed, as_version=4))


def stored_cell_number(path: Path, cell_index: int | None) -> int | None:
    """The [N] the stored notebook shows for papermill's cell_index (injected cell not counted).

    Returns None when unknown, 0 for papermill's injected parameters cell itself.
    """
    try:
        cells = nbformat.read(path, as_version=4).cells
    except Exception:  # the original failure matters more than its cell number
        return None
    if not isinstance(cell_index, int):
        return None
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    injected = tagged[0] + 1 if tagged else 0
    if cell_index == injected:
        return 0
    index = cell_index - 1 if cell_index > injected else cell_index
    return sum(c.cell_type == "code" for c in cells[:index + 1])


def commit(nb: nbformat.NotebookNode, output: Path, staging: Path, results_folder: Path) -> None:
    """Move the staged tables into results_folder and the notebook to output, each atomically."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        text = nbformat.writes(nb)
        tmp = results.write_temp(output, text if text.endswith("\n") else text + "\n")
    except Exception as exc:
        raise RunError(f"while writing the notebook {output}: {type(exc).__name__}: {exc}"
                       ) from exc
    try:
        with uninterrupted():  # a SIGTERM now waits until tables and notebook are in place
            for table in sorted(staging.glob("*.json")):
                os.replace(table, results_folder / table.name)
            os.replace(tmp, output)
    except OSError as exc:
        raise RunError(f"while storing the tables and notebook: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def execute(path: Path, profile: str, output: Path | None = None,
            results_folder: Path | None = None) -> float:
    """Run one notebook; on success store it (full profile: in place) and its tables together."""
    start = time.perf_counter()
    if output is None:  # only a full run may replace the stored notebook
        output = path if profile == "full" else ROOT / "build" / "notebooks-quick" / path.name
    results_folder = results.results_dir(profile) if results_folder is None else results_folder
    results_folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=results_folder, prefix=STAGING_PREFIX))
    try:
        # helpers imported by the kernel see both: the profile, and where to record tables
        with environment(COMPRESS_PROFILE=profile, **{results.RESULTS_ENV: str(staging)}):
            nb = run_papermill(path, profile)
        commit(nb, output, staging, results_folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return time.perf_counter() - start


def describe_failure(path: Path, exc: BaseException) -> str:
    """A one-paragraph message naming the notebook and where it failed."""
    name, value = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    cell = getattr(exc, "stored_cell", None)
    if isinstance(exc, RunError):
        where = str(exc)
    elif type(exc).__name__ == "DeadKernelError":
        where = f"kernel died ({value})"
    elif cell == 0:
        where = f"papermill's injected parameters cell: {name}: {value}"
    elif cell is not None:
        where = f"cell [{cell}]: {name}: {value}"
    elif type(exc).__name__ == "CellTimeoutError":
        where = f"a cell ran over {CELL_TIMEOUT_S} s (CellTimeoutError): {value}"
    else:
        where = f"while executing (no cell reported an error): {name}: {value}"
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    return f"FAILED: {shown} at {where}" if cell else f"FAILED: {shown}: {where}"


def run_all(paths: list[Path], profile: str, results_folder: Path) -> int:
    """Run each notebook in turn; stop at the first failure. Returns the exit status."""
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path.name} (profile {profile})", flush=True)
        try:
            seconds = execute(path, profile, results_folder=results_folder)
        except Exception as exc:  # papermill raises PapermillExecutionError and others
            print(describe_failure(path, exc), file=sys.stderr)
            return 1
        print(f"    done in {seconds:.0f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "full"), default="full")
    parser.add_argument("--notebook", help="run only notebooks whose name starts with this")
    args = parser.parse_args(argv)
    paths = find_notebooks(args.notebook)
    results_folder = results.results_dir(args.profile)  # honours $COMPRESS_RESULTS_DIR
    with signals_exit(), run_lock(results_folder / LOCK_FILE):
        remove_stale_temps(paths[0].parent, results_folder)
        return run_all(paths, args.profile, results_folder)


if __name__ == "__main__":
    sys.exit(main())
