"""ipywidgets explorers; thin wrappers around the plotting and math functions.

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from compress_lib import losses, plots


def temperature_explorer(images: np.ndarray, logits: np.ndarray, labels: np.ndarray):
    """Sliders over temperature and test image: softened distributions at T = 1 and T."""
    if not len(images) == len(logits) == len(labels) or len(images) == 0:
        raise ValueError("images, logits and labels must be non-empty and of equal length")

    def show(temperature: float = 4.0, index: int = 0) -> None:
        plots.temperature_panel(images[index], logits[index], int(labels[index]),
                                [1.0, temperature])
        p = losses.softmax(logits[index], temperature)
        print(f"entropy {losses.entropy(p):.3f} nats; mass outside the top class "
              f"{1 - p.max():.3f}")
        plt.show()

    return widgets.interact(
        show,
        temperature=widgets.FloatLogSlider(value=4.0, base=10, min=-0.5, max=2.0, step=0.05,
                                           description="T"),
        index=widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image"))
