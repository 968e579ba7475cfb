"""Quantization (量化) of numpy arrays: uniform affine/symmetric, binary/ternary, k-means.

- Uniform quantization r = S (q - Z) (Jacob et al. 2018): `calibrate` chooses S and Z
  (min/max or percentile, per tensor or per channel, 1-16 bits), `quantize`,
  `dequantize`, `fake_quantize`; error measures E = 1/2 sum (theta - theta_q)^2, MSE, SQNR.
- Binary (sign x mean|w|) and ternary (TWN, threshold 0.7 mean|w|) weights.
- k-means weight sharing (Deep Compression): the codebook and the centroid gradients.

NumPy-only: importing it does not import TensorFlow. Keras models are quantized by
`compress_lib.ptq` (after training), `compress_lib.qat` (during training) and run
integer-only by `compress_lib.integer`.
Introduced in notebooks/02_quantization.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compress_lib._checks import check_bool
from compress_lib._checks import check_choice
from compress_lib._checks import check_int
from compress_lib._checks import check_int_array
from compress_lib._checks import check_number
from compress_lib._checks import check_numeric
from compress_lib._checks import check_same_shape

__all__ = ["MAX_BITS", "METHODS", "QParams", "binarize", "calibrate", "centroid_gradients",
           "dequantize", "fake_quantize", "kmeans_quantize", "mse", "qrange",
           "quantization_error", "quantize", "round_half_away", "sqnr_db", "ternarize",
           "uniform_noise_mse", "value_range"]

MAX_BITS = 16
METHODS = ("minmax", "percentile")


def _check_bits(bits: int, low: int = 1) -> int:
    """Bits as an int in [low, MAX_BITS]."""
    return check_int("bits", bits, low, MAX_BITS)


def _check_axis(axis: int | None, ndim: int) -> int | None:
    """Normalise a channel axis (None = per tensor) for an array of rank ndim."""
    return None if axis is None else check_int("axis", axis, -ndim, ndim - 1) % ndim


def _per_channel(x: np.ndarray, axis: int | None) -> np.ndarray:
    """x as a 2-D array (channels, values); one row for per-tensor."""
    return x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)


def _broadcast(v: np.ndarray, axis: int | None, ndim: int) -> np.ndarray:
    """A per-channel vector reshaped to broadcast against an ndim array along axis."""
    if axis is None:
        return v.reshape(())
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def round_half_away(v: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero (as TFLite and C's round())."""
    v = check_numeric("v", v, dtype=None)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


# ---------------------------------------------------------------- uniform quantization

def qrange(bits: int, symmetric: bool = False) -> tuple[int, int]:
    """Signed integer range: [-2^(b-1), 2^(b-1)-1], or narrow [-(2^(b-1)-1), ...] if symmetric."""
    bits = _check_bits(bits, low=2 if check_bool("symmetric", symmetric) else 1)
    qmax = 2 ** (bits - 1) - 1
    return (-qmax if symmetric else -qmax - 1), qmax


@dataclass(frozen=True)
class QParams:
    """Scale S and zero point Z (one per channel along `axis`, or one per tensor)."""

    scale: np.ndarray
    zero_point: np.ndarray
    bits: int
    symmetric: bool
    axis: int | None

    @property
    def qmin(self) -> int:
        """Smallest integer code."""
        return qrange(self.bits, self.symmetric)[0]

    @property
    def qmax(self) -> int:
        """Largest integer code."""
        return qrange(self.bits, self.symmetric)[1]

    def levels(self) -> np.ndarray:
        """All representable real values (per channel: rows), r = S (q - Z)."""
        q = np.arange(self.qmin, self.qmax + 1)
        return self.scale[:, None] * (q[None, :] - self.zero_point[:, None])


