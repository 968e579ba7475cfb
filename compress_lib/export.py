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

from compress_lib import measure, quiet

MODES = ("float32", "float16", "dynamic", "int8")
RESOLVERS = ("auto", "builtin", "reference")


def _check_mode(mode: str) -> None:
    """Raise ValueError unless mode is one of MODES."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def _check_inputs(name: str, x: np.ndarray) -> np.ndarray:
    """A non-empty, finite float32 array with a batch axis."""
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty batch of inputs (ndim >= 2), "
                         f"got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must contain only finite numbers")
    return x.astype(np.float32, copy=False)


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

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    _check_mode(mode)
    if mode == "int8":
        if representative is None:
            raise ValueError("mode='int8' needs representative= (an array of model inputs)")
        representative = _check_inputs("representative", representative)
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
            converter._experimental_disable_per_channel = True
            converter._experimental_disable_per_channel_quantization_for_dense_layers = True
        return bytes(converter.convert())


def interpreter(buffer: bytes, num_threads: int | None = None, resolver: str = "auto"):
    """A LiteRT Interpreter for a .tflite buffer; resolver 'reference' uses reference kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    measure.tflite_bytes(buffer)
    if resolver not in RESOLVERS:
        raise ValueError(f"resolver must be one of {RESOLVERS}, got {resolver!r}")
    kind = {"auto": OpResolverType.AUTO,
            "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            "reference": OpResolverType.BUILTIN_REF}[resolver]
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
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
    x = _check_inputs("x", x)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
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


def evaluate_tflite(buffer: bytes, x: np.ndarray, y: np.ndarray, batch_size: int = 1000,
                    num_threads: int | None = None) -> float:
    """Top-1 accuracy of a .tflite classifier on (x, y), run in LiteRT."""
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return measure.time_fn(_invoker(buffer, batch_size, num_threads), repeats, warmup)


def compare_latency(buffers: dict[str, bytes], repeats: int = 100, warmup: int = 10,
                    num_threads: int | None = 1, batch_size: int = 1,
                    rounds: int = 10) -> dict[str, measure.Latency]:
    """Latency of several .tflite models timed in interleaved rounds (fair on a busy CPU)."""
    if not buffers:
        raise ValueError("buffers must be a non-empty dict of name -> .tflite bytes")
    invokers = {name: _invoker(buf, batch_size, num_threads) for name, buf in buffers.items()}
    return measure.compare_fns(invokers, repeats=repeats, warmup=warmup, rounds=rounds)
