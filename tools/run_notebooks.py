"""Execute the workbook's notebooks with papermill and store them with clean metadata.

    python tools/run_notebooks.py --profile full            # every notebook
    python tools/run_notebooks.py --profile full --notebook 02

Each notebook runs from a fresh kernel with PROFILE injected into its `parameters`
cell. On success the executed notebook replaces the one in notebooks/ (without
papermill's injected cell or timing metadata), so stored outputs always come from
one complete run. On failure nothing is overwritten and the failing cell is named.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KEEP_NB_METADATA = ("kernelspec", "language_info")
CELL_TIMEOUT_S = 1800  # a cell running longer than this is treated as hung and fails the run
# TensorFlow's C++ log lines (absl format "E0000 00:00:17.. 123 file.cc:52] ..."): run noise
# such as CUDA probing on a CPU machine, not output of the notebook's code.
CPP_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\).*|"
                     r"[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*)$\n?", re.MULTILINE)


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
    """Drop papermill's injected cell, run metadata and C++ log lines; renumber counts."""
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
            cell.outputs = strip_cpp_logs(cell.outputs)
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
    return nb


def execute(path: Path, profile: str, output: Path | None = None) -> float:
    """Run one notebook with papermill; write the cleaned result (full profile: in place)."""
    import papermill as pm

    start = time.perf_counter()
    env_profile = os.environ.get("COMPRESS_PROFILE")
    os.environ["COMPRESS_PROFILE"] = profile  # helpers imported by the kernel see it too
    try:
        with tempfile.TemporaryDirectory() as tmp:
            executed = Path(tmp) / path.name
            pm.execute_notebook(str(path), str(executed), parameters={"PROFILE": profile},
                                cwd=str(path.parent), kernel_name="python3", progress_bar=True,
                                request_save_on_cell_execute=False,
                                execution_timeout=CELL_TIMEOUT_S, start_timeout=120)
            nb = clean(nbformat.read(executed, as_version=4))
    finally:
        if env_profile is None:
            os.environ.pop("COMPRESS_PROFILE", None)
        else:
            os.environ["COMPRESS_PROFILE"] = env_profile
    if output is None:  # only a full run may replace the stored notebook
        output = path if profile == "full" else ROOT / "build" / "notebooks-quick" / path.name
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, output)
    return time.perf_counter() - start


def describe_failure(path: Path, exc: Exception) -> str:
    """A one-paragraph message naming the notebook and the failing cell."""
    cell = getattr(exc, "exec_count", None)
    name, value = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    where = f"cell [{cell}]" if cell is not None else "a cell"
    return f"FAILED: {path.relative_to(ROOT)} at {where}: {name}: {value}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "full"), default="full")
    parser.add_argument("--notebook", help="run only notebooks whose name starts with this")
    args = parser.parse_args(argv)
    paths = find_notebooks(args.notebook)
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path.name} (profile {args.profile})", flush=True)
        try:
            seconds = execute(path, args.profile)
        except Exception as exc:  # papermill raises PapermillExecutionError and others
            print(describe_failure(path, exc), file=sys.stderr)
            return 1
        print(f"    done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
