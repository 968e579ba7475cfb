"""Parameters, nonzeros, multiply-accumulates, bytes and latency.

What is counted: `macs` are the multiply-accumulates of Conv2D, DepthwiseConv2D,
SeparableConv2D and Dense layers only -- the convention of published "mult-adds" figures
(MobileNet 569M, ResNet-50 3.9G), where BatchNormalization is folded into the preceding
convolution at export and pooling, additions and activations are ignored. `ops` counts
that other arithmetic separately: one multiply-add per element for BatchNormalization,
one read per window element for pooling, one addition per element per extra input of Add.
Activations, padding, reshapes and dropout cost nothing in either column, and so do
training-only layers that mark themselves `inference_free` (distillation.Jitter).
Any other layer (Conv1D, LSTM, attention, Conv2DTranspose...) is refused by default,
naming it; with strict=False it is left out of the counts with a UserWarning naming it.
Latency: `time_fn` and `compare_fns` (interleaved rounds, fair on a busy CPU); Keras forward
passes with `keras_latency`, LiteRT models with export.compare_latency.
Introduced in notebooks/01_losses.ipynb; per-layer costs (`layer_costs`) in
notebooks/05_mobilenet_blocks.ipynb; Keras latency of pruned models in notebooks/04_pruning.ipynb.
"""

from __future__ import annotations

import gzip
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from compress_lib._checks import check_bool
from compress_lib._checks import check_int
from compress_lib._checks import check_model
from compress_lib._checks import check_number
from compress_lib.graph import leaf_layers

__all__ = ["FREE_LAYERS", "GLOBAL_POOL_LAYERS", "MAC_LAYERS", "OP_LAYERS", "POOL_LAYERS",
           "SUPPORTED_LAYERS", "Latency", "compare_fns", "count_mac_params", "count_macs",
           "count_nonzero", "count_params", "float32_bytes", "gzip_bytes", "keras_latency",
           "layer_costs", "layer_macs", "layer_ops", "tflite_bytes", "time_fn",
           "weight_arrays"]

MAC_LAYERS = (keras.layers.Dense, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
              keras.layers.Conv2D)
POOL_LAYERS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
GLOBAL_POOL_LAYERS = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)
OP_LAYERS = (keras.layers.BatchNormalization, keras.layers.Add, *POOL_LAYERS,
             *GLOBAL_POOL_LAYERS)
FREE_LAYERS = (keras.layers.InputLayer, keras.layers.Reshape, keras.layers.Flatten,
               keras.layers.Dropout, keras.layers.ReLU, keras.layers.Activation,
               keras.layers.Softmax, keras.layers.ZeroPadding2D, keras.layers.Identity)
SUPPORTED_LAYERS = (*MAC_LAYERS, *OP_LAYERS, *FREE_LAYERS)


def weight_arrays(model: keras.Model) -> list[np.ndarray]:
    """All weight arrays of a model as numpy arrays, in layer order."""
    return [np.asarray(w) for w in check_model(model, built=True).get_weights()]


def count_params(model: keras.Model) -> int:
    """Number of scalar weights (trainable and not)."""
    return int(sum(w.size for w in weight_arrays(model)))


def count_nonzero(model: keras.Model) -> int:
    """Number of weights that are not exactly zero."""
    return int(sum(np.count_nonzero(w) for w in weight_arrays(model)))


def _shape(layer: keras.layers.Layer, which: str) -> tuple[int, ...]:
    """A layer's input or output shape without the batch axis; ValueError if a size is None."""
    shape = tuple(getattr(layer, which).shape)[1:]
    if any(d is None for d in shape):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) has an unknown "
                         f"{which} dimension: shape {(None, *shape)}; give the model an Input "
                         "with every size fixed, e.g. keras.Input((28, 28, 1))")
    return tuple(int(d) for d in shape)


