"""Integer-only inference of a dense int8 network in numpy, bit-exact with LiteRT's kernels.

Fixed-point requantization (TFLite's QuantizeMultiplier and MultiplyByQuantizedMultiplier),
int8 fully connected layers with int32 accumulation, a reader for full-int8 .tflite files
and our own full-int8 quantizer for Keras Dense/ReLU networks.
Introduced in notebooks/02_quantization.ipynb (section 9).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from compress_lib import export
from compress_lib import graph
from compress_lib._checks import check_array
from compress_lib._checks import check_choice
from compress_lib._checks import check_int_array
from compress_lib._checks import check_label_range
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_numeric
from compress_lib._compat import has_fused_relu
from compress_lib._compat import ops_details
from compress_lib.quantization import QParams
from compress_lib.quantization import calibrate
from compress_lib.quantization import quantize
from compress_lib.quantization import round_half_away

__all__ = ["INT32_MAX", "INT32_MIN", "ROUNDINGS", "IntDense", "int_dense_forward",
           "int_network_forward", "int_network_from_keras", "int_network_from_tflite",
           "litert_check", "multiply_by_quantized_multiplier", "quantize_multiplier"]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
ROUNDINGS = ("single", "double")


def quantize_multiplier(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M = M0 * 2^shift with M0 an int32 Q31 in [2^30, 2^31) (TFLite's QuantizeMultiplier)."""
    m = check_numeric("m", m)
    if np.any(m < 0):
        raise ValueError(f"m must hold multipliers >= 0, got a minimum of {m.min()}")
    mant, shift = np.frexp(m)
    m0 = round_half_away(mant * 2.0**31).astype(np.int64)
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


def multiply_by_quantized_multiplier(acc: np.ndarray, m0: np.ndarray, shift: np.ndarray,
                                     rounding: str = "single") -> np.ndarray:
    """round(acc * M0 * 2^(shift-31)) with integer ops only, as TFLite does.

    'single': one rounding shift (LiteRT's reference kernels, TFLITE_SINGLE_ROUNDING);
    'double': gemmlowp's rounding high-multiply then rounding shift (optimized kernels).
    """
    check_choice("rounding", rounding, ROUNDINGS)
    acc = check_int_array("acc", acc, INT32_MIN, INT32_MAX).astype(np.int64)
    m0 = check_int_array("m0", m0, 0, INT32_MAX).astype(np.int64)
    shift = check_int_array("shift", shift, -31, 30).astype(np.int64)
    if rounding == "single":
        total = 31 - shift
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


def _check_layer(layer: IntDense) -> None:
    """An IntDense (from int_network_from_tflite or int_network_from_keras)."""
    if not isinstance(layer, IntDense):
        raise TypeError(f"layer must be an IntDense, got {type(layer).__name__}")


def int_dense_forward(layer: IntDense, x_q: np.ndarray, rounding: str = "single") -> np.ndarray:
    """int8 in, int8 out; int32 accumulation (exact: float64 BLAS holds every int32 sum)."""
    _check_layer(layer)
    x_q = check_int_array("x_q", x_q, -128, 127)
    if x_q.shape[-1] != layer.weight.shape[0]:
        raise ValueError(f"x_q must have {layer.weight.shape[0]} values per example (the "
                         f"layer's inputs) in its last axis, got shape {x_q.shape}")
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
    if not isinstance(layers, list | tuple) or not layers \
            or not all(isinstance(layer, IntDense) for layer in layers):
        raise TypeError(f"layers must be a non-empty list of IntDense, got {layers!r:.80}")
    first = layers[0]
    x = check_numeric("x", x, min_ndim=2)
    if x.shape[-1] != first.weight.shape[0]:
        raise ValueError(f"x must have {first.weight.shape[0]} values per example (the first "
                         f"layer's inputs) in its last axis, got shape {x.shape}")
    qp = QParams(np.array([first.input_scale]), np.array([first.input_zero_point]), 8, False,
                 None)
    q = quantize(x, qp).astype(np.int8)
    for layer in layers:
        q = int_dense_forward(layer, q, rounding)
    return q


