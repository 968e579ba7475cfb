"""Matplotlib helpers shared by the notebooks (PNG output, one consistent style).

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

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
    probs = np.asarray(probs)
    if probs.shape != (10,):
        raise ValueError(f"probs must have shape (10,), got {probs.shape}")
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
    ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def temperature_panel(image: np.ndarray, logits: np.ndarray, label: int,
                      temperatures: list[float]) -> plt.Figure:
    """A digit next to its softened class distribution at each temperature."""
    from compress_lib.losses import softmax

    if not temperatures:
        raise ValueError("temperatures must be a non-empty list of numbers > 0")
    fig, axes = plt.subplots(1, len(temperatures) + 1, figsize=(2.3 * (len(temperatures) + 1), 2.4),
                             gridspec_kw={"width_ratios": [0.7] + [1.0] * len(temperatures)})
    digit(axes[0], image, f"label {label}")
    for ax, t in zip(axes[1:], temperatures, strict=True):
        class_bars(ax, softmax(logits, t), f"T = {t:g}", highlight=label)
        ax.set_ylabel("")
    axes[1].set_ylabel("probability")
    fig.tight_layout()
    return fig
