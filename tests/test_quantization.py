"""Tests for compress_lib.quantization: the numpy math (with hypothesis) and references."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compress_lib import quantization as q

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
    tf = pytest.importorskip("tensorflow")
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
    (lambda: q.calibrate(np.ones(3), bits=2.5), TypeError, "bits"),
    (lambda: q.calibrate(np.ones(3), bits=True), TypeError, "bits"),
    (lambda: q.calibrate(np.ones(3), bits="8"), TypeError, "bits"),
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
    (lambda: q.kmeans_quantize(np.ones(3), bits=2, iters=1.0), TypeError, "iters"),
    (lambda: q.ternarize(np.ones(3), threshold=-1), ValueError, "threshold"),
    (lambda: q.ternarize(np.ones(3), threshold="0.7"), TypeError, "threshold"),
    (lambda: q.binarize(np.ones(3), axis=1), ValueError, "axis"),
    (lambda: q.binarize(np.ones(3), axis=0.0), TypeError, "axis"),
    (lambda: q.centroid_gradients(np.ones(2), np.zeros(2, int), 0), ValueError, "n_clusters"),
])
def test_bad_input(call, error, match):
    """Bad bits, arrays, axes, methods and modes get clear errors."""
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- structure

def test_import_is_numpy_only():
    """Importing the array quantizers imports neither TensorFlow nor Keras."""
    code = ("import sys, compress_lib.quantization; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_round_half_away():
    """Ties go away from zero (TFLite), unlike numpy's round-half-to-even."""
    np.testing.assert_array_equal(q.round_half_away(np.array([0.5, 1.5, -0.5, -2.5, 0.4])),
                                  [1, 2, -1, -3, 0])


# ---------------------------------------------------------------- k-means keeping pruned zeros

PRUNED = hnp.arrays(np.float64, st.integers(1, 300),
                    elements=st.one_of(st.just(0.0), FLOATS.filter(lambda v: v != 0)))


@settings(max_examples=100, deadline=None)
@given(w=PRUNED, bits=st.integers(2, 8))
def test_kmeans_keep_zeros_reserves_index_0_for_the_zeros(w, bits):
    """Zeros get index 0 = 0.0 exactly; nonzeros share the other centroids, nearest first."""
    if not np.any(w):
        with pytest.raises(ValueError, match="keep_zeros needs bits >= 2 and a nonzero weight"):
            q.kmeans_quantize(w, bits, keep_zeros=True)
        return
    codebook, idx = q.kmeans_quantize(w, bits, keep_zeros=True)
    assert codebook.dtype == np.float32 and idx.shape == w.shape
    assert codebook[0] == 0.0 and 2 <= len(codebook) <= 2**bits
    assert np.all(idx[w == 0] == 0) and np.all(idx[w != 0] >= 1) and idx.max() < len(codebook)
    assert np.all(codebook[idx][w == 0] == 0.0)
    nonzero = w[w != 0]  # each nonzero sits at its nearest nonzero-weight centroid
    distance = np.abs(nonzero[:, None] - codebook[1:][None, :].astype(np.float64))
    chosen = np.abs(nonzero - codebook[idx[w != 0]])
    np.testing.assert_allclose(chosen, distance.min(axis=1), rtol=0,
                               atol=1e-6 * (1 + np.abs(w).max()))


def test_kmeans_keep_zeros_small_example():
    """Three clusters of nonzeros (bits=2 leaves 3 centroids) beside the reserved zero."""
    w = np.array([[0.0, 0.0, 0.1, 0.2], [5.0, 5.2, -3.0, 0.0]])
    codebook, idx = q.kmeans_quantize(w, 2, keep_zeros=True)
    np.testing.assert_allclose(codebook, [0.0, -3.0, 0.15, 5.1], rtol=1e-6)
    np.testing.assert_array_equal(idx, [[0, 0, 2, 2], [3, 3, 1, 0]])
    # without keep_zeros the zeros share a centroid with 0.1 and 0.2: (0.1 + 0.2) / 5
    plain_book, plain_idx = q.kmeans_quantize(w, 2)
    np.testing.assert_allclose(plain_book[plain_idx][w == 0], 0.06, rtol=1e-6)


def test_kmeans_keep_zeros_bad_input():
    with pytest.raises(TypeError, match="keep_zeros must be True or False"):
        q.kmeans_quantize(np.ones(3), 2, keep_zeros=1)
    with pytest.raises(ValueError, match="keep_zeros needs bits >= 2 .* got bits=1"):
        q.kmeans_quantize(np.ones(3), 1, keep_zeros=True)
    with pytest.raises(ValueError, match="got bits=2 and 0 nonzeros"):
        q.kmeans_quantize(np.zeros((2, 2)), 2, keep_zeros=True)
