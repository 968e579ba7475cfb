"""Tables in notebooks: one cell format, aligned text tables, seed aggregates (mean ± std).

NumPy-only. `results` renders recorded tables with the same cell format.
Introduced in notebooks/02_quantization.ipynb; seed aggregates in notebooks/03_distillation.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

import numpy as np

from compress_lib._checks import check_choice
from compress_lib._checks import check_int
from compress_lib._checks import check_numeric
from compress_lib._checks import check_point

__all__ = ["format_bytes", "format_cell", "mean_std", "paired_differences", "pareto_front",
           "select", "show", "text_table"]


def format_bytes(n: int) -> str:
    """A byte count in binary units: 1048576 -> '1 MiB', 49152 -> '48 KiB', 512 -> '512 B'."""
    n = check_int("n", n, low=0)
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def format_cell(value: object) -> str:
    """One table cell: ints with thousands separators, floats to 4 significant digits."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "–"}[value]
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return str(value)


def _first_other(rows: Sequence) -> object:
    """The first row that is not a dict."""
    return next(r for r in rows if not isinstance(r, dict))


def _columns(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    """The given columns, else every key in first-seen order."""
    if isinstance(rows, dict) or not rows:
        raise ValueError("rows must be a non-empty list of dicts")
    if not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows must be a list of dicts, got a {type(_first_other(rows)).__name__}")
    if isinstance(columns, str):
        raise TypeError(f"columns must be a sequence of column names, not the str {columns!r}")
    if columns is not None:
        return list(columns)
    out: list[str] = []
    for row in rows:
        out += [k for k in row if k not in out]
    return out


def text_table(rows: Sequence[dict], columns: Sequence[str] | None = None,
               formats: dict[str, Callable[[object], str]] | None = None) -> str:
    """Rows of dicts as a right-aligned plain-text table (a column's format may be given)."""
    cols = _columns(rows, columns)
    formats = formats or {}
    cells = [[formats.get(c, format_cell)(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def show(rows: Sequence[dict], columns: Sequence[str] | None = None,
         formats: dict[str, Callable[[object], str]] | None = None) -> None:
    """Print text_table(rows)."""
    print(text_table(rows, columns, formats))


def select(rows: Sequence[dict], **where: object) -> list[dict]:
    """The rows whose columns equal every given value (e.g. method='scratch', T=None)."""
    if isinstance(rows, dict) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows must be a list of dicts, got {rows!r:.80}")
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    v = check_numeric("values", values)
    if v.ndim != 1:
        raise ValueError(f"values must be a non-empty 1-d sequence, got shape {v.shape}")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def _check_group(name: str, rows: Sequence[dict], value: str, key: str) -> None:
    """A non-empty group of rows with `key` and a finite numeric `value`, each key once."""
    if isinstance(rows, dict) or not rows or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"{name} must be a non-empty list of dicts, got {rows!r}")
    for r in rows:
        if key not in r or value not in r:
            raise ValueError(f"every row of {name} must have the columns {key!r} and {value!r}, "
                             f"got {sorted(map(str, r))}")
    check_numeric(f"{name}[...][{value!r}]", [r[value] for r in rows])
    keys = [r[key] for r in rows]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{name} must have each {key} once, got {keys}")


def paired_differences(rows_a: Sequence[dict], rows_b: Sequence[dict], value: str,
                       key: str = "seed") -> list[float]:
    """b - a for each `key` (e.g. seed) present in both groups, in the order of rows_a."""
    _check_group("rows_a", rows_a, value, key)
    _check_group("rows_b", rows_b, value, key)
    b_by_key = {r[key]: r[value] for r in rows_b}
    missing = [r[key] for r in rows_a if r[key] not in b_by_key]
    if missing or len(rows_a) != len(b_by_key):
        raise ValueError(f"the two groups must have the same {key} values; "
                         f"{sorted(map(str, {r[key] for r in rows_a}))} vs "
                         f"{sorted(map(str, b_by_key))}")
    return [float(b_by_key[r[key]] - r[value]) for r in rows_a]


def pareto_front(points: Sequence[dict], x: str = "bytes") -> list[dict]:
    """The measured points that no other beats (x <= and accuracy >=, one strictly), by x.

    `points` as results.model_points returns them; those without a value for `x` are left
    out. Drawn by plots.workbook_pareto in notebooks/06_mnist_case_study.ipynb.
    """
    check_choice("x", x, ("bytes", "latency_ms"))
    if not isinstance(points, list | tuple):
        raise TypeError(f"points must be a list of model points (results.model_points), "
                        f"got {type(points).__name__}")
    pts = [check_point(f"points[{i}]", p) for i, p in enumerate(points)]
    pts = [p for p in pts if p["source"] == "measured" and p[x] is not None]
    cost = np.array([float(p[x]) for p in pts])
    acc = np.array([float(p["accuracy"]) for p in pts])
    # beats[j, i]: point j is no worse than point i on both axes and better on one
    beats = ((cost[:, None] <= cost[None, :]) & (acc[:, None] >= acc[None, :])
             & ((cost[:, None] < cost[None, :]) | (acc[:, None] > acc[None, :])))
    front = [p for p, beaten in zip(pts, beats.any(axis=0), strict=True) if not beaten]
    return sorted(front, key=lambda p: (p[x], -p["accuracy"]))
