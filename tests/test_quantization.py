"""Tests for compress_lib.quantization: the math (with hypothesis), references, QAT, int8."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from compress_lib import export, models  # noqa: E402
from compress_lib import quantization as q  # noqa: E402

FLOATS = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False, width=64)
MATRICES = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                      elements=FLOATS)


# ---------------------------------------------------------------- uniform quantization

def test_qrange():
    """Signed ranges; symmetric uses the narrow range; 1-bit symmetric is rejected."""
    assert q.qrange(8) == (-128, 127)
    assert q.qrange(8, symmetric=True) == (-127, 127)
    assert q.qrange(1) == (-1, 0)
    assert q.qrange(16) == (-32768, 32767)
    with pytest.raises(ValueError, match="bits"):
        q.qrange(1, symmetric=True)


def test_tiny_affine_example():
    """A hand-computed 2-bit affine example: [-1, 2] -> S = 1, Z = -1."""
    x = np.array([-1.0, 0.0, 0.4, 0.6, 2.0])
    qp = q.calibrate(x, bits=2)
    assert qp.scale[0] == pytest.approx(1.0) and qp.zero_point[0] == -1
    np.testing.assert_array_equal(q.quantize(x, qp), [-2, -1, -1, 0, 1])
    np.testing.assert_allclose(q.dequantize(q.quantize(x, qp), qp), [-1, 0, 0, 1, 2])
    np.testing.assert_allclose(qp.levels()[0], [-1, 0, 1, 2])


@settings(max_examples=200, deadline=None)
@given(MATRICES, st.integers(2, 16), st.booleans(), st.sampled_from([None, 0, 1, -1]))
def test_round_trip_within_half_step(x, bits, symmetric, axis):
    """Inside the calibrated range, |dequantize(quantize(x)) - x| <= Delta/2."""
    qp = q.calibrate(x, bits, symmetric=symmetric, axis=axis)
    err = np.abs(q.dequantize(q.quantize(x, qp), qp) - x)
    half = q._broadcast(qp.scale, qp.axis, x.ndim) / 2
    assert np.all(err <= half * (1 + 1e-6) + 2e-7 * np.abs(x) + 1e-12)  # + float32 output


@settings(max_examples=200, deadline=None)
@given(MATRICES, st.integers(2, 16), st.booleans())
def test_per_channel_error_bound_never_larger(x, bits, symmetric):
    """Per-channel ranges sit inside the tensor range, so the worst-case error is never larger."""
    tensor = q.calibrate(x, bits, symmetric=symmetric)
    channel = q.calibrate(x, bits, symmetric=symmetric, axis=0)
    assert np.all(channel.scale <= tensor.scale[0] * (1 + 1e-12))
    err = np.abs(q.dequantize(q.quantize(x, channel), channel) - x)
    assert err.max() <= tensor.scale[0] / 2 * (1 + 1e-6) + 2e-7 * np.abs(x).max() + 1e-12


def test_per_channel_mse_can_be_larger():
    """The squared error is not ordered in general: a channel just below a coarse grid point."""
    x = np.array([[1.0, 0.0] + [0.0] * 9, [0.99] + [2 / 3] * 10])
    per_tensor = q.fake_quantize(x, 3, symmetric=True)
    per_channel = q.fake_quantize(x, 3, symmetric=True, axis=0)
    assert q.mse(x, per_channel) > q.mse(x, per_tensor)


def test_fake_quantize_lands_on_levels():
    """Every fake-quantized value is one of the 2^bits levels."""
    x = np.random.default_rng(0).normal(size=(50, 8))
    qp = q.calibrate(x, 3)
    distance = np.abs(q.fake_quantize(x, 3).reshape(-1, 1) - qp.levels()[0][None, :])
    assert qp.levels().shape == (1, 8) and distance.min(axis=1).max() < 1e-6


def test_percentile_clips_outliers():
    """Percentile calibration ignores a single outlier; min/max stretches to it."""
    x = np.concatenate([np.linspace(-1, 1, 9999), [100.0]])
    assert q.calibrate(x, 8, method="percentile", percentile=99.9).scale[0] < 0.01
    assert q.calibrate(x, 8).scale[0] > 0.39


def test_matches_tensorflow_fake_quant():
    """Our affine fake-quant agrees with tf.quantization.fake_quant_with_min_max_args."""
    x = np.random.default_rng(1).uniform(-1, 2, 5000).astype(np.float32)
    ours = q.fake_quantize(x, 8)
    ref = tf.quantization.fake_quant_with_min_max_args(
        x, min=float(x.min()), max=float(x.max()), num_bits=8).numpy()
    step = q.calibrate(x, 8).scale[0]
    assert np.mean(np.abs(ours - ref) < 1e-4) > 0.99  # the rest: rounding ties in float32
    assert np.abs(ours - ref).max() <= step * 1.001


# ---------------------------------------------------------------- error measures

def test_error_measures_by_hand():
    """E = 1/2 sum d^2, MSE, SQNR on a tiny example."""
    theta, theta_q = np.array([1.0, -2.0, 3.0]), np.array([1.5, -2.0, 2.0])
    assert q.quantization_error(theta, theta_q) == pytest.approx(0.5 * (0.25 + 1.0))
    assert q.mse(theta, theta_q) == pytest.approx(1.25 / 3)
    assert q.sqnr_db(theta, theta_q) == pytest.approx(10 * np.log10(14 / 1.25))
    assert q.sqnr_db(theta, theta) == float("inf")


def test_uniform_noise_model_and_where_it_breaks():
    """Delta^2/12 fits 8-bit uniform data; it underestimates when clipping dominates."""
    x = np.random.default_rng(2).uniform(-1, 1, 200_000)
    qp = q.calibrate(x, 8)
    assert q.mse(x, q.fake_quantize(x, 8)) == pytest.approx(q.uniform_noise_mse(qp), rel=0.05)
    assert q.sqnr_db(x, q.fake_quantize(x, 8)) == pytest.approx(6.02 * 8, abs=0.5)
    g = np.random.default_rng(3).standard_t(2, 200_000)
    clipped = q.calibrate(g, 4, method="percentile", percentile=95)
    assert q.mse(g, q.dequantize(q.quantize(g, clipped), clipped)) > \
        5 * q.uniform_noise_mse(clipped)


# ---------------------------------------------------------------- binary and ternary

def test_binarize_and_ternarize_by_hand():
    """Binary: sign * mean|w|; ternary: TWN threshold 0.7 * mean|w|, alpha over kept weights."""
    w = np.array([0.9, -0.1, 0.3, -1.0])
    np.testing.assert_allclose(q.binarize(w), 0.575 * np.array([1, -1, 1, -1]))
    # threshold 0.7 * 0.575 = 0.4025 keeps 0.9 and -1.0; alpha = 0.95
    np.testing.assert_allclose(q.ternarize(w), [0.95, 0, 0, -0.95])
    per_row = q.binarize(np.array([[1.0, -3.0], [0.5, 0.5]]), axis=0)
    np.testing.assert_allclose(per_row, [[2.0, -2.0], [0.5, 0.5]])


# ---------------------------------------------------------------- k-means

@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 300), elements=FLOATS), st.integers(1, 8))
def test_kmeans_codebook_and_no_worse_than_linear(w, bits):
    """Codebook size <= 2^bits, valid indices, and Lloyd never ends worse than its linear init."""
    codebook, idx = q.kmeans_quantize(w, bits)
    assert 1 <= len(codebook) <= 2**bits and idx.shape == w.shape
    assert idx.min() >= 0 and idx.max() < len(codebook)
    linear = np.linspace(w.min(), w.max(), 2**bits)
    linear_mse = q.mse(w, linear[q._assign(w, linear)])
    assert q.mse(w, codebook[idx]) <= linear_mse * (1 + 1e-6) + 1e-9


def test_centroid_gradients_sum_per_cluster():
    """The gradient of a shared centroid is the sum over its weights."""
    grad = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(q.centroid_gradients(grad, np.array([[0, 1], [1, 2]]), 4),
                               [1.0, 5.0, 4.0, 0.0])


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, error, match", [
    (lambda: q.calibrate(np.ones(3), bits=0), ValueError, "bits"),
    (lambda: q.calibrate(np.ones(3), bits=17), ValueError, "bits"),
    (lambda: q.calibrate(np.ones(3), bits=2.5), ValueError, "bits"),
    (lambda: q.calibrate(np.ones(3), bits=True), ValueError, "bits"),
    (lambda: q.calibrate(np.array([]), bits=8), ValueError, "empty"),
    (lambda: q.calibrate(np.array([1.0, np.nan]), bits=8), ValueError, "finite"),
    (lambda: q.calibrate(np.array([1.0, np.inf]), bits=8), ValueError, "finite"),
    (lambda: q.calibrate(np.ones((2, 2)), axis=2), ValueError, "axis"),
    (lambda: q.calibrate(np.ones(3), method="mse"), ValueError, "method"),
    (lambda: q.calibrate(np.ones(3), method="percentile", percentile=30), ValueError,
     "percentile"),
    (lambda: q.calibrate(np.array(["a"]), bits=8), TypeError, "numeric"),
    (lambda: q.quantize(np.ones(3), q.calibrate(np.ones((2, 2)), axis=1)), ValueError, "axis"),
    (lambda: q.quantize(np.ones(3), "qp"), TypeError, "QParams"),
    (lambda: q.kmeans_quantize(np.ones(3), bits=0), ValueError, "bits"),
    (lambda: q.kmeans_quantize(np.ones(3), bits=2, iters=-1), ValueError, "iters"),
    (lambda: q.ternarize(np.ones(3), threshold=-1), ValueError, "threshold"),
    (lambda: q.binarize(np.ones(3), axis=1), ValueError, "axis"),
    (lambda: q.multiply_by_quantized_multiplier(1, 1, 0, rounding="up"), ValueError, "rounding"),
    (lambda: q.quantize_multiplier(-1.0), ValueError, "multipliers"),
])
def test_bad_input(call, error, match):
    """Bad bits, arrays, axes, methods and modes get clear errors."""
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- fixed-point arithmetic

@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 0.999, allow_subnormal=False))
def test_quantize_multiplier_represents_m(m):
    """M0 in [2^30, 2^31) and M0 * 2^(shift - 31) equals M to 31-bit precision."""
    m0, shift = q.quantize_multiplier(m)
    assert 2**30 <= int(m0) < 2**31
    assert int(m0) * 2.0 ** (int(shift) - 31) == pytest.approx(m, rel=2**-30)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**24), 2**24), st.floats(1e-4, 0.999, allow_subnormal=False))
def test_requantization_rounds_to_nearest(acc, m):
    """Both roundings are within one unit of acc * M and within one unit of each other."""
    m0, shift = q.quantize_multiplier(m)
    single = int(q.multiply_by_quantized_multiplier(np.array(acc), m0, shift, "single"))
    double = int(q.multiply_by_quantized_multiplier(np.array(acc), m0, shift, "double"))
    exact = acc * int(m0) * 2.0 ** (int(shift) - 31)
    assert abs(single - exact) <= 0.5 + 1e-9 and abs(double - single) <= 1


def test_requantization_ties():
    """M = 1/4: single rounding breaks ties upwards; double rounding rounds 1.25 twice to 2."""
    m0, shift = q.quantize_multiplier(0.25)
    assert (int(m0), int(shift)) == (2**30, -1)
    acc = np.array([6, -6, 5])  # exact: 1.5, -1.5, 1.25
    np.testing.assert_array_equal(q.multiply_by_quantized_multiplier(acc, m0, shift, "single"),
                                  [2, -1, 1])
    np.testing.assert_array_equal(q.multiply_by_quantized_multiplier(acc, m0, shift, "double"),
                                  [2, -2, 2])


# ---------------------------------------------------------------- models: int8, k-means, QAT

def test_integer_only_inference_matches_litert(trained, mnist):
    """Our numpy int8 pipeline equals LiteRT's reference kernels bit for bit, and our own
    quantizer reproduces the converter's parameters."""
    (x, _), (xt, _) = mnist
    buf = export.to_tflite(trained, "int8", representative=x[:200])
    layers = q.int_network_from_tflite(buf)
    ours = q.int_network_forward(layers, xt)
    np.testing.assert_array_equal(ours, export.predict_tflite(buf, xt, raw=True,
                                                              resolver="reference"))
    optimized = export.predict_tflite(buf, xt, raw=True, resolver="builtin")
    assert np.abs(q.int_network_forward(layers, xt, "double").astype(int) - optimized).max() <= 1
    own = q.int_network_forward(q.int_network_from_keras(trained, x[:200]), xt)
    assert np.abs(own.astype(int) - ours).max() <= 1
    assert np.mean(own.argmax(1) == ours.argmax(1)) > 0.99


