"""Convert Keras models to .tflite flatbuffers and run them with the LiteRT interpreter.

Four post-training modes: `float32` (plain conversion), `float16` (weights stored as
float16), `dynamic` (weights int8, activations float, "dynamic range") and `int8` (full
integer: weights and activations int8, calibrated on a representative dataset, int8 input
and output tensors). Evaluation runs the interpreter in large batches; latency is timed at
batch 1. Converter and interpreter logs are silenced.
Introduced in notebooks/02_quantization.ipynb.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np

from compress_lib import measure
from compress_lib._checks import check_array
from compress_lib._checks import check_bool
from compress_lib._checks import check_choice
from compress_lib._checks import check_int
from compress_lib._checks import check_label_range
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_number
from compress_lib._checks import check_numeric
from compress_lib._compat import disable_per_channel
from compress_lib.config import quiet

__all__ = ["MODES", "RESOLVERS", "combine_rounds", "compare_latency", "dequantize_output",
           "evaluate_tflite", "interpreter", "latency_rounds", "ptq_rows", "predict_tflite",
           "quantize_input", "tflite_latency", "to_tflite"]

MODES = ("float32", "float16", "dynamic", "int8")
RESOLVERS = ("auto", "builtin", "reference")


def _representative(x: np.ndarray, batch_size: int = 1):
    """A representative-dataset generator over x in batches (for the converter's calibrator)."""
    def gen():
        for i in range(0, len(x), batch_size):
            yield [x[i:i + batch_size]]
    return gen


def _check_range(name: str, value: tuple[float, float]) -> tuple[float, float]:
    """A (low, high) pair of finite numbers with low < high."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{name} must be a (low, high) pair, got {value!r}")
    low, high = check_number(f"{name}[0]", value[0]), check_number(f"{name}[1]", value[1])
    if not low < high:
        raise ValueError(f"{name} must have low < high, got {value!r}")
    return low, high


def _warn_representative(x: np.ndarray, expected_range: tuple[float, float] | None) -> None:
    """UserWarning when the calibration inputs cannot set useful int8 ranges."""
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        warnings.warn(f"representative data is constant (every value is {lo:g}): the int8 "
                      "activation ranges will not fit real inputs; calibrate on real, "
                      "preprocessed inputs", UserWarning, stacklevel=3)
        return
    if expected_range is None:
        return
    low, high = expected_range
    slack = 0.1 * (high - low)
    if lo < low - slack or hi > high + slack or hi - lo < 0.1 * (high - low):
        warnings.warn(f"representative data spans [{lo:g}, {hi:g}] but expected_range is "
                      f"[{low:g}, {high:g}]: were the calibration inputs preprocessed like "
                      "the training inputs? The int8 ranges will not fit real inputs",
                      UserWarning, stacklevel=3)


def to_tflite(model: keras.Model, mode: str = "float32",
              representative: np.ndarray | None = None, per_channel: bool = True,
              expected_range: tuple[float, float] | None = None) -> bytes:
    """Convert a Keras model to a .tflite flatbuffer in one of MODES (int8 needs inputs).

    per_channel=False gives one weight scale per tensor instead of one per output channel.
    For int8, a constant representative set warns, and so does one whose values do not
    match `expected_range` = (low, high), the range of the inputs the model was trained on.
    """
    import tensorflow as tf

    check_model(model, built=True)
    check_choice("mode", mode, MODES)
    check_bool("per_channel", per_channel)
    if expected_range is not None:
        expected_range = _check_range("expected_range", expected_range)
    if mode == "int8":
        if representative is None:
            raise ValueError("mode='int8' needs representative= (an array of model inputs)")
        representative = check_numeric("representative", representative, min_ndim=2,
                                       dtype=np.float32)
        _warn_representative(representative, expected_range)
    with quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if mode == "int8":
            converter.representative_dataset = _representative(representative)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        if not per_channel:
            disable_per_channel(converter)
        return bytes(converter.convert())


def interpreter(buffer: bytes, num_threads: int | None = None, resolver: str = "auto"):
    """A LiteRT Interpreter for a .tflite buffer; resolver 'reference' uses reference kernels."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    measure.tflite_bytes(buffer)
    check_choice("resolver", resolver, RESOLVERS)
    kind = {"auto": OpResolverType.AUTO,
            "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            "reference": OpResolverType.BUILTIN_REF}[resolver]
    if num_threads is not None:
        check_int("num_threads", num_threads, low=1)
    with quiet():
        interp = Interpreter(model_content=bytes(buffer), num_threads=num_threads,
                             experimental_op_resolver_type=kind)
        interp.allocate_tensors()
    return interp


def _detail(detail: dict) -> tuple[type, float, int]:
    """(dtype, scale, zero_point) of an interpreter tensor detail; scale > 0 for integers."""
    if not isinstance(detail, dict) or not {"dtype", "quantization"} <= set(detail):
        raise TypeError("detail must be an interpreter tensor detail (a dict with 'dtype' "
                        f"and 'quantization'), got {type(detail).__name__}")
    scale, zero_point = detail["quantization"]
    if np.issubdtype(detail["dtype"], np.integer) and not scale > 0:
        raise ValueError(f"detail: an integer tensor needs a quantization scale > 0, got "
                         f"{scale!r}")
    return detail["dtype"], float(scale), int(zero_point)


def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
    """Cast float inputs to an interpreter input's dtype (affine-quantize for int8/uint8)."""
    x = check_numeric("x", x, dtype=None)
    dtype, scale, zero_point = _detail(detail)
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantize_output(q: np.ndarray, detail: dict) -> np.ndarray:
    """Float values of an interpreter output (dequantized if it is an integer tensor)."""
    q = check_array("q", q, dtype=None)
    dtype, scale, zero_point = _detail(detail)
    if not np.issubdtype(dtype, np.integer):
        return q.astype(np.float32, copy=False)
    return ((q.astype(np.float32) - zero_point) * scale).astype(np.float32)


def predict_tflite(buffer: bytes, x: np.ndarray, batch_size: int = 1000,
                   num_threads: int | None = None, resolver: str = "auto",
                   raw: bool = False) -> np.ndarray:
    """Run a one-input, one-output .tflite model over x in batches; float outputs (or raw)."""
    x = check_numeric("x", x, min_ndim=2, dtype=np.float32)
    check_bool("raw", raw)
    check_int("batch_size", batch_size, low=1)
    interp = interpreter(buffer, num_threads=num_threads, resolver=resolver)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    expected = tuple(int(d) for d in inp["shape_signature"][1:])
    if tuple(x.shape[1:]) != expected:
        raise ValueError(f"x must have per-example shape {expected}, got {tuple(x.shape[1:])}")
    batch = min(batch_size, len(x))
    interp.resize_tensor_input(inp["index"], [batch, *expected])
    interp.allocate_tensors()
    xq = quantize_input(x, inp)
    outputs = []
    for start in range(0, len(x), batch):
        chunk = xq[start:start + batch]
        n = len(chunk)
        if n < batch:  # pad the last batch instead of re-allocating the interpreter
            chunk = np.concatenate([chunk, np.zeros((batch - n, *expected), chunk.dtype)])
        interp.set_tensor(inp["index"], chunk)
        interp.invoke()
        outputs.append(interp.get_tensor(out["index"])[:n])
    result = np.concatenate(outputs)
    return result if raw else dequantize_output(result, out)


def evaluate_tflite(buffer: bytes, data: tuple[np.ndarray, np.ndarray], batch_size: int = 1000,
                    num_threads: int | None = None) -> float:
    """Top-1 accuracy of a .tflite classifier on data = (x, y), run in LiteRT."""
    x, y = check_labelled(data)
    pred = predict_tflite(buffer, x, batch_size=batch_size, num_threads=num_threads)
    check_label_range(y, pred.shape[-1])
    return float(np.mean(pred.argmax(axis=-1) == y))


def _invoker(buffer: bytes, batch_size: int, num_threads: int | None):
    """A no-argument function that runs one inference on a fixed random input batch."""
    interp = interpreter(buffer, num_threads=num_threads)
    inp = interp.get_input_details()[0]
    shape = [batch_size, *(int(d) for d in inp["shape_signature"][1:])]
    interp.resize_tensor_input(inp["index"], shape)
    interp.allocate_tensors()
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    interp.set_tensor(inp["index"], quantize_input(x, inp))
    return interp.invoke


def tflite_latency(buffer: bytes, repeats: int = 100, warmup: int = 10,
                   num_threads: int | None = 1, batch_size: int = 1) -> measure.Latency:
    """Median and 10th/90th percentile time of one LiteRT invoke (batch 1 by default)."""
    check_int("batch_size", batch_size, low=1)
    return measure.time_fn(_invoker(buffer, batch_size, num_threads), repeats, warmup)


def latency_rounds(buffers: dict[str, bytes], repeats: int = 100, warmup: int = 10,
                   num_threads: int | None = 1, batch_size: int = 1,
                   rounds: int = 10) -> list[dict[str, measure.Latency]]:
    """Interleaved rounds kept apart: per round, every model timed repeats // rounds times.

    A burst of load on a shared CPU hits every model of a round alike, so per-round ratios
    show how much a speed-up varies. Used in notebooks/02_quantization.ipynb.
    """
    if not isinstance(buffers, dict):
        raise TypeError(f"buffers must be a dict of name -> .tflite bytes, got "
                        f"{type(buffers).__name__}")
    if not buffers:
        raise ValueError("buffers must be a non-empty dict of name -> .tflite bytes")
    repeats = check_int("repeats", repeats, low=1)
    rounds = check_int("rounds", rounds, 1, repeats)
    invokers = {name: _invoker(buf, batch_size, num_threads) for name, buf in buffers.items()}
    return [measure.compare_fns(invokers, repeats=repeats // rounds,
                                warmup=warmup if r == 0 else 1, rounds=1) for r in range(rounds)]


def combine_rounds(per_round: list[dict[str, measure.Latency]]) -> dict[str, measure.Latency]:
    """Each model's median over the rounds of its median, 10th and 90th percentile times."""
    if not isinstance(per_round, list) or not all(isinstance(r, dict) for r in per_round):
        raise TypeError(f"per_round must be a list of dicts (as latency_rounds returns), got "
                        f"{type(per_round).__name__}")
    if not per_round or not all(r.keys() == per_round[0].keys() for r in per_round):
        raise ValueError("per_round must be a non-empty list of dicts with the same model "
                         "names (as latency_rounds returns)")
    return {name: measure.Latency(*(float(np.median([getattr(r[name], f) for r in per_round]))
                                    for f in ("median_ms", "p10_ms", "p90_ms")),
                                  sum(r[name].repeats for r in per_round))
            for name in per_round[0]}


def compare_latency(buffers: dict[str, bytes], repeats: int = 100, warmup: int = 10,
                    num_threads: int | None = 1, batch_size: int = 1,
                    rounds: int = 10) -> dict[str, measure.Latency]:
    """Latency of several .tflite models timed in interleaved rounds (fair on a busy CPU)."""
    return combine_rounds(latency_rounds(buffers, repeats, warmup, num_threads, batch_size,
                                         rounds))


def ptq_rows(name: str, buffers: dict[str, bytes], accuracy: dict[str, float],
             latency: dict[str, measure.Latency], latency_b256: dict[str, measure.Latency]
             ) -> list[dict]:
    """One table row per mode of a model: size, LiteRT accuracy, latency, all vs 'float32'.

    Used in notebooks/02_quantization.ipynb (table 02_ptq).
    """
    for arg, value in (("buffers", buffers), ("accuracy", accuracy), ("latency", latency),
                       ("latency_b256", latency_b256)):
        if not isinstance(value, dict):
            raise TypeError(f"{arg} must be a dict by mode, got {type(value).__name__}")
        if arg != "buffers" and set(buffers) - set(value):
            raise ValueError(f"{arg} has no entry for modes {sorted(set(buffers) - set(value))}")
    if "float32" not in buffers:
        raise ValueError("buffers must contain the 'float32' reference")
    f32, f32_b1, f32_b256 = len(buffers["float32"]), latency["float32"], latency_b256["float32"]
    return [{"model": name, "mode": mode, "bytes": len(buf), "size_ratio": f32 / len(buf),
             "litert_accuracy": accuracy[mode],
             "drop_pp": 100 * (accuracy["float32"] - accuracy[mode]),
             "b1_median_ms": latency[mode].median_ms, "b1_p10_ms": latency[mode].p10_ms,
             "b1_p90_ms": latency[mode].p90_ms,
             "b1_speedup_vs_f32": f32_b1.median_ms / latency[mode].median_ms,
             "b256_speedup_vs_f32": f32_b256.median_ms / latency_b256[mode].median_ms}
            for mode, buf in buffers.items()]
