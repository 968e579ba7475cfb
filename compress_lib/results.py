"""Record result rows with provenance and render them as Markdown tables.

Each table is one file `results/<table>.json` written atomically by `record`; it
holds rows from a single profile. `render()` rebuilds `results/README.md` (every
table) and a one-line-per-table summary between the two marker comments of the top
README. Quick-profile runs (CI, nbval) write to `build/results-quick/` so they never
overwrite real results.
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
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from compress_lib.config import get_profile
from compress_lib.tables import format_cell

__all__ = ["load", "markdown", "provenance", "record", "render", "render_all", "render_summary",
           "render_table", "results_dir"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS_ENV = "COMPRESS_RESULTS_DIR"
START, END = "<!-- results:start -->", "<!-- results:end -->"
PACKAGES = ("tensorflow", "keras", "numpy", "ai-edge-litert", "tensorflow-model-optimization")
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
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance(profile: str, seeds: list[int]) -> dict:
    """Where and how a table was produced."""
    return {"commit": _git_commit(), "utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "profile": profile, "seeds": list(seeds), "cpu": _cpu_model(),
            "cores": os.cpu_count(), "versions": _versions()}


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
           directory: str | os.PathLike | None = None) -> Path:
    """Write results/<table>.json atomically (replacing the table) and return its path."""
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise ValueError(f"table must match [a-z0-9_]+ (used as a file name), got {table!r}")
    _check_rows(rows)
    profile = get_profile(profile).name
    out_dir = Path(directory) if directory is not None else results_dir(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"table": table, "title": title or table, "notebook": notebook,
           "provenance": provenance(profile, list(seeds)), "rows": rows}
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{table}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    path = out_dir / f"{table}.json"
    os.replace(tmp, path)
    return path


def load(directory: str | os.PathLike | None = None) -> list[dict]:
    """All recorded tables in a directory, sorted by table name."""
    directory = Path(directory) if directory is not None else ROOT / "results"
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def _cell(value: object) -> str:
    """One Markdown table cell (tables.format_cell, with '|' escaped)."""
    return format_cell(value).replace("|", "\\|")


def render_table(doc: dict) -> str:
    """One recorded table as Markdown with a provenance line."""
    columns: list[str] = []
    for row in doc["rows"]:
        columns += [k for k in row if k not in columns]
    lines = [f"### {doc['title']}", ""]
    p = doc["provenance"]
    source = f"`{doc['notebook']}`, " if doc.get("notebook") else ""
    v = p["versions"]
    versions = f"TF {v.get('tensorflow', '?')} / Keras {v.get('keras', '?')}"
    lines += [f"{source}profile `{p['profile']}`, seeds {p['seeds']}, commit `{p['commit']}`, "
              f"{p['utc']}, {p['cpu']} ({p['cores']} cores), {versions}", ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in doc["rows"]]
    return "\n".join(lines) + "\n"


def render_all(docs: list[dict]) -> str:
    """All tables as one Markdown section."""
    if not docs:
        return "No results recorded yet: run `make results`.\n"
    return "\n".join(render_table(d) for d in docs)


def _write_if_changed(path: Path, text: str) -> None:
    """Write text atomically, leaving the file untouched when nothing changed."""
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


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
    _write_if_changed(directory / "README.md", header + body)
    if readme.exists():
        text = readme.read_text()
        if START not in text or END not in text:
            raise ValueError(f"{readme} must contain the markers {START} and {END}")
        head, rest = text.split(START, 1)
        summary = render_summary(docs)
        _write_if_changed(readme, head + START + "\n" + summary + END + rest.split(END, 1)[1])
    return body


def markdown(table: str | os.PathLike) -> str:
    """A recorded table as Markdown (the path `record` returned, or a table's JSON file).

    In a notebook: `Markdown(results.markdown(results.record(...)))` shows what was recorded.
    Used from notebooks/02_quantization.ipynb on.
    """
    return render_table(json.loads(Path(table).read_text()))


if __name__ == "__main__":
    render()