def test_kmeans_model_and_finetuning(trained, mnist):
    """Shared kernels keep <= 2^bits distinct values through centroid fine-tuning."""
    (x, y), _ = mnist
    shared, books = q.kmeans_model(trained, bits=2)
    before = {n: c.copy() for n, (c, _) in books.items()}
    after = q.finetune_kmeans(shared, books, (x[:512], y[:512]), epochs=1, progress=False)
    for layer in q.kernel_layers(shared):
        codebook, idx = after[layer.name]
        assert len(np.unique(np.asarray(layer.kernel))) <= 4
        np.testing.assert_allclose(np.asarray(layer.kernel), codebook[idx], rtol=1e-6)
        assert not np.allclose(codebook, before[layer.name])
    assert len(np.unique(np.asarray(trained.layers[0].kernel))) > 4  # original untouched


def test_weight_quantization_helpers(trained):
    """quantize_weights / map_weights copy the model and change only the chosen kernels."""
    lin = q.quantize_weights(trained, 2, per_channel=False, layers=["fc1"])
    assert len(np.unique(np.asarray(lin.get_layer("fc1").kernel))) <= 3
    np.testing.assert_array_equal(lin.get_layer("fc2").kernel, trained.get_layer("fc2").kernel)
    tern = q.map_weights(trained, q.ternarize)
    assert all(len(np.unique(np.asarray(k.kernel))) <= 3 for k in q.kernel_layers(tern))
    with pytest.raises(ValueError, match="not kernel layers"):
        q.kernel_layers(trained, ["nope"])


