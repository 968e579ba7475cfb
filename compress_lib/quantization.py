"""Quantization (量化): uniform affine/symmetric, k-means sharing, binary/ternary, int8, QAT.

- Uniform quantization r = S (q - Z) (Jacob et al. 2018): `calibrate` chooses S and Z
  (min/max or percentile, per tensor or per channel, 1-16 bits), `quantize`,
  `dequantize`, `fake_quantize`; error measures E = 1/2 sum (theta - theta_q)^2, MSE, SQNR.
- Binary (sign x mean|w|) and ternary (TWN, threshold 0.7 mean|w|) weights.
- k-means weight sharing (Deep Compression) with centroid fine-tuning.
- Integer-only inference of a dense int8 network in numpy with fixed-point requantization,
  bit-exact with LiteRT's kernels.
- Quantization-aware training for Keras 3: fake-quant layers with a straight-through
  estimator, tracked activation ranges, and export to a full-int8 .tflite file.
Introduced in notebooks/02_quantization.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

MAX_BITS = 16
METHODS = ("minmax", "percentile")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


# ---------------------------------------------------------------- validation helpers

def _check_array(name: str, x: np.ndarray) -> np.ndarray:
    """A non-empty, finite float64 array (ValueError/TypeError otherwise)."""
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr.astype(np.float64)


def _check_bits(bits: int, low: int = 1) -> int:
    """Bits as an int in [low, MAX_BITS]."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) \
            or not low <= bits <= MAX_BITS:
        raise ValueError(f"bits must be an int in [{low}, {MAX_BITS}], got {bits!r}")
    return int(bits)


def _check_axis(axis: int | None, ndim: int) -> int | None:
    """Normalise a channel axis (None = per tensor) for an array of rank ndim."""
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer) or not -ndim <= axis < ndim:
        raise ValueError(f"axis must be None or an int in [{-ndim}, {ndim - 1}] "
                         f"for a {ndim}-d array, got {axis!r}")
    return int(axis) % ndim


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


# ---------------------------------------------------------------- uniform quantization

def qrange(bits: int, symmetric: bool = False) -> tuple[int, int]:
    """Signed integer range: [-2^(b-1), 2^(b-1)-1], or narrow [-(2^(b-1)-1), ...] if symmetric."""
    bits = _check_bits(bits, low=2 if symmetric else 1)
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
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rows = _per_channel(x, axis)
    if method == "minmax":
        return rows.min(axis=1), rows.max(axis=1)
    if not 50.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (50, 100], got {percentile}")
    lo, hi = np.percentile(rows, [100.0 - percentile, percentile], axis=1)
    return lo, hi


def calibrate(x: np.ndarray, bits: int = 8, symmetric: bool = False, axis: int | None = None,
              method: str = "minmax", percentile: float = 99.99) -> QParams:
    """Choose S and Z so that [lo, hi] (widened to contain 0) maps onto the integer grid."""
    x = _check_array("x", x)
    axis = _check_axis(axis, x.ndim)
    qmin, qmax = qrange(bits, symmetric)
    lo, hi = value_range(x, axis, method, percentile)
    lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)  # zero must be exactly representable
    if symmetric:
        scale = np.maximum(-lo, hi) / qmax
        zero_point = np.zeros_like(scale, dtype=np.int64)
    else:
        scale = (hi - lo) / (qmax - qmin)
    positive = scale[scale > 0]  # an all-zero channel is exact with any step: reuse the finest
    scale = np.where(scale > 0, scale, positive.min() if positive.size else 1.0)
    if not symmetric:
        zero_point = np.clip(np.round(qmin - lo / scale), qmin, qmax).astype(np.int64)
    return QParams(scale.astype(np.float64), zero_point, int(bits), bool(symmetric), axis)