def value_range(x: np.ndarray, axis: int | None = None, method: str = "minmax",
                percentile: float = 99.99) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (or per-tensor) [lo, hi] from min/max or from percentiles."""
    check_choice("method", method, METHODS)
    x = check_numeric("x", x, dtype=None)
    rows = _per_channel(x, _check_axis(axis, x.ndim))
    if method == "minmax":
        return rows.min(axis=1), rows.max(axis=1)
    percentile = check_number("percentile", percentile, 50.0, 100.0, low_open=True)
    lo, hi = np.percentile(rows, [100.0 - percentile, percentile], axis=1)
    return lo, hi


def _scale_and_zero(lo: np.ndarray, hi: np.ndarray, qmin: int, qmax: int, symmetric: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """S and Z mapping [lo, hi] (which contains 0) onto [qmin, qmax]."""
    scale = np.maximum(-lo, hi) / qmax if symmetric else (hi - lo) / (qmax - qmin)
    positive = scale[scale > 0]  # an all-zero channel is exact with any step: reuse the finest
    scale = np.where(scale > 0, scale, positive.min() if positive.size else 1.0)
    if symmetric:
        return scale, np.zeros_like(scale, dtype=np.int64)
    return scale, np.clip(np.round(qmin - lo / scale), qmin, qmax).astype(np.int64)


def calibrate(x: np.ndarray, bits: int = 8, symmetric: bool = False, axis: int | None = None,
              method: str = "minmax", percentile: float = 99.99) -> QParams:
    """Choose S and Z so that [lo, hi] (widened to contain 0) maps onto the integer grid."""
    x = check_numeric("x", x)
    axis = _check_axis(axis, x.ndim)
    qmin, qmax = qrange(bits, symmetric)
    lo, hi = value_range(x, axis, method, percentile)
    lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)  # zero must be exactly representable
    scale, zero_point = _scale_and_zero(lo, hi, qmin, qmax, symmetric)
    return QParams(scale.astype(np.float64), zero_point, int(bits), bool(symmetric), axis)


def _check_qparams(qp: QParams, shape: tuple[int, ...] | None = None) -> None:
    """A QParams whose channel count fits an array of this shape (one channel per tensor)."""
    if not isinstance(qp, QParams):
        raise TypeError(f"qp must be a QParams (from calibrate), got {type(qp).__name__}")
    if shape is None:
        return
    if qp.axis is not None and qp.axis >= len(shape):
        raise ValueError(f"qp.axis={qp.axis} does not exist in a {len(shape)}-d array")
    channels = 1 if qp.axis is None else shape[qp.axis]
    if np.size(qp.scale) != channels or np.size(qp.zero_point) != channels:
        raise ValueError(f"qp has {np.size(qp.scale)} scales and {np.size(qp.zero_point)} zero "
                         f"points, but an array of shape {shape} needs {channels} "
                         f"(axis={qp.axis}); calibrate qp on an array of this shape")


def quantize(x: np.ndarray, qp: QParams) -> np.ndarray:
    """Integer codes q = clip(round(x / S) + Z, qmin, qmax) as int32."""
    x = check_numeric("x", x)
    _check_qparams(qp, x.shape)
    scale = _broadcast(qp.scale, qp.axis, x.ndim)
    zero_point = _broadcast(qp.zero_point, qp.axis, x.ndim)
    return np.clip(round_half_away(x / scale) + zero_point, qp.qmin, qp.qmax).astype(np.int32)


def dequantize(q: np.ndarray, qp: QParams) -> np.ndarray:
    """Real values r = S (q - Z) as float32."""
    _check_qparams(qp)
    q = check_int_array("q", q, qp.qmin, qp.qmax)
    _check_qparams(qp, q.shape)
    scale = _broadcast(qp.scale, qp.axis, q.ndim)
    zero_point = _broadcast(qp.zero_point, qp.axis, q.ndim)
    return (scale * (q.astype(np.float64) - zero_point)).astype(np.float32)


def fake_quantize(x: np.ndarray, bits: int = 8, symmetric: bool = False,
                  axis: int | None = None, method: str = "minmax",
                  percentile: float = 99.99) -> np.ndarray:
    """dequantize(quantize(x)): x snapped to its quantization grid, still float32."""
    qp = calibrate(x, bits, symmetric, axis, method, percentile)
    return dequantize(quantize(x, qp), qp)


# ---------------------------------------------------------------- error measures

def _difference(theta: np.ndarray, theta_q: np.ndarray) -> np.ndarray:
    """theta - theta_q for two checked arrays of the same shape (no broadcasting)."""
    theta, theta_q = check_numeric("theta", theta), check_numeric("theta_q", theta_q)
    check_same_shape("theta", theta, "theta_q", theta_q)
    return theta - theta_q


def quantization_error(theta: np.ndarray, theta_q: np.ndarray) -> float:
    """The article's formula 4.2.2: E = 1/2 sum ||theta - theta_q||^2."""
    diff = _difference(theta, theta_q)
    return float(0.5 * np.sum(diff**2))


def mse(theta: np.ndarray, theta_q: np.ndarray) -> float:
    """Mean squared quantization error."""
    return float(np.mean(_difference(theta, theta_q) ** 2))