def test_straight_through_estimator():
    """Weight fake-quant passes gradients unchanged; activations get none outside the range."""
    w = tf.Variable(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(q.fake_quant_weight(w, 4, (0,)))
    np.testing.assert_allclose(tape.gradient(loss, w), np.ones((5, 3)))
    x = tf.Variable([-2.0, 0.5, 3.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(q.fake_quant_activation(x, -1.0, 1.0, 8))
    np.testing.assert_allclose(tape.gradient(loss, x), [0.0, 1.0, 0.0])


def test_qat_dense_model_trains_and_exports(trained, mnist):
    """8-bit QAT ~ float; training tracks ranges; the stripped model exports to full int8."""
    (x, y), (xt, yt) = mnist
    qmodel = q.calibrate_activations(q.quantize_model(trained, 8, 8), x[:500])
    assert abs(models.accuracy(qmodel, xt, yt) - models.accuracy(trained, xt, yt)) < 0.02
    models.compile_classifier(qmodel, 1e-4)
    models.train(qmodel, (x[:512], y[:512]), epochs=1, progress=False)
    act = qmodel.get_layer("fc1_act_quant")
    assert float(act.range_min) == 0.0 and float(act.range_max) > 0.0
    plain = q.strip_quantization(qmodel)
    assert not any(isinstance(layer, q.ActivationQuantizer) for layer in plain.layers)
    kernel = np.asarray(plain.get_layer("fc1").kernel)
    assert max(len(np.unique(col)) for col in kernel.T) <= 255
    buf = export.to_tflite(plain, "int8", representative=x[:100])
    assert export.evaluate_tflite(buf, xt, yt) > models.accuracy(trained, xt, yt) - 0.05


def test_qat_conv_layers():
    """Conv2D and DepthwiseConv2D get per-channel fake-quant kernels on a 2-bit grid."""
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c"),
                              keras.layers.DepthwiseConv2D(3, name="d"),
                              keras.layers.Flatten(), keras.layers.Dense(2, name="o")])
    qmodel = q.quantize_model(model, weight_bits=2, activation_bits=8)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype(np.float32)
    q.calibrate_activations(qmodel, x)
    assert qmodel(x).shape == (4, 2)
    for name, axes in (("c", (0, 1, 2)), ("d", (0, 1))):
        layer = qmodel.get_layer(name)
        assert q.channel_axes(layer) == axes
        kernel = np.asarray(layer.quantized_kernel())
        scale = np.abs(kernel).max(axis=axes, keepdims=True)
        assert set(np.unique(np.round(kernel / np.where(scale > 0, scale, 1), 6))) <= {-1, 0, 1}
    plain = q.strip_quantization(qmodel)
    assert [type(layer) for layer in plain.layers] == [type(layer) for layer in model.layers]


def test_qat_rejects_functional_models():
    """QAT rewrites Sequential models only, and needs at least 2 bits."""
    inp = keras.Input((4,))
    functional = keras.Model(inp, keras.layers.Dense(2)(inp))
    with pytest.raises(TypeError, match="Sequential"):
        q.quantize_model(functional)
    with pytest.raises(ValueError, match="bits"):
        q.quantize_model(models.seed_mlp(), weight_bits=1)


def test_qat_layers_round_trip_through_config():
    for layer in (q.QuantDense(4, weight_bits=3), q.QuantConv2D(2, 3, weight_bits=5),
                  q.QuantDepthwiseConv2D(3, weight_bits=6)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.weight_bits == layer.weight_bits
        assert clone.get_config() == layer.get_config()
