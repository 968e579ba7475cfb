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
from compress_lib._checks import check_array, check_choice, check_data, check_int, check_model
from compress_lib._compat import disable_per_channel
from compress_lib.config import quiet

__all__ = ["MODES", "RESOLVERS", "compare_latency", "dequantize_output", "evaluate_tflite",
           "interpreter", "ptq_rows", "predict_tflite", "quantize_input", "tflite_latency",
           "to_tflite"]

MODES = ("float32", "float16", "dynamic", "int8")
RESOLVERS = ("auto", "builtin", "reference")


def _representative(x: np.ndarray, batch_size: int = 1):
    """A representative-dataset generator over x in batches (for the converter's calibrator)."""
    def gen():
        for i in range(0, len(x), batch_size):
            yield [x[i:i + batch_size]]
    return gen


def to_tflite(model: keras.Model, mode: str = "float32",
              representative: np.ndarray | None = None, per_channel: bool = True) -> bytes:
    """Convert a Keras model to a .tflite flatbuffer in one of MODES (int8 needs inputs).

    per_channel=False gives one weight scale per tensor instead of one per output channel.
    """
    import tensorflow as tf

    check_model(model)
    check_choice("mode", mode, MODES)
    if mode == "int8":
        if representative is None:
            raise ValueError("mode='int8' needs representative= (an array of model inputs)")
        representative = check_array("representative", representative, min_ndim=2,
                                     dtype=np.float32)
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
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

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


def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
    """Cast float inputs to an interpreter input's dtype (affine-quantize for int8/uint8)."""
    dtype = detail["dtype"]
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype, copy=False)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantize_output(q: np.ndarray, detail: dict) -> np.ndarray:
    """Float values of an interpreter output (dequantized if it is an integer tensor)."""
    if not np.issubdtype(detail["dtype"], np.integer):
        return q.astype(np.float32, copy=False)
    scale, zero_point = detail["quantization"]
    return ((q.astype(np.float32) - zero_point) * scale).astype(np.float32)


def predict_tflite(buffer: bytes, x: np.ndarray, batch_size: int = 1000,
                   num_threads: int | None = None, resolver: str = "auto",
                   raw: bool = False) -> np.ndarray:
    """Run a one-input, one-output .tflite model over x in batches; float outputs (or raw)."""
    x = check_array("x", x, min_ndim=2, dtype=np.float32)
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
    x, y = check_data(*data)
    pred = predict_tflite(buffer, x, batch_size=batch_size, num_threads=num_threads)
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


def compare_latency(buffers: dict[str, bytes], repeats: int = 100, warmup: int = 10,
                    num_threads: int | None = 1, batch_size: int = 1,
                    rounds: int = 10) -> dict[str, measure.Latency]:
    """Latency of several .tflite models timed in interleaved rounds (fair on a busy CPU)."""
    if not buffers:
        raise ValueError("buffers must be a non-empty dict of name -> .tflite bytes")
    invokers = {name: _invoker(buf, batch_size, num_threads) for name, buf in buffers.items()}
    return measure.compare_fns(invokers, repeats=repeats, warmup=warmup, rounds=rounds)


def ptq_rows(name: str, buffers: dict[str, bytes], accuracy: dict[str, float],
             latency: dict[str, measure.Latency], latency_b256: dict[str, measure.Latency]
             ) -> list[dict]:
    """One table row per mode of a model: size, LiteRT accuracy, latency, all vs 'float32'.

    Used in notebooks/02_quantization.ipynb (table 02_ptq).
    """
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