def layer_macs(layer: keras.layers.Layer) -> int:
    """MACs of one layer for a single example (0 for supported layers without MACs)."""
    _check_supported(layer)
    if not isinstance(layer, MAC_LAYERS):
        return 0
    in_shape, out_shape = _shape(layer, "input"), _shape(layer, "output")
    c_in, positions = in_shape[-1], int(np.prod(out_shape[:-1]))
    if isinstance(layer, keras.layers.Dense):
        return positions * c_in * layer.units
    kernel = int(np.prod(layer.kernel_size))
    if isinstance(layer, keras.layers.SeparableConv2D):
        mid = c_in * layer.depth_multiplier
        return positions * (kernel * mid + mid * layer.filters)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return positions * kernel * c_in * layer.depth_multiplier
    return positions * kernel * (c_in // layer.groups) * layer.filters


def _supported(layer: keras.layers.Layer) -> bool:
    """Whether this module knows the layer's cost (training-only layers such as
    distillation.Jitter mark themselves `inference_free`)."""
    return isinstance(layer, SUPPORTED_LAYERS) or getattr(layer, "inference_free", False) is True


def _check_supported(layer: keras.layers.Layer) -> None:
    """TypeError for a non-layer, or a layer whose cost this module does not know."""
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"layer must be a keras Layer, got {type(layer).__name__}")
    if not _supported(layer):
        names = sorted({cls.__name__ for cls in SUPPORTED_LAYERS})
        raise TypeError(f"layer {layer.name!r} of type {type(layer).__name__} is not supported; "
                        f"supported layer types: {', '.join(names)}")


def layer_ops(layer: keras.layers.Layer) -> int:
    """Non-MAC arithmetic of one layer for one example: BatchNormalization, pooling, Add."""
    _check_supported(layer)
    if not isinstance(layer, OP_LAYERS):
        return 0
    out = int(np.prod(_shape(layer, "output")))
    if isinstance(layer, keras.layers.BatchNormalization):
        return out
    if isinstance(layer, keras.layers.Add):
        return (len(layer.input) - 1) * out
    if isinstance(layer, GLOBAL_POOL_LAYERS):
        return int(np.prod(_shape(layer, "input")))
    return out * int(np.prod(layer.pool_size))


def _model_layers(model: keras.Model, strict: bool) -> list[keras.layers.Layer]:
    """Supported leaf layers of a checked model; strict: TypeError for any other layer,
    else a UserWarning naming the layers left out (counted as 0)."""
    layers = leaf_layers(check_model(model, built=True))
    if check_bool("strict", strict):
        for layer in layers:
            _check_supported(layer)
        return layers
    skipped = [f"{la.name} ({type(la).__name__})" for la in layers if not _supported(la)]
    if skipped:
        warnings.warn(f"strict=False: counted as 0 (type not supported): {', '.join(skipped)}",
                      UserWarning, stacklevel=3)
    return [layer for layer in layers if _supported(layer)]


def count_macs(model: keras.Model, strict: bool = True) -> int:
    """Multiply-accumulates of a whole model for one example (strict=False: skip, with a
    warning, the layers whose cost is unknown)."""
    return int(sum(layer_macs(layer) for layer in _model_layers(model, strict)))


def count_mac_params(model: keras.Model, strict: bool = True) -> int:
    """Parameters of the MAC layers only (kernels, biases): the published-figure convention."""
    layers = _model_layers(model, strict)
    return int(sum(layer.count_params() for layer in layers if isinstance(layer, MAC_LAYERS)))


def layer_costs(model: keras.Model, strict: bool = True) -> list[dict]:
    """One row per supported layer: name, type, output shape, parameters, MACs and other ops."""
    return [{"layer": layer.name, "type": type(layer).__name__,
             "output": str(tuple(layer.output.shape)[1:]), "params": layer.count_params(),
             "macs": layer_macs(layer), "ops": layer_ops(layer)}
            for layer in _model_layers(model, strict)]


def float32_bytes(model: keras.Model) -> int:
    """Bytes of all weights stored densely as float32."""
    return 4 * count_params(model)


