"""Matplotlib helpers shared by the notebooks (PNG output, one consistent style).

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from compress_lib._checks import check_array
from compress_lib._checks import check_int
from compress_lib._checks import check_number
from compress_lib._checks import check_numeric
from compress_lib._checks import check_positive

__all__ = ["DIGITS", "allocation_curves", "class_bars", "cost_bars", "digit", "layer_macs",
           "pruned_weights", "seed_bars", "setup", "soft_targets", "temperature_panel",
           "weight_levels"]

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
