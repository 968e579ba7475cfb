"""Tests of the sparsity x bits explorer of notebooks/06 and its grid
(widgets.compression_panel, widgets.compression_explorer, deep_compression.compression_grid)."""

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from compress_lib import coding  # noqa: E402
from compress_lib import deep_compression  # noqa: E402
from compress_lib import models  # noqa: E402
from compress_lib import widgets  # noqa: E402


@pytest.fixture(scope="module")
def lenet(mnist):
    """LeNet-300-100 after about 200 steps on the 1,500-image subset: (model, test data)."""
    (x, y), test = mnist
    keras.utils.set_random_seed(0)
    model = models.lenet_300_100()
    models.train(model, (x, y), epochs=4, batch_size=32, progress=False)
    return model, test


def test_compression_grid_rows_are_one_shot_at_every_pair(lenet):
    model, test = lenet
    rows = deep_compression.compression_grid(model, test, [0.5, 0.9], [2, 8])
    assert [(r["sparsity"], r["bits"]) for r in rows] == [(0.5, 2), (0.5, 8), (0.9, 2), (0.9, 8)]
    shared, codes = deep_compression.one_shot(model, 0.9, 2)
    total = coding.compressed_size(codes)[-1]
    assert rows[2] == {"sparsity": 0.9, "bits": 2, "accuracy": models.accuracy(shared, test),
                       "compressed_bytes": total["compressed_bytes"],
                       "original_bytes": 4 * model.count_params(), "ratio": total["ratio"]}
    by = {(r["sparsity"], r["bits"]): r for r in rows}
    for b in (2, 8):  # fewer kept weights: fewer stored entries and bits
        assert by[0.9, b]["compressed_bytes"] < by[0.5, b]["compressed_bytes"]
    dense = models.accuracy(model, test)
    assert abs(by[0.5, 8]["accuracy"] - dense) <= 0.02  # half the weights, 255 values: ~dense
    assert model.get_layer("fc1").kernel.numpy().all()  # the model itself is left unpruned


def test_compression_grid_bad_input(lenet):
    model, test = lenet
    with pytest.raises(TypeError, match="sparsities must be a list or tuple"):
        deep_compression.compression_grid(model, test, 0.9, [4])
    with pytest.raises(ValueError, match="sparsities must be non-empty"):
        deep_compression.compression_grid(model, test, [], [4])
    with pytest.raises(ValueError, match="sparsities must hold distinct values"):
        deep_compression.compression_grid(model, test, [0.9, 0.9], [4])
    with pytest.raises(ValueError, match=r"sparsities\[1\] must be a finite number in \[0, 1\)"):
        deep_compression.compression_grid(model, test, [0.9, 1.0], [4])
    with pytest.raises(ValueError, match=r"bits\[0\] must be an int in \[2, 16\]"):
        deep_compression.compression_grid(model, test, [0.9], [1])
    with pytest.raises(TypeError, match=r"bits\[0\] must be an int"):
        deep_compression.compression_grid(model, test, [0.9], [4.0])
    with pytest.raises(ValueError, match="index_bits"):
        deep_compression.compression_grid(model, test, [0.9], [4], index_bits=0)
    with pytest.raises(TypeError, match="data must be a pair"):
        deep_compression.compression_grid(model, test[0], [0.9], [4])


def test_compression_panel_draws_the_sizes_and_the_shared_values(lenet):
    model, test = lenet
    widgets.compression_panel(model, test, 0.9, 3)
    fig = plt.gcf()
    sizes, weights = fig.axes
    shared, codes = deep_compression.one_shot(model, 0.9, 3)
    rows = coding.compressed_size(codes)
    widths = np.array([bar.get_width() for bar in sizes.patches]).reshape(3, 3)  # part x layer
    np.testing.assert_allclose(widths.sum(axis=0) * 8e3, [r["huffman_bits"] for r in rows[:-1]])
    assert [t.get_text() for t in sizes.get_yticklabels()] == ["fc1", "fc2", "logits"]
    (lines,) = weights.collections[-1:]
    np.testing.assert_allclose(np.sort([seg[0, 0] for seg in lines.get_segments()]),
                               np.sort(codes["fc1"].codebook[1:]))
    title = fig.get_suptitle()
    assert f"test accuracy {models.accuracy(shared, test):.2%}" in title
    assert f"{rows[-1]['ratio']:.1f}× smaller than float32 (1,066 kB)" in title
    plt.close("all")


def test_compression_explorer_sliders_act_on_release(lenet):
    model, test = lenet
    explorer = widgets.compression_explorer(model, test, sparsity=0.8, bits=4)
    sparsity, bits = explorer.controls.values()
    assert (sparsity.value, sparsity.min, sparsity.max) == (0.8, 0.5, 0.98)
    assert (bits.value, bits.min, bits.max) == (4, 2, 8)
    assert not sparsity.continuous_update and not bits.continuous_update
    plt.close("all")
    with pytest.raises(ValueError, match="sparsity must be a finite number in"):
        widgets.compression_explorer(model, test, sparsity=0.99)
    with pytest.raises(ValueError, match="bits must be an int in"):
        widgets.compression_explorer(model, test, bits=9)
    with pytest.raises(ValueError, match="layer must be one of"):
        widgets.compression_explorer(model, test, layer="fc9")


def test_explorer_draws_once_per_change_and_never_two_at_once():
    import threading
    import time

    import ipywidgets

    spans, lock = [], threading.Lock()

    def draw(n: int) -> None:
        start = time.perf_counter()
        time.sleep(0.02)
        with lock:
            spans.append((start, time.perf_counter(), n))

    slider = ipywidgets.IntSlider(0, min=0, max=100)
    explorer = widgets.Explorer(draw, n=slider)
    assert not slider.continuous_update  # sliders act when released
    threads = [threading.Thread(target=setattr, args=(slider, "value", v)) for v in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(spans) == 9 and spans[0][2] == 0  # the first view, then one draw per change
    ordered = sorted(spans)
    no_overlap = [a[1] <= b[0] for a, b in zip(ordered, ordered[1:], strict=False)]
    assert all(no_overlap)  # no draw starts before the previous one has finished
    assert ordered[-1][2] == slider.value  # each draw reads the values current when it starts
    assert explorer.values == {"n": slider.value}


def test_explorer_stored_copy_shows_a_note_with_the_settings():
    import ipywidgets

    explorer = widgets.Explorer(lambda t, k: None, t=ipywidgets.SelectionSlider(
        options=widgets.TEMPERATURES, value=4, description="T"),
        k=ipywidgets.Dropdown(options=["fc1", "fc2"]))
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.model_id
    assert bundle["text/plain"].startswith("Interactive explorer (T = 4, k = fc1): it needs a "
                                           "running kernel")  # labels as shown, else names

