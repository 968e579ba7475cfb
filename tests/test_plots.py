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


def _points():
    def point(nb, model, acc, size, latency, source="measured"):
        return {"notebook": nb, "table": f"{nb}_t", "model": model, "accuracy": acc,
                "bytes": size, "latency_ms": latency, "source": source}
    return [point("02", "mlp float32", 0.975, 400_000, 0.004),
            point("02", "mlp int8", 0.974, 110_000, 0.0012),
            point("05", "cnn int8", 0.993, 60_000, 0.01),
            point("06", "LeNet-5 DC", 0.992, 43_000, None),
            point("06", "LeNet-5 DC (paper)", 0.9926, 44_000, None, "paper"),
            point("06", "base (article)", 0.9, None, 100.0, "article")]


def test_workbook_pareto_draws_both_panels_with_fronts_and_labels(tmp_path):
    fig = plots.workbook_pareto(_points())
    size, latency = fig.axes
    assert size.get_xscale() == latency.get_xscale() == "log"
    assert "bytes" in size.get_xlabel() and "ms" in latency.get_xlabel()
    assert [len(size.collections), len(latency.collections)] == [5, 4]  # points with a value
    (front_a,), (front_b,) = size.get_lines(), latency.get_lines()
    np.testing.assert_allclose(front_a.get_xdata(), [43_000, 60_000])  # the measured front
    np.testing.assert_allclose(front_b.get_xdata(), [0.0012, 0.004, 0.01])
    article = latency.collections[-1]
    assert article.get_facecolors().size == 0  # the article's claim: a hollow marker
    assert size.yaxis.get_major_formatter()(0.99, 0) == "99%"
    labels = {t.get_text() for t in size.texts}
    assert {"LeNet-5 DC", "cnn int8"} <= labels and "mlp float32" not in labels  # not on front
    assert "base (article)" in {t.get_text() for t in latency.texts}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["notebook 02", "notebook 05", "notebook 06", "measured here",
                      "paper (published)", "article (claimed)", "Pareto front (measured)"]
    fig.savefig(tmp_path / "pareto.png")
    plt.close(fig)


def test_workbook_pareto_bad_input():
    with pytest.raises(TypeError, match="points must be a list"):
        plots.workbook_pareto({"a": 1})
    with pytest.raises(ValueError, match="non-empty"):
        plots.workbook_pareto([])
    with pytest.raises(ValueError, match=r"points\[0\]'s accuracy"):
        plots.workbook_pareto([{**_points()[0], "accuracy": 97.5}])


def _grid_rows(dense_bytes=1_066_440):
    rows = []
    for s in (0.5, 0.9, 0.98):
        for b in (2, 8):
            size = int(dense_bytes * (1 - s) * b / 32) + 1000
            accuracy = 0.98 - 0.5 * s ** 8 - 0.01 * (b == 2)
            rows.append({"sparsity": s, "bits": b, "accuracy": accuracy,
                         "compressed_bytes": size, "original_bytes": dense_bytes,
                         "ratio": dense_bytes / size})
    return rows


def test_compression_grid_annotates_every_cell_of_both_heat_maps(tmp_path):
    rows = _grid_rows()
    fig = plots.compression_grid(rows[::-1], dense_accuracy=0.981)  # any row order
    accuracy, size = fig.axes[:2]
    assert len(fig.axes) == 4  # two heat maps, two colour bars
    assert "one-shot: pruning and sharing without retraining" in fig.get_suptitle().lower()
    for ax in (accuracy, size):
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "8"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["50%", "90%", "98%"]
        assert len(ax.texts) == 6
    cell = {(t.get_position()): t.get_text() for t in accuracy.texts}
    r = rows[3]  # sparsity 0.9 (row 1), 8 bits (column 1)
    assert cell[1, 1] == f"{100 * r['accuracy']:.1f}%\n{100 * (r['accuracy'] - 0.981):+.1f}"
    size_cell = {(t.get_position()): t.get_text() for t in size.texts}
    assert size_cell[1, 1] == f"{r['compressed_bytes'] / 1e3:.3g} kB\n{r['ratio']:.0f}×"
    assert "1,066 kB" in size.get_title()
    image = accuracy.get_images()[0]  # coloured by the error, on a log scale
    np.testing.assert_allclose(image.get_array()[1, 1], 1 - r["accuracy"])
    assert image.norm.vmin == pytest.approx(min(1 - q["accuracy"] for q in rows))
    fig.savefig(tmp_path / "grid.png")
    plt.close(fig)
    fig = plots.compression_grid(rows)
    assert "\n" not in fig.axes[0].texts[0].get_text()  # no dense model: accuracy only
    plt.close(fig)


def test_compression_grid_bad_input():
    rows = _grid_rows()
    with pytest.raises(TypeError, match="rows must be a list of dicts"):
        plots.compression_grid({"a": 1})
    with pytest.raises(ValueError, match="non-empty list of dicts with keys"):
        plots.compression_grid([])
    with pytest.raises(ValueError, match=r"missing \[\(0.98, 8\)\], repeated 0"):
        plots.compression_grid(rows[:-1])
    with pytest.raises(ValueError, match=r"missing \[\], repeated 1"):
        plots.compression_grid([*rows, rows[0]])
    with pytest.raises(ValueError, match=r"rows\[0\]\['accuracy'\]"):
        plots.compression_grid([{**rows[0], "accuracy": 98.0}, *rows[1:]])
    with pytest.raises(ValueError, match="dense_accuracy"):
        plots.compression_grid(rows, dense_accuracy=1.5)


def test_compressed_parts_stacks_each_layers_parts():
    def row(layer, weights, gaps, rest):
        return {"layer": layer, "weight_stream_bits": weights, "index_stream_bits": gaps,
                "codebook_bits": rest, "bias_bits": 0, "table_bits": 0}
    rows = [row("fc1", 8000, 16000, 4000), row("logits", 800, 800, 800),
            row("total", 8800, 16800, 4800)]
    ax = plots.compressed_parts(plt.subplots()[1], rows)
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, [1.0, 0.1, 2.0, 0.1, 0.5, 0.1])  # part by part, in kB
    assert [t.get_text() for t in ax.texts] == [" 3.5 kB", " 0.3 kB"]  # the total row: no bar
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "codebook indices (Huffman)", "relative gaps (Huffman)", "codebook, biases, code tables"]
    with pytest.raises(TypeError, match="rows must be a list of dicts"):
        plots.compressed_parts(ax, "rows")
    with pytest.raises(ValueError, match="at least one layer"):
        plots.compressed_parts(ax, rows[-1:])
    with pytest.raises(ValueError, match="at least one layer, each a dict with keys"):
        plots.compressed_parts(ax, [{"layer": "fc1"}])
    plt.close("all")
