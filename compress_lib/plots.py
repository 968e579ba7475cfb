"""Matplotlib helpers shared by the notebooks (PNG output, one consistent style).

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter
from matplotlib.ticker import LogLocator
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from compress_lib._checks import check_array
from compress_lib._checks import check_int
from compress_lib._checks import check_number
from compress_lib._checks import check_numeric
from compress_lib._checks import check_positive
from compress_lib.tables import pareto_front

__all__ = ["DIGITS", "allocation_curves", "class_bars", "compressed_parts", "compression_grid",
           "cost_bars", "digit", "layer_macs", "pruned_weights", "seed_bars", "setup",
           "soft_targets", "temperature_panel", "weight_levels", "workbook_pareto"]

DIGITS = [str(d) for d in range(10)]


def setup() -> None:
    """PNG figures (nbval compares PNG, not SVG text) and a readable default style."""
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # outside IPython there is nothing to configure
        pass
    plt.rcParams.update({"figure.dpi": 100, "figure.figsize": (7.0, 3.6), "axes.grid": True,
                         "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "font.size": 10})


def class_bars(ax: plt.Axes, probs: np.ndarray, title: str = "", highlight: int | None = None
               ) -> plt.Axes:
    """Bar chart of a 10-class probability vector; `highlight` marks the true class."""
    probs = check_array("probs", probs)
    if probs.shape != (10,):
        raise ValueError(f"probs must have shape (10,), got {probs.shape}")
    if highlight is not None:
        check_int("highlight", highlight, 0, 9)
    colors = ["tab:orange" if i == highlight else "tab:blue" for i in range(10)]
    ax.bar(DIGITS, probs, color=colors)
    ax.set_ylim(0, 1)
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    if title:
        ax.set_title(title)
    return ax


def digit(ax: plt.Axes, image: np.ndarray, title: str = "") -> plt.Axes:
    """Show one 28x28 (or flat 784) MNIST image without axes."""
    image = check_array("image", image)
    if image.size != 784:
        raise ValueError(f"image must be one 28x28 (or flat 784) MNIST image, got shape "
                         f"{image.shape}")
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def _check_panel(temperatures: list[float], label: int) -> None:
    """A non-empty list of temperatures > 0 and a digit label 0-9 (the temperature panels)."""
    if not isinstance(temperatures, list | tuple):
        raise TypeError(f"temperatures must be a list of numbers > 0, got "
                        f"{type(temperatures).__name__}")
    if not temperatures:
        raise ValueError("temperatures must be a non-empty list of numbers > 0")
    for i, t in enumerate(temperatures):
        check_positive(f"temperatures[{i}]", t)
    check_int("label", label, 0, 9)


def temperature_panel(image: np.ndarray, logits: np.ndarray, label: int,
                      temperatures: list[float]) -> plt.Figure:
    """A digit next to its softened class distribution at each temperature."""
    from compress_lib.losses import softmax

    _check_panel(temperatures, label)
    fig, axes = plt.subplots(1, len(temperatures) + 1, figsize=(2.3 * (len(temperatures) + 1), 2.4),
                             gridspec_kw={"width_ratios": [0.7] + [1.0] * len(temperatures)})
    digit(axes[0], image, f"label {label}")
    for ax, t in zip(axes[1:], temperatures, strict=True):
        class_bars(ax, softmax(logits, t), f"T = {t:g}", highlight=label)
        ax.set_ylabel("")
    axes[1].set_ylabel("probability")
    fig.tight_layout()
    return fig


def seed_bars(ax: plt.Axes, groups: list[list[float]], positions: list[float],
              width: float = 0.6, color: str = "tab:blue", label: str | None = None
              ) -> plt.Axes:
    """One bar per group at the mean of its per-seed values, and a dot per seed.

    Taught in notebooks/03_distillation.ipynb (results over seeds, never a single run).
    """
    if len(groups) != len(positions) or not all(len(g) for g in groups):
        raise ValueError("groups and positions must have equal length, every group non-empty")
    for i, g in enumerate(groups):
        check_array(f"groups[{i}]", g)
    check_array("positions", positions)
    for i, (x, values) in enumerate(zip(positions, groups, strict=True)):
        ax.bar(x, np.mean(values), width, color=color, label=label if i == 0 else None)
        ax.scatter([x] * len(values), values, color="k", s=8, zorder=3)
    return ax


def weight_levels(ax: plt.Axes, w: np.ndarray, levels: np.ndarray, title: str = "",
                  max_lines: int = 64) -> plt.Axes:
    """Log histogram of weights with the quantization levels as red lines (at most ~max_lines).

    Taught in notebooks/02_quantization.ipynb (the bits slider).
    """
    levels = check_array("levels", levels).ravel()
    max_lines = check_int("max_lines", max_lines, low=1)
    ax.hist(check_array("w", w).ravel(), bins=200, color="0.55", log=True)
    ax.vlines(levels[:: max(1, len(levels) // max_lines)], 0, 1, color="tab:red", lw=0.7,
              transform=ax.get_xaxis_transform())
    ax.set(xlabel="weight", ylabel="count", title=title)
    return ax


def pruned_weights(axes: tuple[plt.Axes, plt.Axes], w: np.ndarray, keep: np.ndarray,
                   title: str = "") -> tuple[plt.Axes, plt.Axes]:
    """A kernel's histogram (kept / pruned stacked, log scale) and its mask (white: kept).

    Taught in notebooks/04_pruning.ipynb (the sparsity slider).
    """
    w, keep = check_array("w", w), check_array("keep", keep, dtype=None)
    if not np.isin(keep, (0, 1)).all():
        raise ValueError("keep must be a boolean (or 0/1) mask")
    keep = keep.astype(bool)
    if w.shape != keep.shape or w.ndim != 2:
        raise ValueError(f"w and keep must be 2-d arrays of one shape, got {w.shape} and "
                         f"{keep.shape}")
    ax1, ax2 = axes
    ax1.hist([w[keep], w[~keep]], bins=120, stacked=True, label=["kept", "pruned"])
    ax1.set(title=title, yscale="log", xlabel="w", ylabel="number of weights (log)")
    ax1.legend()
    ax2.imshow(keep.T, aspect="auto", cmap="gray", interpolation="nearest")
    ax2.set(title=f"mask (rows: {w.shape[1]} units, columns: {w.shape[0]} inputs)", xticks=[],
            yticks=[])
    return ax1, ax2


def cost_bars(costs: dict[str, object], title: str) -> plt.Figure:
    """Parameters and MACs side by side for named costs (objects with .params and .macs).

    Taught in notebooks/05_mobilenet_blocks.ipynb (the block picker).
    """
    if not isinstance(costs, dict) or not costs:
        raise TypeError("costs must be a non-empty dict of name -> cost")
    for name, cost in costs.items():
        if not (hasattr(cost, "params") and hasattr(cost, "macs")):
            raise TypeError(f"costs[{name!r}] must have .params and .macs (a blocks.Cost), "
                            f"got {type(cost).__name__}")
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
    for ax, what in zip(axes, ("params", "macs"), strict=True):
        ax.bar(list(costs), [getattr(cost, what) for cost in costs.values()], color="C0")
        ax.set_title(what)
    fig.suptitle(title, y=1.04)
    return fig


def layer_macs(rows: list[dict], title: str, xlabel: str = "layer") -> plt.Figure:
    """Millions of MACs of every row of a layout table (blocks.mobilenet_v2_table).

    Taught in notebooks/05_mobilenet_blocks.ipynb (the MobileNet V2 explorer).
    """
    if not isinstance(rows, list | tuple) or not rows or not all(
            isinstance(r, dict) and "macs" in r for r in rows):
        raise TypeError("rows must be a non-empty list of dicts with 'macs' (a layout table)")
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar(range(len(rows)), [r["macs"] / 1e6 for r in rows])
    ax.set(xlabel=xlabel, ylabel="MMACs", title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _ten_logits(name: str, logits: np.ndarray) -> np.ndarray:
    """Finite logits of one example over the 10 digit classes."""
    z = check_numeric(name, logits, min_ndim=1)
    if z.shape != (10,):
        raise ValueError(f"{name} must have shape (10,) (one example's logits), got {z.shape}")
    return z


def soft_targets(teacher_logits: np.ndarray, student_logits: np.ndarray, label: int,
                 temperatures: list[float], student_name: str = "student") -> plt.Figure:
    """Teacher's and student's softened distributions of one example, a row per temperature.

    The true class's bar is orange. Taught in notebooks/03_distillation.ipynb (the static
    view of widgets.kd_explorer).
    """
    from compress_lib.losses import softmax

    _check_panel(temperatures, label)
    if not isinstance(student_name, str):
        raise TypeError(f"student_name must be a str, got {type(student_name).__name__}")
    teacher_logits, student_logits = (_ten_logits(n, z) for n, z in (
        ("teacher_logits", teacher_logits), ("student_logits", student_logits)))
    fig, axes = plt.subplots(len(temperatures), 2, figsize=(9, 2.6 * len(temperatures)),
                             sharey=True, squeeze=False)
    for row, t in zip(axes, temperatures, strict=True):
        class_bars(row[0], softmax(teacher_logits, t), f"teacher, T={t:g}", label)
        class_bars(row[1], softmax(student_logits, t), f"{student_name}, T={t:g}", label)
    fig.tight_layout()
    return fig


def allocation_curves(rows: list[dict], dense_accuracy: float | None = None) -> plt.Figure:
    """Accuracy vs sparsity per scope, before (dashed) and after (solid) retraining.

    `rows` as pruning.allocation_curve returns them. Taught in notebooks/04_pruning.ipynb.
    """
    keys = ("scope", "sparsity", "accuracy_before", "accuracy_after")
    if not isinstance(rows, list | tuple) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a list of dicts (pruning.allocation_curve's rows)")
    if not rows or not all(all(k in r for k in keys) for r in rows):
        raise ValueError(f"rows must be a non-empty list of dicts with keys {keys}")
    labels = {"layer": "uniform (same sparsity per layer)", "global": "global threshold"}
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for i, scope in enumerate(dict.fromkeys(r["scope"] for r in rows)):
        curve = sorted((r for r in rows if r["scope"] == scope), key=lambda r: r["sparsity"])
        xs = [r["sparsity"] for r in curve]
        label = labels.get(scope, scope)
        ax.plot(xs, [r["accuracy_before"] for r in curve], "o--", color=f"C{i}",
                label=f"{label}, before retraining")
        ax.plot(xs, [r["accuracy_after"] for r in curve], "o-", color=f"C{i}",
                label=f"{label}, after retraining")
    if dense_accuracy is not None:
        ax.axhline(check_number("dense_accuracy", dense_accuracy, 0.0, 1.0), color="0.5",
                   lw=1, ls=":", label="dense")
    ax.set(xlabel="sparsity (fraction of kernel weights set to zero)", ylabel="test accuracy",
           title="One-shot magnitude pruning of LeNet-300-100")
    ax.legend(fontsize=8, loc="lower left")
    return fig


# marker per source: measured filled circle, published (paper) star, claimed (article) hollow square
_SOURCE_STYLE = {"measured": ("o", 34, "measured here"), "paper": ("*", 170, "paper (published)"),
                 "article": ("s", 46, "article (claimed)")}
_PARETO_PANELS = (
    ("bytes", "stored size (bytes, log scale)", "(a) test accuracy vs size",
     FuncFormatter(lambda v, _: f"{v / 1e6:g} MB" if v >= 1e6 else f"{v / 1e3:g} kB")),
    ("latency_ms", "batch-1 latency (ms, log scale)", "(b) test accuracy vs batch-1 latency",
     FuncFormatter(lambda v, _: f"{v:g}")))
_ACCURACY_TICKS = (0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999)
# where a label may go around its point (points right/up, text alignment), tried in order:
# close to it on every side first, then twice as far
_LABEL_SPOTS = tuple((k * dx, k * dy, ha) for k in (1, 2) for dx, dy, ha in (
    (6, 0, "left"), (4, 7, "left"), (4, -7, "left"), (0, 10, "center"), (0, -10, "center"),
    (-6, 0, "right"), (-4, 7, "right"), (-4, -7, "right")))


def _pareto_panel(ax: plt.Axes, points: list[dict], x: str, colors: dict[str, str]) -> list:
    """One panel of workbook_pareto (points with a value for `x`, their front); what to label."""
    _, xlabel, title, formatter = next(p for p in _PARETO_PANELS if p[0] == x)
    shown = [p for p in points if p[x] is not None]
    for p in shown:
        marker, size, _ = _SOURCE_STYLE[p["source"]]
        color = colors[p["notebook"]]
        hollow, edge = p["source"] == "article", "black" if p["source"] == "paper" else "white"
        ax.scatter(p[x], p["accuracy"], marker=marker, s=size, linewidths=1.2 if hollow else 0.6,
                   edgecolors=color if hollow else edge, facecolors="none" if hollow else color,
                   zorder=3)
    front = pareto_front(points, x)
    if front:
        ax.step([p[x] for p in front], [p["accuracy"] for p in front], where="post", color="0.35",
                lw=1, ls="--", zorder=2)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if x == "bytes" else (1,)))
    ax.xaxis.set_major_formatter(formatter)
    ax.set(xlabel=xlabel, title=title)
    return [(p[x], p["accuracy"], p["model"])
            for p in front + [p for p in shown if p["source"] != "measured"]]


def _accuracy_axis(ax: plt.Axes, points: list[dict]) -> None:
    """Accuracy in percent on a logit scale (90%, 99%, 99.9% equally spaced) when it can be."""
    acc = np.array([p["accuracy"] for p in points], float)
    if np.all((acc > 0) & (acc < 1)):
        logit = np.log(acc / (1 - acc))
        low, high = 1 / (1 + np.exp(-np.array([logit.min() - 0.4, logit.max() + 0.4])))
        ax.set_yscale("logit")
        ax.set_yticks([t for t in _ACCURACY_TICKS if low <= t <= high])
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_ylim(low, high)
        label = "test accuracy (logit scale)"
    else:
        ax.set_ylim(max(0.0, acc.min() - 0.02), min(1.005, acc.max() + 0.02))
        label = "test accuracy"
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}%"))
    ax.set_ylabel(label)


def _place_labels(ax: plt.Axes, labels: list[tuple[float, float, str]]) -> None:
    """Label points where the text overlaps no marker, no other label and stays inside the axes."""
    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    px = ax.figure.dpi / 72  # marker sizes are in points squared
    taken = [Bbox.from_bounds(u - r, v - r, 2 * r, 2 * r) for c in ax.collections
             for (u, v), r in zip(ax.transData.transform(np.asarray(c.get_offsets(), float)),
                                  np.sqrt(c.get_sizes()) / 2 * px, strict=False)]
    for x, y, text in labels:
        for dx, dy, ha in _LABEL_SPOTS:
            far = abs(dx) + abs(dy) > 12  # the second ring: a thin line leads to the point
            note = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha,
                               va="center", fontsize=7, color="0.15",
                               bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                                     "alpha": 0.75},
                               arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.4",
                                           "shrinkA": 0, "shrinkB": 3} if far else None)
            note.update_positions(renderer)
            box = Text.get_window_extent(note, renderer)  # the text alone, not its leader line
            if inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1) \
                    and not any(box.overlaps(t) for t in taken):
                taken.append(box)
                break
            note.remove()


def workbook_pareto(points: list[dict]) -> plt.Figure:
    """Every recorded model: test accuracy vs bytes and vs batch-1 latency (log x), by notebook.

    `points` as results.model_points returns them. Colour: notebook; marker: measured here,
    published in a paper, or claimed by the article; dashed steps: the Pareto front of the
    measured points. Labels go to the front and to published points where they fit.
    Taught in notebooks/06_mnist_case_study.ipynb.
    """
    pareto_front(points)  # checks the points (TypeError / ValueError)
    if not points:
        raise ValueError("points must be a non-empty list of model points (results.model_points)")
    notebooks = sorted({p["notebook"] for p in points})
    colors = {nb: f"C{i}" for i, nb in enumerate(notebooks)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    labels = [_pareto_panel(ax, points, x, colors) for ax, (x, *_) in zip(axes, _PARETO_PANELS,
                                                                          strict=True)]
    _accuracy_axis(axes[0], points)
    fig.legend(handles=_pareto_legend(points, colors), loc="upper center", ncol=8, fontsize=8,
               bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.tight_layout()
    fig.canvas.draw()
    for ax, todo in zip(axes, labels, strict=True):
        _place_labels(ax, todo)
    return fig


def _pareto_legend(points: list[dict], colors: dict[str, str]) -> list[Line2D]:
    """Legend entries of workbook_pareto: one per notebook, per source present, the front."""
    handles = [Line2D([], [], ls="", marker="o", color=c, label=f"notebook {nb}")
               for nb, c in colors.items()]
    handles += [Line2D([], [], ls="", marker=m, markersize=10 if m == "*" else 6, color="0.3",
                       markerfacecolor="none" if src == "article" else "0.3", label=label)
                for src, (m, _, label) in _SOURCE_STYLE.items()
                if any(p["source"] == src for p in points)]
    return handles + [Line2D([], [], color="0.35", ls="--", lw=1, label="Pareto front (measured)")]


# deep_compression.compression_grid's row keys; the parts of compressed_parts' bars
_GRID_KEYS = ("sparsity", "bits", "accuracy", "compressed_bytes", "original_bytes", "ratio")
_SIZE_PARTS = ((("weight_stream_bits",), "codebook indices (Huffman)"),
               (("index_stream_bits",), "relative gaps (Huffman)"),
               (("codebook_bits", "bias_bits", "table_bits"), "codebook, biases, code tables"))


def _grid_cells(rows: list[dict]) -> tuple[list[float], list[int], dict]:
    """Sorted sparsities, sorted bits and the row of each (sparsity, bits) of a full grid."""
    if not isinstance(rows, list | tuple) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a list of dicts (deep_compression.compression_grid's rows)")
    if not rows or not all(all(k in r for k in _GRID_KEYS) for r in rows):
        raise ValueError(f"rows must be a non-empty list of dicts with keys {_GRID_KEYS}")
    cells = {(r["sparsity"], r["bits"]): r for r in rows}
    sparsities, bits = sorted({s for s, _ in cells}), sorted({b for _, b in cells})
    missing = [(s, b) for s in sparsities for b in bits if (s, b) not in cells]
    if missing or len(cells) != len(rows):
        raise ValueError(f"rows must hold every (sparsity, bits) pair of a grid exactly once; "
                         f"missing {missing}, repeated {len(rows) - len(cells)}")
    for i, r in enumerate(rows):
        check_number(f"rows[{i}]['accuracy']", r["accuracy"], 0.0, 1.0)
        check_positive(f"rows[{i}]['ratio']", r["ratio"])
        check_positive(f"rows[{i}]['compressed_bytes']", r["compressed_bytes"])
    return sparsities, bits, cells


def _heat_map(ax: plt.Axes, values: np.ndarray, texts: list[list[str]], norm: LogNorm,
              cmap: str, title: str) -> AxesImage:
    """values as coloured cells (rows: sparsity, columns: bits), each annotated with its text."""
    image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        r, g, b, _ = image.cmap(image.norm(value))
        ax.text(j, i, texts[i][j], ha="center", va="center", fontsize=8,
                color="white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black")
    ax.set_title(title, fontsize=10)
    ax.grid(False)
    return image


def _log_norm(values: np.ndarray) -> LogNorm:
    """A log colour scale over values (widened to a factor 10 when all are equal)."""
    low, high = float(values.min()), float(values.max())
    return LogNorm(low, high if high > low else 10 * low)


def compression_grid(rows: list[dict], dense_accuracy: float | None = None) -> plt.Figure:
    """Two heat maps over sparsity x bits: test accuracy, and compressed size with its ratio.

    `rows` as deep_compression.compression_grid returns them (one-shot pruning and sharing,
    no retraining). Colours are on log scales (of the error, of the ratio); with
    dense_accuracy each accuracy cell also shows its change in points. Taught in
    notebooks/06_mnist_case_study.ipynb (the static view of widgets.compression_explorer).
    """
    sparsities, bits, cells = _grid_cells(rows)
    grid = [[cells[s, b] for b in bits] for s in sparsities]
    acc = np.array([[r["accuracy"] for r in line] for line in grid])
    ratio = np.array([[r["ratio"] for r in line] for line in grid])
    acc_text = [[f"{100 * a:.1f}%" for a in line] for line in acc]
    title = "test accuracy"
    if dense_accuracy is not None:
        dense = check_number("dense_accuracy", dense_accuracy, 0.0, 1.0)
        change = np.round(100 * (acc - dense), 1) + 0.0  # + 0.0: no "-0.0"
        acc_text = [[f"{t}\n{d:+.1f}" if d else f"{t}\n±0.0" for t, d in zip(*pair, strict=True)]
                    for pair in zip(acc_text, change, strict=True)]
        title += f"; below: points vs dense ({100 * dense:.2f}%)"
    size_text = [[f"{_kb(r['compressed_bytes'])} kB\n{r['ratio']:.0f}×" for r in line]
                 for line in grid]
    error = np.maximum(1 - acc, 1e-4)
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.5 + 0.62 * len(sparsities)))
    images = [_heat_map(axes[0], error, acc_text, _log_norm(error), "viridis_r", title),
              _heat_map(axes[1], ratio, size_text, _log_norm(ratio), "cividis",
                        f"P+Q+H size and ratio to float32 "
                        f"({_kb(grid[0][0]['original_bytes'])} kB)")]
    fig.suptitle("One-shot: pruning and sharing without retraining (global magnitude pruning, "
                 "k-means sharing, Huffman coding)", fontsize=11)
    _grid_axes(fig, axes, images, sparsities, bits)
    return fig


def _kb(n: float) -> str:
    """Bytes as kB (1000 bytes): 3 significant digits below 100 kB, whole kB above."""
    return f"{n / 1e3:,.0f}" if n >= 1e5 else f"{n / 1e3:.3g}"


def _grid_axes(fig: plt.Figure, axes: np.ndarray, images: list, sparsities: list[float],
               bits: list[int]) -> None:
    """Ticks, labels and the two colour bars of compression_grid."""
    for ax in axes:
        ax.set_xticks(range(len(bits)), [str(b) for b in bits])
        ax.set_yticks(range(len(sparsities)), [f"{100 * s:g}%" for s in sparsities])
        ax.set_xlabel(r"bits per codebook index ($2^{\mathrm{bits}}$ shared values, 0 among them)")
    axes[0].set_ylabel("sparsity (weights pruned)")
    error_bar = fig.colorbar(images[0], ax=axes[0], fraction=0.05, pad=0.02)
    ticks = [t for t in (1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.9)
             if images[0].norm.vmin <= t <= images[0].norm.vmax]
    error_bar.set_ticks(ticks, labels=[f"{100 * (1 - t):g}%" for t in ticks])
    error_bar.minorticks_off()
    error_bar.ax.invert_yaxis()  # the best accuracy on top
    error_bar.set_label("accuracy (log scale of the error)", fontsize=8)
    ratio_bar = fig.colorbar(images[1], ax=axes[1], fraction=0.05, pad=0.02)
    ratio_bar.ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ratio_bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ratio_bar.minorticks_off()
    ratio_bar.set_label("compression ratio (log scale)", fontsize=8)
    fig.tight_layout()


def compressed_parts(ax: plt.Axes, rows: list[dict]) -> plt.Axes:
    """Stacked bars of each layer's compressed kB: Huffman-coded indices and gaps, the rest.

    `rows` as coding.compressed_size returns them (its 'total' row is left out). Taught in
    notebooks/06_mnist_case_study.ipynb (widgets.compression_panel).
    """
    keys = ("layer", *(k for parts, _ in _SIZE_PARTS for k in parts))
    if not isinstance(rows, list | tuple) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a list of dicts (coding.compressed_size's rows)")
    layers = [r for r in rows if all(k in r for k in keys) and r["layer"] != "total"]
    if not layers or len(layers) != sum(r.get("layer") != "total" for r in rows):
        raise ValueError(f"rows must hold at least one layer, each a dict with keys {keys}")
    names, left = [r["layer"] for r in layers], np.zeros(len(layers))
    for i, (parts, label) in enumerate(_SIZE_PARTS):
        kb = np.array([sum(r[k] for k in parts) for r in layers], float) / 8e3
        ax.barh(names, kb, left=left, color=f"C{i}", label=label)
        left += kb
    for y, total in enumerate(left):
        ax.text(total, y, f" {total:.3g} kB", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.3 * left.max())
    ax.set(xlabel="compressed size (kB)", title="each layer's compressed size, by part")
    ax.legend(fontsize=7, loc="lower right")
    return ax
