"""Block builders and closed-form costs, checked against counted Keras models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from compress_lib import blocks  # noqa: E402
from compress_lib import measure  # noqa: E402


def built_block(kind, h, w, c_in, c_out, stride, expansion=6):
    """A one-block model on an (h, w, c_in) input."""
    x = keras.Input((h, w, c_in))
    return keras.Model(x, blocks.block(kind, x, c_out, stride, expansion, name="b"))


def assert_cost_matches(model, cost):
    """Closed form == counted: MACs, stored parameters and conv/dense weights."""
    assert measure.count_macs(model, strict=True) == cost.macs
    assert measure.count_params(model) == cost.params
    assert measure.count_mac_params(model) == cost.weights


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(blocks.BLOCKS), h=st.integers(1, 9), w=st.integers(1, 9),
       c_in=st.integers(1, 12), c_out=st.integers(1, 12), stride=st.sampled_from([1, 2]),
       expansion=st.integers(1, 6))
def test_block_cost_equals_counted_macs(kind, h, w, c_in, c_out, stride, expansion):
    model = built_block(kind, h, w, c_in, c_out, stride, expansion)
    assert_cost_matches(model, blocks.block_cost(kind, h, w, c_in, c_out, stride, expansion))
    assert tuple(model.output.shape) == (None, -(-h // stride), -(-w // stride), c_out)


@given(m=st.integers(1, 2048), n=st.integers(1, 2048), k=st.sampled_from([1, 3, 5, 7]),
       side=st.integers(1, 64))
def test_separable_ratio_is_howard_formula(m, n, k, side):
    ratio = (blocks.separable_cost(side, side, m, n, k).macs
             / blocks.conv_cost(side, side, m, n, k).macs)
    assert ratio == pytest.approx(blocks.separable_ratio(n, k), rel=1e-12)
    assert ratio == pytest.approx(1 / n + 1 / k**2, rel=1e-12)


def test_howard_numbers_by_hand():
    # 3x3, M=N=512 on 14x14: 8.6x fewer MACs than the standard convolution
    std, sep = blocks.conv_cost(14, 14, 512, 512), blocks.separable_cost(14, 14, 512, 512)
    assert std.macs == 14 * 14 * 9 * 512 * 512
    assert sep.macs == 14 * 14 * (9 * 512 + 512 * 512)
    assert std.macs / sep.macs == pytest.approx(1 / (1 / 512 + 1 / 9))
    assert std.weights == 9 * 512 * 512 and sep.weights == 9 * 512 + 512 * 512


@pytest.mark.parametrize("stride,c_in,c_out,has_add", [(1, 8, 8, True), (2, 8, 8, False),
                                                       (1, 8, 16, False)])
def test_inverted_residual_skip_only_when_shapes_allow(stride, c_in, c_out, has_add):
    model = built_block("inverted_residual", 8, 8, c_in, c_out, stride, 6)
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert bool(adds) == has_add
    project = model.get_layer("b_project_bn")  # linear bottleneck: no activation after it
    assert model.output is project.output or adds[0].output is model.output


def test_inverted_residual_t1_has_no_expansion_and_linear_output():
    model = built_block("inverted_residual", 6, 6, 4, 4, 1, expansion=1)
    names = [layer.name for layer in model.layers]
    assert not any("expand" in n for n in names)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32") * 10
    assert np.min(model(x)) < 0  # no ReLU6 after the projection (and the residual adds x)


@pytest.mark.parametrize("kind", blocks.BLOCKS)
@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_cnn_cost_equals_counted(kind, alpha):
    model = blocks.cnn(kind, alpha=alpha)
    assert_cost_matches(model, blocks.cnn_cost(kind, alpha=alpha))
    assert model.output.shape[-1] == 10


def test_mnist_separable_cnn_is_over_5x_cheaper():
    std, sep = blocks.cnn_cost("standard"), blocks.cnn_cost("separable")
    assert std.macs / sep.macs > 5
    assert std.weights / sep.weights > 5


@pytest.mark.parametrize("alpha,size", [(1.0, 224), (0.5, 112), (0.35, 96), (1.3, 179)])
def test_mobilenet_layout_tables_equal_keras_applications(alpha, size):
    rho = size / 224
    for build, table in ((keras.applications.MobileNet, blocks.mobilenet_v1_table),
                         (keras.applications.MobileNetV2, blocks.mobilenet_v2_table)):
        model = build(weights=None, alpha=alpha, input_shape=(size, size, 3))
        assert_cost_matches(model, blocks.layout_cost(table(alpha, rho)))


def test_alpha_and_rho_scale_costs_roughly_quadratically():
    base = blocks.layout_cost(blocks.mobilenet_v1_table(1.0, 1.0))
    half_w = blocks.layout_cost(blocks.mobilenet_v1_table(0.5, 1.0))
    half_r = blocks.layout_cost(blocks.mobilenet_v1_table(1.0, 0.5))
    assert 0.2 < half_w.macs / base.macs < 0.3  # ~ alpha^2
    # rho^2, up to odd feature-map sides and the resolution-independent classifier
    assert half_r.macs / base.macs == pytest.approx(0.25, rel=0.05)
    assert half_r.weights == base.weights  # resolution does not change parameters


@given(value=st.floats(0.5, 5000), divisor=st.sampled_from([1, 4, 8, 16]))
def test_make_divisible_properties(value, divisor):
    out = blocks.make_divisible(value, divisor)
    assert out % divisor == 0 and out >= divisor and out >= 0.9 * value
    assert out <= value + divisor  # never rounds up by more than one step


def test_predicted_bytes():
    cost = blocks.Cost(weights=100, bn=40, macs=0)
    assert blocks.predicted_bytes(cost) == 4 * 110
    assert blocks.predicted_bytes(cost, 16) == 2 * 110
    assert blocks.predicted_bytes(cost, 8) == 100 + 4 * 10  # int8 files keep 32-bit biases


def test_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        blocks.scale_width(32, 0)
    with pytest.raises(ValueError, match="alpha"):
        blocks.mobilenet_v2_table(alpha=-1)
    with pytest.raises(ValueError, match="rho"):
        blocks.mobilenet_v1_table(rho=0)
    with pytest.raises(ValueError, match="kind"):
        blocks.cnn("resnet")
    with pytest.raises(ValueError, match="image feature map"):
        blocks.conv_block(keras.Input((784,)), 8)
    with pytest.raises(ValueError, match="image feature map"):
        blocks.separable_block(keras.Input((10, 4)), 8)
    with pytest.raises(ValueError, match="input_shape"):
        blocks.cnn("standard", input_shape=(784,))
    with pytest.raises(ValueError, match="c_out"):
        blocks.conv_cost(8, 8, 3, 0)
    with pytest.raises(ValueError, match="expansion"):
        blocks.inverted_residual_cost(8, 8, 3, 3, expansion=0)
    with pytest.raises(ValueError, match="bits"):
        blocks.predicted_bytes(blocks.ZERO, 4)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="c_out"):
        blocks.conv_cost(8, 8, 3, 4.0)
    with pytest.raises(TypeError, match="expansion"):
        blocks.inverted_residual_cost(8, 8, 3, 3, expansion=True)
    with pytest.raises(TypeError, match="alpha"):
        blocks.scale_width(32, "0.5")
    with pytest.raises(TypeError, match=r"input_shape\[1\]"):
        blocks.cnn("standard", input_shape=(28, 28.0))
    with pytest.raises(TypeError, match="channels"):
        blocks.single_block("separable", 8.0)


def test_single_block_costs_and_names():
    for kind in ("standard", "separable"):
        model = blocks.single_block(kind, 16, side=7)
        assert model.name == f"{kind}_16"
        assert tuple(model.output.shape) == (None, 7, 7, 16)
        assert_cost_matches(model, blocks.block_cost(kind, 7, 7, 16, 16))


def test_cnn_learns_a_tiny_task_with_notebook_05_recipe():
    from compress_lib import config
    from compress_lib import models

    config.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((256, 8, 8)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2)) > x[:, 4:].mean(axis=(1, 2))).astype("int64")
    model = blocks.cnn("separable", input_shape=(8, 8), stem=8, stages=((8, 1),), classes=2)
    history = models.train(model, (x, y), epochs=3, batch_size=32, learning_rate=3e-3,
                           schedule="cosine", progress=False)
    assert float(model.optimizer.learning_rate) < 3e-3 * 0.01  # cosine decayed to ~0
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_block_widgets_render_a_static_view_and_sliders():
    import matplotlib

    matplotlib.use("Agg")
    from compress_lib import widgets

    assert widgets.compare_blocks(c_in=16, c_out=24, stride=2, expansion=4, side=14) is not None
    assert widgets.mobilenet_v2_explorer(alpha=0.35, resolution=96) is not None