def _int_dense_from_op(interp, details: dict[int, dict], op: dict) -> IntDense:
    """One IntDense from a FULLY_CONNECTED op of a LiteRT interpreter."""
    if op["op_name"] != "FULLY_CONNECTED":
        raise ValueError(f"only full-int8 dense networks are supported, found {op['op_name']}")
    x, w, b = (details[i] for i in op["inputs"])
    y = details[op["outputs"][0]]
    if w["dtype"] != np.int8 or x["dtype"] != np.int8:
        raise ValueError("the model must be full-int8 (export.to_tflite(..., 'int8'))")
    return IntDense(
        weight=interp.get_tensor(w["index"]).T.copy(),
        bias=interp.get_tensor(b["index"]).astype(np.int64),
        input_scale=float(x["quantization"][0]), input_zero_point=int(x["quantization"][1]),
        weight_scale=w["quantization_parameters"]["scales"].astype(np.float64),
        output_scale=float(y["quantization"][0]),
        output_zero_point=int(y["quantization"][1]), relu=has_fused_relu(y))


def _check_buffer(buffer: bytes) -> None:
    """A .tflite model as bytes."""
    if not isinstance(buffer, bytes | bytearray):
        raise TypeError(f"buffer must be bytes (a .tflite model), got {type(buffer).__name__}")


def int_network_from_tflite(buffer: bytes) -> list[IntDense]:
    """Read the int8 weights, biases, scales and zero points of a full-int8 dense .tflite."""
    _check_buffer(buffer)

    interp = export.interpreter(buffer, resolver="reference")
    details = {t["index"]: t for t in interp.get_tensor_details()}
    return [_int_dense_from_op(interp, details, op) for op in ops_details(interp)]


def _int_dense_from_keras(layer: keras.layers.Dense, in_qp: QParams, out_qp: QParams
                          ) -> IntDense:
    """One IntDense: per-channel symmetric int8 kernel, int32 bias at scale S_x S_w."""
    w, b = np.asarray(layer.kernel, np.float64), np.asarray(layer.bias, np.float64)
    w_qp = calibrate(w, 8, symmetric=True, axis=1)
    bias_scale = np.float32(in_qp.scale[0]) * w_qp.scale.astype(np.float32)
    return IntDense(
        weight=quantize(w, w_qp).astype(np.int8),
        bias=round_half_away(b / bias_scale).astype(np.int64),
        input_scale=float(np.float32(in_qp.scale[0])),
        input_zero_point=int(in_qp.zero_point[0]),
        weight_scale=w_qp.scale.astype(np.float32).astype(np.float64),
        output_scale=float(np.float32(out_qp.scale[0])),
        output_zero_point=int(out_qp.zero_point[0]),
        relu=layer.activation is keras.activations.relu)


def int_network_from_keras(model: keras.Model, calibration: np.ndarray) -> list[IntDense]:
    """Our own full-int8 quantizer for a Dense/ReLU network: per-channel weights, min/max."""
    dense = graph.select_layers(check_model(model))
    if not dense or any(not isinstance(layer, keras.layers.Dense) for layer in dense):
        raise ValueError("int_network_from_keras supports models made of Dense layers only")
    act = check_array("calibration", calibration, min_ndim=2, dtype=np.float32)
    in_qp, layers = calibrate(act, 8), []
    for layer in dense:
        out = np.asarray(layer(act))
        out_qp = calibrate(out, 8)
        layers.append(_int_dense_from_keras(layer, in_qp, out_qp))
        act, in_qp = out, out_qp
    return layers


def litert_check(buffer: bytes, data: tuple[np.ndarray, np.ndarray], name: str
                 ) -> tuple[np.ndarray, dict]:
    """Our int8 outputs on data = (x, y), and a table row comparing them with LiteRT.

    Bit-exactness is checked against the reference kernels; the default kernels (what
    export.evaluate_tflite runs) may differ by one step. Used in notebooks/02_quantization.ipynb.
    """

    _check_buffer(buffer)
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    x, y = check_labelled(data)
    ours = int_network_forward(int_network_from_tflite(buffer), x)
    check_label_range(y, ours.shape[-1])
    reference = export.predict_tflite(buffer, x, raw=True, resolver="reference")
    default = export.predict_tflite(buffer, x, raw=True)
    return ours, {"model": name, "test_images": len(x),
                  "bit_exact_vs_litert_reference": bool(np.array_equal(ours, reference)),
                  "max_step_vs_litert_default": int(np.abs(ours.astype(int) - default).max()),
                  "identical_predictions": bool(np.all(ours.argmax(1) == default.argmax(1))),
                  "numpy_int8_accuracy": float(np.mean(ours.argmax(1) == y))}
