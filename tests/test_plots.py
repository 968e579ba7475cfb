"""Tests of compress_lib.plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from compress_lib import plots  # noqa: E402
from compress_lib.losses import softmax  # noqa: E402


def test_soft_targets_draws_both_distributions_per_temperature():
    zt, zs = np.linspace(-3, 6, 10), np.linspace(2, -2, 10)
    fig = plots.soft_targets(zt, zs, 9, [1.0, 4.0])
    axes = fig.axes
    assert len(axes) == 4
    heights = [np.array([bar.get_height() for bar in ax.patches]) for ax in axes]
    np.testing.assert_allclose(heights[0], softmax(zt, 1.0))
    np.testing.assert_allclose(heights[3], softmax(zs, 4.0))
    assert axes[2].get_title() == "teacher, T=4"
    colors = [bar.get_facecolor() for bar in axes[0].patches]
    assert colors.count(colors[9]) == 1  # the true class's bar alone is orange
    plt.close(fig)
    fig = plots.soft_targets(zt, zs, 9, [1.0], student_name="untrained student")
    assert fig.axes[1].get_title() == "untrained student, T=1"
    plt.close(fig)


def test_soft_targets_bad_input():
    z = np.zeros(10)
    with pytest.raises(ValueError, match="temperatures"):
        plots.soft_targets(z, z, 0, [])
    with pytest.raises(ValueError, match="temperatures"):
        plots.soft_targets(z, z, 0, [0.0])
    with pytest.raises(ValueError, match="label"):
        plots.soft_targets(z, z, 10, [1.0])
    with pytest.raises(TypeError, match="student_name"):
        plots.soft_targets(z, z, 0, [1.0], student_name=3)


def test_allocation_curves_draws_before_and_after_per_scope():
    rows = [{"scope": scope, "sparsity": s, "accuracy_before": b, "accuracy_after": a}
            for scope, offset in (("layer", 0.0), ("global", 0.1))
            for s, b, a in ((0.5, 0.8 + offset, 0.85 + offset), (0.9, 0.3 + offset, 0.6 + offset))]
    fig = plots.allocation_curves(rows, dense_accuracy=0.98)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["uniform (same sparsity per layer), before retraining",
                      "uniform (same sparsity per layer), after retraining",
                      "global threshold, before retraining", "global threshold, after retraining",
                      "dense"]
    np.testing.assert_allclose(ax.get_lines()[3].get_ydata(), [0.95, 0.7])
    plt.close(fig)
    with pytest.raises(ValueError, match="rows must be a non-empty list of dicts"):
        plots.allocation_curves([{"scope": "layer"}])
    with pytest.raises(ValueError, match="dense_accuracy must be a finite number"):
        plots.allocation_curves(rows, dense_accuracy=1.5)