def sqnr_db(theta: np.ndarray, theta_q: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio 10 log10(sum theta^2 / sum (theta - theta_q)^2)."""
    noise = np.sum(_difference(theta, theta_q) ** 2)
    theta = np.asarray(theta, dtype=np.float64)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(theta**2) / noise))


def uniform_noise_mse(qp: QParams) -> float:
    """Predicted MSE Delta^2/12 (rounding noise uniform in one step; ignores clipping)."""
    _check_qparams(qp)
    return float(np.mean(qp.scale**2) / 12.0)


# ---------------------------------------------------------------- binary and ternary

def binarize(w: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Binary weights alpha * sign(w) with alpha = mean |w| (per channel along axis)."""
    w = check_numeric("w", w)
    axis = _check_axis(axis, w.ndim)
    alpha = _broadcast(np.abs(_per_channel(w, axis)).mean(axis=1), axis, w.ndim)
    return (alpha * np.where(w >= 0, 1.0, -1.0)).astype(np.float32)


def ternarize(w: np.ndarray, threshold: float = 0.7, axis: int | None = None) -> np.ndarray:
    """Ternary weights (TWN): 0 where |w| <= t * mean|w|, else alpha * sign(w)."""
    w = check_numeric("w", w)
    axis = _check_axis(axis, w.ndim)
    threshold = check_number("threshold", threshold, 0.0, 2.0, high_open=True)
    rows = np.abs(_per_channel(w, axis))
    delta = threshold * rows.mean(axis=1, keepdims=True)
    keep = rows > delta
    alpha = (rows * keep).sum(axis=1) / np.maximum(keep.sum(axis=1), 1)
    mask = np.abs(w) > _broadcast(delta, axis, w.ndim)
    return (_broadcast(alpha, axis, w.ndim) * np.sign(w) * mask).astype(np.float32)


# ---------------------------------------------------------------- k-means weight sharing

def _assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (centroids sorted ascending)."""
    return np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)


def _lloyd(flat: np.ndarray, centroids: np.ndarray, iters: int) -> np.ndarray:
    """Lloyd's iterations on sorted 1-D centroids (empty clusters keep their centroid)."""
    k = len(centroids)
    for _ in range(iters):
        idx = _assign(flat, centroids)
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=flat, minlength=k)
        new = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), centroids))
        if np.array_equal(new, centroids):
            break
        centroids = new
    return centroids


def kmeans_quantize(w: np.ndarray, bits: int, iters: int = 50, keep_zeros: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Deep Compression weight sharing: 1-D k-means with linear init over [min, max].

    Returns (codebook float32 of at most 2^bits centroids, indices int32 shaped like w);
    codebook[indices] is the shared-weight tensor. Empty clusters are dropped. With
    keep_zeros (a pruned w), codebook[0] = 0 is reserved for the zeros, which stay zero, and
    the nonzeros share the other 2^bits - 1 centroids (notebooks/06_mnist_case_study.ipynb).
    """
    w = check_numeric("w", w)
    bits = _check_bits(bits)
    iters = check_int("iters", iters, low=0)
    if not check_bool("keep_zeros", keep_zeros):
        return _kmeans_flat(w.ravel(), 2**bits, iters, w.shape)
    nonzero = w != 0
    if bits == 1 or not nonzero.any():
        raise ValueError(f"keep_zeros needs bits >= 2 and a nonzero weight (index 0 is the "
                         f"zero), got bits={bits} and {int(nonzero.sum())} nonzeros")
    codebook, idx = _kmeans_flat(w[nonzero], 2**bits - 1, iters, (int(nonzero.sum()),))
    indices = np.zeros(w.shape, dtype=np.int32)
    indices[nonzero] = idx + 1
    return np.concatenate([[0.0], codebook]).astype(np.float32), indices


def _kmeans_flat(flat: np.ndarray, k: int, iters: int, shape: tuple[int, ...]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """k-means of 1-D values with linear init; (used centroids, indices reshaped to shape)."""
    centroids = _lloyd(flat, np.linspace(flat.min(), flat.max(), k), iters)
    idx = _assign(flat, centroids)
    used = np.unique(idx)
    indices = np.searchsorted(used, idx).reshape(shape).astype(np.int32)
    return centroids[used].astype(np.float32), indices


def centroid_gradients(grad: np.ndarray, indices: np.ndarray, n_clusters: int) -> np.ndarray:
    """Gradient of each shared centroid: the sum of the weight gradients of its cluster."""
    n_clusters = check_int("n_clusters", n_clusters, low=1)
    grad = check_numeric("grad", grad)
    indices = check_int_array("indices", indices, 0, n_clusters - 1)
    check_same_shape("grad", grad, "indices", indices)
    return np.bincount(indices.ravel(), weights=grad.ravel(), minlength=n_clusters)
