"""Record result rows with provenance and render them as Markdown tables.

Each table is one file `results/<table>.json` written atomically by `record`; it
holds rows from a single profile. `render()` rebuilds `results/README.md` (every
table) and a one-line-per-table summary between the two marker comments of the top
README. Quick-profile runs (CI, nbval) write to `build/results-quick/` so they never
overwrite real results. Every file is written all at once (`write_atomic`), so readers
and crashes see the old or the new file, never a part of one.
Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from compress_lib._checks import check_bool
from compress_lib._checks import check_point
from compress_lib.config import get_profile
from compress_lib.sweep import backend_name
from compress_lib.tables import format_bytes
from compress_lib.tables import format_cell

__all__ = ["describe_machine", "load", "machine", "markdown", "model_points", "provenance",
           "record", "render", "render_all", "render_summary", "render_table", "results_dir",
           "write_atomic", "write_temp"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS_ENV = "COMPRESS_RESULTS_DIR"
START, END = "<!-- results:start -->", "<!-- results:end -->"
PACKAGES = ("tensorflow", "keras", "numpy", "ai-edge-litert", "tensorflow-model-optimization")
# x86 and Arm extensions that the float and int8 kernels of TF and LiteRT (XNNPACK) use
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
             "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "asimd", "asimddp", "i8mm",
             "sve", "sve2")
STAGING_PREFIX = ".staging-"  # tools/run_notebooks.py stages a run's tables in <folder>/.staging-*/
_TABLE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def results_dir(profile: str | None = None) -> Path:
    """Where tables go: $COMPRESS_RESULTS_DIR, else results/ (full) or build/results-quick/."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    return ROOT / "results" if get_profile(profile).name == "full" else ROOT / "build/results-quick"


def _git_commit() -> str:
    """The current git commit (with '+dirty' if the tree has changes), or 'unknown'."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "compress_lib")
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    return _cpuinfo_field(("model name", "Model")) or platform.processor() or "unknown"


def _cpuinfo_field(names: tuple[str, ...]) -> str:
    """The first /proc/cpuinfo value whose key is one of names ('' if none or unreadable)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in names:
            return value.strip()
    return ""


def _size_bytes(text: str) -> int:
    """'48K', '1024K', '2M' or '512' (as in /sys cache 'size' files) in bytes."""
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:].upper(), 1)
    return int(text.rstrip("KMGkmg")) * scale


def _cache_bytes() -> dict[str, int]:
    """Cache sizes seen by CPU 0 (L3 is often shared): {'L1d': ..., 'L2': ..., 'L3': ...} bytes."""
    sizes = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind, size = ((index / f).read_text().strip() for f in ("level", "type", "size"))
            sizes[f"L{level}" + ("d" if kind == "Data" else "")] = _size_bytes(size)
        except (OSError, ValueError):
            continue
    return {k: v for k, v in sorted(sizes.items()) if k in ("L1d", "L2", "L3")}


def _isa_flags() -> list[str]:
    """The CPU's instruction-set extensions that decide how fast float and int8 kernels run."""
    flags = set(_cpuinfo_field(("flags", "Features")).split())
    return [f for f in ISA_FLAGS if f in flags]