def gzip_bytes(model: keras.Model, level: int = 9) -> int:
    """Bytes of the float32 weights after gzip (what zeros and repeats save on disk)."""
    level = check_int("level", level, 0, 9)
    raw = b"".join(w.astype(np.float32).tobytes() for w in weight_arrays(model))
    return len(gzip.compress(raw, compresslevel=level, mtime=0))


def tflite_bytes(buffer: bytes) -> int:
    """Size of a .tflite flatbuffer in bytes."""
    if not isinstance(buffer, bytes | bytearray):
        raise TypeError(f"buffer must be bytes (a .tflite model), got {type(buffer).__name__}")
    if len(buffer) == 0:
        raise ValueError("buffer must not be empty")
    return len(buffer)


@dataclass(frozen=True)
class Latency:
    """Timing summary in milliseconds over `repeats` calls."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    repeats: int

    def __post_init__(self) -> None:
        """Times finite and >= 0 with p10 <= median <= p90; at least one call."""
        times = [check_number(f, getattr(self, f), low=0.0) for f in ("p10_ms", "median_ms",
                                                                       "p90_ms")]
        if times != sorted(times):
            raise ValueError(f"Latency needs p10_ms <= median_ms <= p90_ms, got {times}")
        check_int("repeats", self.repeats, low=1)

    @property
    def spread_ms(self) -> float:
        """Width of the 10th-90th percentile band."""
        return self.p90_ms - self.p10_ms


def time_fn(fn: Callable[[], object], repeats: int = 100, warmup: int = 10) -> Latency:
    """Time fn() after `warmup` untimed calls; median and 10th/90th percentiles."""
    if not callable(fn):
        raise TypeError("fn must be callable with no arguments")
    repeats, warmup = check_int("repeats", repeats, low=1), check_int("warmup", warmup, low=0)
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    p10, med, p90 = np.percentile(times * 1e3, [10, 50, 90])
    return Latency(float(med), float(p10), float(p90), int(repeats))


def _check_named(name: str, value: object, what: str) -> None:
    """A non-empty dict of name -> `what` (TypeError if not a dict, ValueError if empty)."""
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict of name -> {what}, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must be a non-empty dict of name -> {what}")


def compare_fns(fns: dict[str, Callable[[], object]], repeats: int = 100, warmup: int = 10,
                rounds: int = 10) -> dict[str, Latency]:
    """Time several functions in interleaved rounds (fair on a shared, busy CPU)."""
    _check_named("fns", fns, "function")
    repeats = check_int("repeats", repeats, low=1)
    rounds = check_int("rounds", rounds, 1, repeats)
    parts: dict[str, list[Latency]] = {name: [] for name in fns}
    for r in range(rounds):
        for name, fn in fns.items():
            parts[name].append(time_fn(fn, repeats // rounds, warmup if r == 0 else 1))
    return {name: Latency(*(float(np.median([getattr(p, f) for p in ps]))
                            for f in ("median_ms", "p10_ms", "p90_ms")),
                          sum(p.repeats for p in ps)) for name, ps in parts.items()}


def keras_latency(models: dict[str, keras.Model], batch_size: int = 1, repeats: int = 200,
                  rounds: int = 10) -> dict[str, Latency]:
    """Latency of compiled Keras forward passes (tf.function), timed with compare_fns."""
    import tensorflow as tf

    _check_named("models", models, "keras.Model")
    batch_size = check_int("batch_size", batch_size, low=1)
    fns = {}
    for name, model in models.items():
        check_model(model, name=f"models[{name!r}]", built=True)
        if None in model.input_shape[1:]:
            raise ValueError(f"models[{name!r}] has an unknown input size "
                             f"{model.input_shape}; give it an Input with every size fixed")
        x = tf.constant(np.zeros((batch_size, *model.input_shape[1:]), np.float32))
        call = tf.function(lambda x, model=model: model(x, training=False))
        fns[name] = lambda call=call, x=x: call(x).numpy()
    return compare_fns(fns, repeats=repeats, warmup=10, rounds=rounds)