def _round(v: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero (as TFLite and C's round())."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _check_qparams(qp: QParams, ndim: int) -> None:
    """The parameters must fit an array of rank ndim."""
    if not isinstance(qp, QParams):
        raise TypeError(f"qp must be a QParams (from calibrate), got {type(qp).__name__}")
    if qp.axis is not None and qp.axis >= ndim:
        raise ValueError(f"qp.axis={qp.axis} does not exist in a {ndim}-d array")


def quantize(x: np.ndarray, qp: QParams) -> np.ndarray:
    """Integer codes q = clip(round(x / S) + Z, qmin, qmax) as int32."""
    x = _check_array("x", x)
    _check_qparams(qp, x.ndim)
    scale = _broadcast(qp.scale, qp.axis, x.ndim)
    zero_point = _broadcast(qp.zero_point, qp.axis, x.ndim)
    return np.clip(_round(x / scale) + zero_point, qp.qmin, qp.qmax).astype(np.int32)


def dequantize(q: np.ndarray, qp: QParams) -> np.ndarray:
    """Real values r = S (q - Z) as float32."""
    q = np.asarray(q)
    _check_qparams(qp, q.ndim)
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

def quantization_error(theta: np.ndarray, theta_q: np.ndarray) -> float:
    """The article's formula 4.2.2: E = 1/2 sum ||theta - theta_q||^2."""
    diff = _check_array("theta", theta) - _check_array("theta_q", theta_q)
    return float(0.5 * np.sum(diff**2))


def mse(theta: np.ndarray, theta_q: np.ndarray) -> float:
    """Mean squared quantization error."""
    return float(np.mean((_check_array("theta", theta) - _check_array("theta_q", theta_q)) ** 2))


def sqnr_db(theta: np.ndarray, theta_q: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio 10 log10(sum theta^2 / sum (theta - theta_q)^2)."""
    theta = _check_array("theta", theta)
    noise = np.sum((theta - _check_array("theta_q", theta_q)) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(theta**2) / noise))


def uniform_noise_mse(qp: QParams) -> float:
    """Predicted MSE Delta^2/12 (rounding noise uniform in one step; ignores clipping)."""
    return float(np.mean(qp.scale**2) / 12.0)


# ---------------------------------------------------------------- binary and ternary

def binarize(w: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Binary weights alpha * sign(w) with alpha = mean |w| (per channel along axis)."""
    w = _check_array("w", w)
    axis = _check_axis(axis, w.ndim)
    alpha = _broadcast(np.abs(_per_channel(w, axis)).mean(axis=1), axis, w.ndim)
    return (alpha * np.where(w >= 0, 1.0, -1.0)).astype(np.float32)


def ternarize(w: np.ndarray, threshold: float = 0.7, axis: int | None = None) -> np.ndarray:
    """Ternary weights (TWN): 0 where |w| <= t * mean|w|, else alpha * sign(w)."""
    w = _check_array("w", w)
    axis = _check_axis(axis, w.ndim)
    if not 0.0 <= threshold < 2.0:
        raise ValueError(f"threshold must be in [0, 2), got {threshold}")
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


def kmeans_quantize(w: np.ndarray, bits: int, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Deep Compression weight sharing: 1-D k-means with linear init over [min, max].

    Returns (codebook float32 of at most 2^bits centroids, indices int32 shaped like w);
    codebook[indices] is the shared-weight tensor. Empty clusters are dropped.
    """
    w = _check_array("w", w)
    bits = _check_bits(bits)
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 0:
        raise ValueError(f"iters must be a non-negative int, got {iters!r}")
    flat, k = w.ravel(), 2**bits
    centroids = np.linspace(flat.min(), flat.max(), k)
    for _ in range(iters):
        idx = _assign(flat, centroids)
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=flat, minlength=k)
        new = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), centroids))
        if np.array_equal(new, centroids):
            break
        centroids = new
    idx = _assign(flat, centroids)
    used = np.unique(idx)
    indices = np.searchsorted(used, idx).reshape(w.shape).astype(np.int32)
    return centroids[used].astype(np.float32), indices


def centroid_gradients(grad: np.ndarray, indices: np.ndarray, n_clusters: int) -> np.ndarray:
    """Gradient of each shared centroid: the sum of the weight gradients of its cluster."""
    grad, indices = np.asarray(grad), np.asarray(indices)
    if grad.shape != indices.shape:
        raise ValueError(f"grad and indices must have the same shape, got {grad.shape} "
                         f"and {indices.shape}")
    return np.bincount(indices.ravel(), weights=grad.ravel(), minlength=n_clusters)


def kmeans_model(model: keras.Model, bits: int, layers: list[str] | None = None,
                 ) -> tuple[keras.Model, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """A copy of model with k-means shared kernels, and {layer: (codebook, indices)}."""
    clone = clone_with_weights(model)
    books = {}
    for layer in kernel_layers(clone, layers):
        codebook, indices = kmeans_quantize(np.asarray(layer.kernel), bits)
        layer.kernel.assign(codebook[indices])
        books[layer.name] = (codebook, indices)
    return clone, books


def finetune_kmeans(model: keras.Model, books: dict[str, tuple[np.ndarray, np.ndarray]],
                    data: tuple[np.ndarray, np.ndarray], epochs: int = 1, batch_size: int = 128,
                    learning_rate: float = 1e-4, progress: bool = True) -> dict:
    """Train only the shared centroids (gradients summed per cluster, Adam); updates model."""
    import tensorflow as tf
    from tqdm.auto import tqdm

    x, y = data
    names = list(books)
    layers = [model.get_layer(n) for n in names]
    codebooks = [keras.Variable(books[n][0], name=f"{n}_codebook") for n in names]
    indices = [tf.constant(books[n][1]) for n in names]
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(codebooks)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, [layer.kernel for layer in layers])
        cgrads = [tf.math.unsorted_segment_sum(g, i, tf.shape(c)[0])
                  for g, i, c in zip(grads, indices, codebooks, strict=True)]
        optimizer.apply(cgrads, codebooks)
        for layer, c, i in zip(layers, codebooks, indices, strict=True):
            layer.kernel.assign(tf.gather(c, i))
        return loss

    rng = np.random.default_rng(0)
    for _ in tqdm(range(epochs), desc="centroid fine-tuning", disable=not progress):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            step(tf.constant(x[batch]), tf.constant(y[batch]))
    return {n: (np.asarray(c), books[n][1]) for n, c in zip(names, codebooks, strict=True)}


# ---------------------------------------------------------------- helpers on Keras models

KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def kernel_layers(model: keras.Model, names: list[str] | None = None) -> list:
    """The Dense/Conv2D/DepthwiseConv2D layers of model (or those named in names)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    found = [layer for layer in model.layers if isinstance(layer, KERNEL_LAYERS)]
    if names is None:
        return found
    by_name = {layer.name: layer for layer in found}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"layers {missing} are not kernel layers of the model; "
                         f"choose from {sorted(by_name)}")
    return [by_name[n] for n in names]


def clone_with_weights(model: keras.Model) -> keras.Model:
    """An independent copy of a model with the same weights."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def channel_axes(layer: keras.layers.Layer) -> tuple[int, ...]:
    """Kernel axes reduced for per-output-channel ranges (all but the channel axes)."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return (0, 1)  # kernel (kh, kw, in, multiplier): one range per in*multiplier channel
    return tuple(range(len(layer.kernel.shape) - 1))


def quantize_weights(model: keras.Model, bits: int, symmetric: bool = True,
                     per_channel: bool = True, layers: list[str] | None = None,
                     method: str = "minmax") -> keras.Model:
    """A copy of model with the chosen kernels fake-quantized (linear, weights only)."""
    clone = clone_with_weights(model)
    for layer in kernel_layers(clone, layers):
        w = np.asarray(layer.kernel)
        axis = w.ndim - 1 if per_channel else None
        if per_channel and isinstance(layer, keras.layers.DepthwiseConv2D):
            axis = 2  # depthwise (kh, kw, in, 1): channels along 'in'
        layer.kernel.assign(fake_quantize(w, bits, symmetric, axis, method))
    return clone


def map_weights(model: keras.Model, fn, layers: list[str] | None = None) -> keras.Model:
    """A copy of model with fn(kernel) in place of each chosen kernel (binary, ternary...)."""
    clone = clone_with_weights(model)
    for layer in kernel_layers(clone, layers):
        layer.kernel.assign(np.asarray(fn(np.asarray(layer.kernel)), dtype=np.float32))
    return clone


# ---------------------------------------------------------------- integer-only inference

def quantize_multiplier(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M = M0 * 2^shift with M0 an int32 Q31 in [2^30, 2^31) (TFLite's QuantizeMultiplier)."""
    m = np.asarray(m, dtype=np.float64)
    if np.any(m < 0) or not np.all(np.isfinite(m)):
        raise ValueError("multipliers must be finite and >= 0")
    mant, shift = np.frexp(m)
    m0 = _round(mant * 2.0**31).astype(np.int64)
    overflow = m0 == 2**31
    m0, shift = np.where(overflow, m0 // 2, m0), np.where(overflow, shift + 1, shift)
    tiny = shift < -31
    return np.where(tiny, 0, m0), np.where(tiny, 0, shift).astype(np.int64)


def _rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31) for int32 a, b."""
    ab = a.astype(np.int64) * b.astype(np.int64)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    out = np.where(total >= 0, total >> 31, -((-total) >> 31))  # C division truncates
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, out)


def _rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero."""
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


ROUNDINGS = ("single", "double")


def multiply_by_quantized_multiplier(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray,
                                     rounding: str = "single") -> np.ndarray:
    """round(acc * M0 * 2^(shift-31)) with integer ops only, as TFLite does.

    'single': one rounding shift (LiteRT's reference kernels, TFLITE_SINGLE_ROUNDING);
    'double': gemmlowp's rounding high-multiply then rounding shift (optimized kernels).
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    acc = np.asarray(acc, dtype=np.int64)
    if rounding == "single":
        total = 31 - np.asarray(shift, dtype=np.int64)
        return (acc * m0 + (np.int64(1) << (total - 1))) >> total
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    shifted = np.clip(acc * (np.int64(1) << left), INT32_MIN, INT32_MAX)
    return _rounding_divide_by_pot(_rounding_doubling_high_mul(shifted, m0), right)


@dataclass(frozen=True)
class IntDense:
    """One int8 fully connected layer: y_q = requant(sum (x_q - Z_x) W_q + b_q) + Z_y."""

    weight: np.ndarray  # int8, (in, out)
    bias: np.ndarray  # int32, (out,), scale S_x * S_w
    input_scale: float
    input_zero_point: int
    weight_scale: np.ndarray  # (out,), symmetric: zero point 0
    output_scale: float
    output_zero_point: int
    relu: bool

    def multiplier(self) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point form of M = S_x S_w / S_y, per output channel."""
        m = (np.float64(self.input_scale) * self.weight_scale.astype(np.float64)
             / np.float64(self.output_scale))
        return quantize_multiplier(m)


def int_dense_forward(layer: IntDense, x_q: np.ndarray, rounding: str = "single") -> np.ndarray:
    """int8 in, int8 out; int32 accumulation (exact: float64 BLAS holds every int32 sum)."""
    centered = x_q.astype(np.float64) - layer.input_zero_point
    acc = (centered @ layer.weight.astype(np.float64)).astype(np.int64) + layer.bias
    if acc.min() < INT32_MIN or acc.max() > INT32_MAX:
        raise OverflowError("int32 accumulator overflow")
    m0, shift = layer.multiplier()
    y = multiply_by_quantized_multiplier(acc, m0, shift, rounding) + layer.output_zero_point
    lo = layer.output_zero_point if layer.relu else -128
    return np.clip(y, max(lo, -128), 127).astype(np.int8)


def int_network_forward(layers: list[IntDense], x: np.ndarray,
                        rounding: str = "single") -> np.ndarray:
    """Quantize float inputs with the first layer's (S, Z), run every layer in int8."""
    x = _check_array("x", x)
    first = layers[0]
    q = np.clip(_round(x / first.input_scale) + first.input_zero_point, -128, 127)
    q = q.astype(np.int8)
    for layer in layers:
        q = int_dense_forward(layer, q, rounding)
    return q


def int_network_from_tflite(buffer: bytes) -> list[IntDense]:
    """Read the int8 weights, biases, scales and zero points of a full-int8 dense .tflite."""
    from compress_lib import export

    interp = export.interpreter(buffer, resolver="reference")
    details = {t["index"]: t for t in interp.get_tensor_details()}
    layers = []
    for op in interp._get_ops_details():
        if op["op_name"] != "FULLY_CONNECTED":
            raise ValueError(f"only full-int8 dense networks are supported, found {op['op_name']}")
        x, w, b = (details[i] for i in op["inputs"])
        y = details[op["outputs"][0]]
        if w["dtype"] != np.int8 or x["dtype"] != np.int8:
            raise ValueError("the model must be full-int8 (export.to_tflite(..., 'int8'))")
        layers.append(IntDense(
            weight=interp.get_tensor(w["index"]).T.copy(),
            bias=interp.get_tensor(b["index"]).astype(np.int64),
            input_scale=float(x["quantization"][0]), input_zero_point=int(x["quantization"][1]),
            weight_scale=w["quantization_parameters"]["scales"].astype(np.float64),
            output_scale=float(y["quantization"][0]),
            output_zero_point=int(y["quantization"][1]), relu="Relu" in y["name"]))
    return layers


def int_network_from_keras(model: keras.Model, calibration: np.ndarray) -> list[IntDense]:
    """Our own full-int8 quantizer for a Dense/ReLU network: per-channel weights, min/max."""
    dense = kernel_layers(model)
    if not dense or any(not isinstance(layer, keras.layers.Dense) for layer in dense):
        raise ValueError("int_network_from_keras supports models made of Dense layers only")
    act = _check_array("calibration", calibration).astype(np.float32)
    in_qp = calibrate(act, 8)
    layers = []
    for layer in dense:
        relu = layer.activation is keras.activations.relu
        out = np.asarray(layer(act))
        out_qp = calibrate(out, 8)
        w, b = np.asarray(layer.kernel, np.float64), np.asarray(layer.bias, np.float64)
        w_qp = calibrate(w, 8, symmetric=True, axis=1)
        bias_scale = np.float32(in_qp.scale[0]) * w_qp.scale.astype(np.float32)
        layers.append(IntDense(
            weight=quantize(w, w_qp).astype(np.int8),
            bias=_round(b / bias_scale).astype(np.int64),
            input_scale=float(np.float32(in_qp.scale[0])),
            input_zero_point=int(in_qp.zero_point[0]),
            weight_scale=w_qp.scale.astype(np.float32).astype(np.float64),
            output_scale=float(np.float32(out_qp.scale[0])),
            output_zero_point=int(out_qp.zero_point[0]), relu=relu))
        act, in_qp = out, out_qp
    return layers


# ---------------------------------------------------------------- quantization-aware training

def _ste_round(x):
    """round(x) forward, identity gradient backward (straight-through estimator)."""
    return x + ops.stop_gradient(ops.round(x) - x)


def fake_quant_weight(w, bits: int, axes: tuple[int, ...]):
    """Symmetric per-channel fake quantization of a kernel with a straight-through gradient."""
    qmax = 2 ** (bits - 1) - 1
    scale = ops.stop_gradient(ops.maximum(ops.max(ops.abs(w), axis=axes, keepdims=True),
                                          1e-12) / qmax)
    return ops.clip(_ste_round(w / scale), -qmax, qmax) * scale


def fake_quant_activation(x, lo, hi, bits: int):
    """Asymmetric fake quantization to [lo, hi] (contains 0); zero gradient outside the range."""
    levels = 2**bits - 1
    scale = ops.maximum((hi - lo) / levels, 1e-12)
    zero = ops.round(-lo / scale)
    q = ops.clip(_ste_round(x / scale) + zero, 0.0, float(levels))
    return (q - zero) * scale


class _WeightQuantMixin:
    """Shared part of the QAT layers: a weight_bits setting and the fake-quantized kernel."""

    def __init__(self, *args, weight_bits: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_bits = _check_bits(weight_bits, low=2)

    def quantized_kernel(self):
        """The kernel as the integer grid sees it."""
        return fake_quant_weight(self.kernel, self.weight_bits, channel_axes(self))

    def get_config(self) -> dict:
        """Keras config including weight_bits."""
        return {**super().get_config(), "weight_bits": self.weight_bits}


@keras.saving.register_keras_serializable(package="compress_lib")
class QuantDense(_WeightQuantMixin, keras.layers.Dense):
    """Dense whose kernel is fake-quantized (symmetric, per output channel) in every call."""

    def call(self, inputs, training=None):
        """x W_q + b, then the activation."""
        x = ops.matmul(inputs, self.quantized_kernel())
        x = x if self.bias is None else ops.add(x, self.bias)
        return x if self.activation is None else self.activation(x)


def _conv_bias_activation(layer, outputs):
    """Add a channels-last bias and apply the activation."""
    if layer.data_format != "channels_last":
        raise ValueError("QAT conv layers support data_format='channels_last' only")
    if layer.use_bias:
        outputs = ops.add(outputs, layer.bias)
    return outputs if layer.activation is None else layer.activation(outputs)


@keras.saving.register_keras_serializable(package="compress_lib")
class QuantConv2D(_WeightQuantMixin, keras.layers.Conv2D):
    """Conv2D whose kernel is fake-quantized per output channel in every call."""

    def call(self, inputs):
        """conv(x, W_q) + b, then the activation."""
        return _conv_bias_activation(self, self.convolution_op(inputs, self.quantized_kernel()))


@keras.saving.register_keras_serializable(package="compress_lib")
class QuantDepthwiseConv2D(_WeightQuantMixin, keras.layers.DepthwiseConv2D):
    """DepthwiseConv2D whose kernel is fake-quantized per channel in every call."""

    def call(self, inputs):
        """depthwise_conv(x, W_q) + b, then the activation."""
        outputs = ops.depthwise_conv(inputs, self.quantized_kernel(), strides=self.strides,
                                     padding=self.padding, dilation_rate=self.dilation_rate,
                                     data_format=self.data_format)
        return _conv_bias_activation(self, outputs)


@keras.saving.register_keras_serializable(package="compress_lib")
class ActivationQuantizer(keras.layers.Layer):
    """Fake-quantizes activations to a range tracked by an exponential moving average.

    In training the range is updated from the batch (the first batch sets it) and the
    output is quantized with the new range; at inference the stored range is used.
    """

    def __init__(self, bits: int = 8, momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.bits = _check_bits(bits, low=2)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def build(self, input_shape):
        """Create the range and the 'seen a batch' flag (non-trainable)."""
        self.range_min = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="range_min")
        self.range_max = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="range_max")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def call(self, inputs, training=None):
        """Quantize inputs; in training, first update the tracked range."""
        lo, hi = self.range_min, self.range_max
        if training:
            m = self.momentum * self.seen
            lo = m * lo + (1 - m) * ops.minimum(ops.stop_gradient(ops.min(inputs)), 0.0)
            hi = m * hi + (1 - m) * ops.maximum(ops.stop_gradient(ops.max(inputs)), 0.0)
            self.range_min.assign(lo)
            self.range_max.assign(hi)
            self.seen.assign(1.0)
        return fake_quant_activation(inputs, lo, hi, self.bits)

    def get_config(self) -> dict:
        """Keras config including bits and momentum."""
        config = super().get_config()
        config.update({"bits": self.bits, "momentum": self.momentum})
        return config


QUANT_LAYERS = {keras.layers.Dense: QuantDense, keras.layers.Conv2D: QuantConv2D,
                keras.layers.DepthwiseConv2D: QuantDepthwiseConv2D}


def _check_sequential(model: keras.Model) -> None:
    """QAT rewrites Sequential models only."""
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential, got {type(model).__name__}")


def quantize_model(model: keras.Model, weight_bits: int = 8,
                   activation_bits: int = 8) -> keras.Sequential:
    """A QAT copy of a Sequential model: fake-quant kernels, an activation quantizer after
    the input and after every kernel layer. Calibrate it before use."""
    _check_sequential(model)
    _check_bits(weight_bits, low=2)
    _check_bits(activation_bits, low=2)
    new = [keras.Input(model.input_shape[1:]),
           ActivationQuantizer(activation_bits, name="input_quant")]
    pairs = []
    for layer in model.layers:
        cls = QUANT_LAYERS.get(type(layer))
        if cls is None:
            clone = type(layer).from_config(layer.get_config())
            new.append(clone)
        else:
            clone = cls(weight_bits=weight_bits, **layer.get_config())
            new += [clone, ActivationQuantizer(activation_bits, name=f"{layer.name}_act_quant")]
        pairs.append((layer, clone))
    qmodel = keras.Sequential(new, name=f"{model.name}_qat")
    for old, clone in pairs:
        clone.set_weights(old.get_weights())
    return qmodel


def calibrate_activations(qmodel: keras.Model, x: np.ndarray) -> keras.Model:
    """Post-training calibration: set every activation range to the min/max seen on x."""
    for layer in qmodel.layers:
        if isinstance(layer, ActivationQuantizer):
            layer.seen.assign(0.0)
    qmodel(_check_array("x", x).astype(np.float32), training=True)
    return qmodel


def strip_quantization(qmodel: keras.Model) -> keras.Sequential:
    """A plain float Sequential with the fake-quantized kernels baked in (for export)."""
    _check_sequential(qmodel)
    new, pairs = [keras.Input(qmodel.input_shape[1:])], []
    for layer in qmodel.layers:
        if isinstance(layer, ActivationQuantizer):
            continue
        base = next((b for b, q in QUANT_LAYERS.items() if type(layer) is q), None)
        config = layer.get_config()
        config.pop("weight_bits", None)
        clone = (base or type(layer)).from_config(config)
        new.append(clone)
        pairs.append((layer, clone))
    model = keras.Sequential(new, name=qmodel.name.removesuffix("_qat"))
    for old, clone in pairs:
        weights = old.get_weights()
        if hasattr(old, "quantized_kernel"):
            weights[0] = np.asarray(old.quantized_kernel())
        clone.set_weights(weights)
    return model
