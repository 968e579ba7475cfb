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