def machine() -> dict:
    """What a latency depends on: CPU model, cores, usable CPUs, cache sizes, ISA, versions."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "threads": usable,
            "cache_bytes": _cache_bytes(), "isa": _isa_flags(), "versions": _versions()}


def describe_machine(facts: dict | None = None) -> str:
    """One line naming the machine: CPU, cores, caches, ISA and TF/LiteRT versions."""
    m = machine() if facts is None else facts
    caches = " / ".join(f"{k} {format_bytes(v)}" for k, v in m.get("cache_bytes", {}).items())
    v = m.get("versions", {})
    return (f"{m['cpu']}, {m['cores']} cores ({m.get('threads', '?')} usable), "
            f"caches (CPU 0) {caches or 'unknown'}, ISA {' '.join(m.get('isa', [])) or 'unknown'}, "
            f"TF {v.get('tensorflow', '?')}, Keras {v.get('keras', '?')}, "
            f"LiteRT {v.get('ai-edge-litert', '?')}")


def _versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(profile: str, seeds: list[int], backend: str | None = None) -> dict:
    """Where and how a table was produced: commit, time, profile, seeds, machine, and the
    backend of compress_lib.sweep when a sweep made the rows (`backend` given).

    `machine()` describes the calling process's machine, not Ray's workers.
    """
    sweep = {} if backend is None else {"sweep_backend": backend_name(backend)}
    return {"commit": _git_commit(), "utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "profile": profile, "seeds": list(seeds), **sweep, **machine()}


def _umask() -> int:
    """The process umask (from /proc without changing it, else by setting it back at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split(":", 1)[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(path: str | os.PathLike, text: str) -> Path:
    """Write text to a new, fsynced hidden temp file beside `path` (mode 0666 less umask).

    The caller moves it into place with `os.replace` (or removes it); on error nothing is left.
    Temp names are `.<name>.<random>.tmp`, ignored by git.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Replace `path` by `text` all at once: readers see the old or the new file, never a part."""
    path = Path(path)
    tmp = write_temp(path, text)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return path


def _check_rows(rows: list[dict]) -> None:
    """Rows must be a non-empty list of dicts of JSON scalars."""
    if not isinstance(rows, list) or not rows:
        raise ValueError("rows must be a non-empty list of dicts")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row:
            raise ValueError(f"rows[{i}] must be a non-empty dict, got {row!r}")
        for key, value in row.items():
            if not isinstance(value, str | int | float | bool | None):
                raise TypeError(f"rows[{i}][{key!r}] must be str/int/float/bool/None, "
                                f"got {type(value).__name__}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"rows[{i}][{key!r}] is not finite: {value}")


def record(table: str, rows: list[dict], *, title: str = "", notebook: str = "",
           profile: str | None = None, seeds: list[int] | tuple[int, ...] = (0,),
           directory: str | os.PathLike | None = None, backend: str | None = None) -> Path:
    """Write results/<table>.json atomically (replacing the table) and return its path.

    `backend` names the compress_lib.sweep backend that made the rows (None: no sweep).
    """
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise ValueError(f"table must match [a-z0-9_]+ (used as a file name), got {table!r}")
    _check_rows(rows)
    profile = get_profile(profile).name
    out_dir = Path(directory) if directory is not None else results_dir(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"table": table, "title": title or table, "notebook": notebook,
           "provenance": provenance(profile, list(seeds), backend),
           "rows": rows}
    return write_atomic(out_dir / f"{table}.json", json.dumps(doc, indent=1) + "\n")


def load(directory: str | os.PathLike | None = None) -> list[dict]:
    """All recorded tables in a directory, sorted by table name."""
    directory = Path(directory) if directory is not None else ROOT / "results"
    return [_load_table(p) for p in sorted(directory.glob("*.json"))]


def _load_table(path: Path) -> dict:
    """One table's JSON; an unreadable file raises ValueError naming it."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid results table (bad JSON: {exc}); "
                         f"rerun its notebook or delete the file") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list) \
            or not isinstance(doc.get("provenance"), dict):
        raise ValueError(f"{path}: not a results table (expected an object with 'rows' "
                         f"and 'provenance', as results.record writes)")
    return doc


def _cell(value: object) -> str:
    """One Markdown table cell (tables.format_cell, with '|' escaped)."""
    return format_cell(value).replace("|", "\\|")


def render_table(doc: dict, link: bool = False) -> str:
    """One recorded table as Markdown with provenance (`link`: notebook linked from results/)."""
    check_bool("link", link)
    columns: list[str] = []
    for row in doc["rows"]:
        columns += [k for k in row if k not in columns]
    lines = [f"### {doc['title']}", ""]
    p = doc["provenance"]
    notebook = doc.get("notebook")
    source = (f"[`{notebook}`](../{notebook}), " if link else f"`{notebook}`, ") if notebook else ""
    v = p["versions"]
    versions = f"TF {v.get('tensorflow', '?')} / Keras {v.get('keras', '?')}"
    where = describe_machine(p) if "isa" in p else f"{p['cpu']} ({p['cores']} cores), {versions}"
    backend = f", sweep backend `{p['sweep_backend']}`" if "sweep_backend" in p else ""
    lines += [f"{source}profile `{p['profile']}`, seeds {p['seeds']}{backend}, "
              f"commit `{p['commit']}`, {p['utc']}, {where}", ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in doc["rows"]]
    return "\n".join(lines) + "\n"


def render_all(docs: list[dict]) -> str:
    """All tables as one Markdown section, each notebook a link (results/README.md's view)."""
    if not docs:
        return "No results recorded yet: run `make results`.\n"
    return "\n".join(render_table(d, link=True) for d in docs)


def _write_all_if_changed(texts: dict[Path, str]) -> None:
    """Replace each changed file by its text; every temp file is written before any replace."""
    changed = {p: t for p, t in texts.items() if not (p.exists() and p.read_text() == t)}
    temps: dict[Path, Path] = {}
    try:
        for path, text in changed.items():
            temps[path] = write_temp(path, text)
        for path, tmp in temps.items():
            os.replace(tmp, path)
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


def _rows_text(n: int) -> str:
    """'1 row', '5 rows'."""
    return f"{n} row" + ("" if n == 1 else "s")


def render_summary(docs: list[dict]) -> str:
    """One line per recorded table (title, notebook, rows, run), pointing at results/README.md."""
    if not docs:
        return "No results recorded yet: run `make results`.\n"
    lines = ["Every table, with its provenance, is in [`results/README.md`](results/README.md):",
             ""]
    for d in docs:
        p = d["provenance"]
        source = d.get("notebook") or "?"
        lines.append(f"- {d['title']} — `{source}`, {_rows_text(len(d['rows']))}, "
                     f"profile `{p['profile']}`, commit `{p['commit']}`")
    return "\n".join(lines) + "\n"


def render(directory: str | os.PathLike | None = None, readme: str | os.PathLike | None = None
           ) -> str:
    """Rebuild results/README.md (every table) and the README's summary; return the tables."""
    directory = Path(directory) if directory is not None else ROOT / "results"
    readme = Path(readme) if readme is not None else ROOT / "README.md"
    docs = load(directory)
    body = render_all(docs)
    header = ("# Results\n\nGenerated by `make results` from the JSON files in this folder; "
              "do not edit by hand.\n\n")
    texts = {directory / "README.md": header + body}
    if readme.exists():  # checked before anything is written: render is all or nothing
        text = readme.read_text()
        if START not in text or END not in text.split(START, 1)[-1]:
            raise ValueError(f"readme {readme} must contain the markers {START} and then {END}; "
                             f"nothing was written")
        head, rest = text.split(START, 1)
        texts[readme] = head + START + "\n" + render_summary(docs) + END + rest.split(END, 1)[1]
    _write_all_if_changed(texts)
    return body


def markdown(table: str | os.PathLike) -> str:
    """A recorded table as Markdown (the path `record` returned, or a table's JSON file).

    In a notebook: `Markdown(results.markdown(results.record(...)))` shows what was recorded.
    Used from notebooks/02_quantization.ipynb on.
    """
    return render_table(_load_table(Path(table)))


# ------------------------------------------------------------ the workbook's model points


class _Reading(NamedTuple):
    """How to read one model point from a row: a label template and row -> value functions."""

    label: str
    accuracy: Callable[[dict], object]
    bytes: Callable[[dict], object] | None = None
    latency_ms: Callable[[dict], object] | None = None
    source: str | Callable[[dict], object] = "measured"


def _col(key: str, scale: float = 1.0, integer: bool = False) -> Callable[[dict], object]:
    """A row -> value function: the column `key` times `scale` (None stays None)."""
    def read(row: dict) -> object:
        value = row[key]
        if value is None or scale == 1.0:
            return value
        return round(value * scale) if integer else value * scale
    return read


# table -> the points each of its rows gives (bytes from kB: the table's kB are 1000 bytes;
# bytes from parameters: 4 bytes per float32 parameter, said in the label).
_POINTS = {
    "01_baseline": (_Reading("{model} (float32, 4 B/param)", _col("test_accuracy"),
                             bytes=_col("params", 4, integer=True)),),
    "02_ptq": (_Reading("{model} {mode}", _col("litert_accuracy"), _col("bytes"),
                        _col("b1_median_ms")),),
    "05_mnist_cnn": tuple(_Reading(f"{{model}} CNN {mode}", _col(f"{mode}_acc"),
                                   _col(f"{mode}_kb", 1000, integer=True), _col(f"{mode}_ms"))
                          for mode in ("float32", "int8")),
    "06_case_study": (_Reading("{model}", _col("accuracy"), _col("tflite_bytes"),
                               _col("latency_us", 1e-3)),
                      _Reading("article: {article_model} model", _col("article_accuracy"),
                               latency_ms=_col("article_ms"), source="article")),
    "06_deep_compression": (_Reading("{network} Deep Compression ({source})",
                                     lambda row: 1 - row["error_pct"] / 100,
                                     _col("compressed_bytes"), source=_col("source")),),
}


def _point(table: str, i: int, reading: _Reading, row: dict) -> dict | None:
    """The point a row gives by one reading, or None if it lacks an accuracy or a cost."""
    where = f"{table} row {i}"
    read = {k: getattr(reading, k) for k in ("accuracy", "bytes", "latency_ms", "source")}
    try:
        got = {k: f(row) if callable(f) else f for k, f in read.items()}
        label = reading.label.format(**row)
    except KeyError as exc:
        raise ValueError(f"{where} has no column {exc}: model_points' reading of {table} "
                         f"must follow the table's columns") from None
    if got["accuracy"] is None or (got["bytes"] is None and got["latency_ms"] is None):
        return None
    point = {"notebook": table.split("_", 1)[0], "table": table, "model": label, **got}
    return check_point(where, point)


def _tables_in_view(directory: str | os.PathLike | None) -> list[dict]:
    """The tables of directory (default results_dir()); in a run's staging folder, also those
    already recorded beside it, the staged ones first."""
    folder = Path(directory) if directory is not None else results_dir()
    docs = load(folder) if folder.is_dir() else []
    if folder.name.startswith(STAGING_PREFIX):
        staged = {doc.get("table") for doc in docs}
        docs += [doc for doc in load(folder.parent) if doc.get("table") not in staged]
    return docs


def model_points(directory: str | os.PathLike | None = None) -> list[dict]:
    """One point per recorded model with a test accuracy and its bytes and/or batch-1 latency.

    Each point: notebook, table, model (a label), accuracy (fraction), bytes, latency_ms
    (None if not recorded) and source ("measured", "paper" or "article"); identical points
    (two of our models beside the same claim of the article) count once. Only the tables
    named in `_POINTS` give points; any of them may be missing. By default the tables of
    results_dir() (with those beside a `make results` staging folder). Plotted in
    notebooks/06_mnist_case_study.ipynb (`plots.workbook_pareto`, `tables.pareto_front`).
    """
    if directory is not None and not Path(directory).is_dir():
        raise ValueError(f"directory must be a folder of results tables, got {directory!r}")
    points = []
    for doc in _tables_in_view(directory):
        table = doc.get("table", "")
        for reading in _POINTS.get(table, ()):
            for i, row in enumerate(doc["rows"]):
                point = _point(table, i, reading, row)
                if point is not None and point not in points:  # two rows, one article claim
                    points.append(point)
    return points


if __name__ == "__main__":
    render()
