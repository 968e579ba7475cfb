"""Quantization-aware training (QAT) for Keras 3, and export that keeps what QAT learned.

Fake-quant layers with a straight-through estimator (symmetric per-channel kernels,
asymmetric activations with ranges tracked by an exponential moving average);
`quantize_model` inserts them into a Sequential, functional or nested model (graph.rewrite),
`calibrate_activations` sets the ranges after training, and `strip` turns a QAT model back
into plain Keras layers for export: with `keep_ranges=True` each activation quantizer
becomes TensorFlow's fake-quant op with the learned [min, max], which the TFLite converter
turns into the int8 tensors' scales and zero points.
Introduced in notebooks/02_quantization.ipynb (section 7).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from compress_lib import graph
from compress_lib._checks import check_bool
from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_model
from compress_lib._checks import check_number
from compress_lib._checks import check_numeric
from compress_lib._compat import in_symbolic_build
from compress_lib.quantization import MAX_BITS

__all__ = ["EXPORT_BITS", "QUANT_LAYERS", "ActivationQuantizer", "FixedFakeQuant",
           "QuantConv2D", "QuantDense", "QuantDepthwiseConv2D", "activation_ranges",
           "calibrate_activations", "channel_axes", "fake_quant_activation",
           "fake_quant_weight", "quantize_model", "strip"]

EXPORT_BITS = 8  # LiteRT's int8 activations


def _check_bits(name: str, bits: int) -> int:
    """QAT bit widths: an int in [2, MAX_BITS]."""
    return check_int(name, bits, 2, MAX_BITS)


def channel_axes(layer: keras.layers.Layer) -> tuple[int, ...]:
    """Kernel axes reduced for per-output-channel ranges (all but the channel axes)."""
    if not isinstance(layer, tuple(QUANT_LAYERS)):
        raise TypeError(f"layer must be a Dense, Conv2D or DepthwiseConv2D layer, got "
                        f"{type(layer).__name__}")
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return (0, 1)  # kernel (kh, kw, in, multiplier): one range per in*multiplier channel
    return tuple(range(len(layer.kernel.shape) - 1))


def _ste_round(x):
    """round(x) forward, identity gradient backward (straight-through estimator)."""
    return x + ops.stop_gradient(ops.round(x) - x)


def fake_quant_weight(w, bits: int, axes: tuple[int, ...]):
    """Symmetric per-channel fake quantization of a kernel with a straight-through gradient."""
    _check_bits("bits", bits)
    qmax = 2 ** (bits - 1) - 1
    scale = ops.stop_gradient(ops.maximum(ops.max(ops.abs(w), axis=axes, keepdims=True),
                                          1e-12) / qmax)
    return ops.clip(_ste_round(w / scale), -qmax, qmax) * scale


def fake_quant_activation(x, lo, hi, bits: int):
    """Asymmetric fake quantization to [lo, hi] (contains 0); zero gradient outside the range."""
    _check_bits("bits", bits)
    if isinstance(lo, int | float) and isinstance(hi, int | float) and not lo <= 0.0 <= hi:
        raise ValueError(f"lo and hi must satisfy lo <= 0 <= hi, got lo={lo!r}, hi={hi!r}")
    levels = 2**bits - 1
    scale = ops.maximum((hi - lo) / levels, 1e-12)
    zero = ops.round(-lo / scale)
    q = ops.clip(_ste_round(x / scale) + zero, 0.0, float(levels))
    return (q - zero) * scale


class _WeightQuantMixin:
    """Shared part of the QAT layers: a weight_bits setting and the fake-quantized kernel."""

    def __init__(self, *args, weight_bits: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_bits = _check_bits("weight_bits", weight_bits)

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

    In training (and while `calibrating`) the range is updated from the batch (the first
    batch sets it) and the output is quantized with the new range; at inference the stored
    range is used.
    """

    def __init__(self, bits: int = 8, momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.bits = _check_bits("bits", bits)
        self.momentum = check_fraction("momentum", momentum)
        self.calibrating = False  # set by calibrate_activations (no dropout or jitter then)

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
        if training or self.calibrating:
            m = self.momentum * self.seen
            lo = m * lo + (1 - m) * ops.minimum(ops.stop_gradient(ops.min(inputs)), 0.0)
            hi = m * hi + (1 - m) * ops.maximum(ops.stop_gradient(ops.max(inputs)), 0.0)
            self.range_min.assign(lo)
            self.range_max.assign(hi)
            self.seen.assign(1.0)
        else:
            self.check_calibrated()
        return fake_quant_activation(inputs, lo, hi, self.bits)

    def check_calibrated(self) -> None:
        """ValueError if no training or calibration batch has set the range yet.

        Reads the 'seen' flag eagerly (tf.init_scope), so the check also runs when predict
        or evaluate trace the model; Keras's symbolic shape inference is let through.
        """
        import tensorflow as tf

        if in_symbolic_build():
            return
        with tf.init_scope():
            seen = float(np.asarray(self.seen))
        if seen == 0.0:
            raise ValueError(f"ActivationQuantizer {self.name!r} has no range yet (every "
                             "activation would be quantized to 0): run "
                             "qat.calibrate_activations(qmodel, x) or train the QAT model "
                             "before using it")

    def get_config(self) -> dict:
        """Keras config including bits and momentum."""
        return {**super().get_config(), "bits": self.bits, "momentum": self.momentum}


@keras.saving.register_keras_serializable(package="compress_lib")
class FixedFakeQuant(keras.layers.Layer):
    """TensorFlow's fake-quant op with a fixed [range_min, range_max] (for export).

    The TFLite converter reads the range of tf.quantization.fake_quant_with_min_max_vars
    and uses it as the int8 tensor's quantization: scale (max - min) / 255.
    """

    def __init__(self, range_min: float, range_max: float, bits: int = EXPORT_BITS, **kwargs):
        super().__init__(**kwargs)
        self.range_min = check_number("range_min", range_min)
        self.range_max = check_number("range_max", range_max)
        if not self.range_min <= 0.0 <= self.range_max:
            raise ValueError(f"the range must contain 0, got [{range_min}, {range_max}]")
        self.bits = _check_bits("bits", bits)

    def call(self, inputs):
        """inputs snapped to the 2^bits-level grid over the fixed range."""
        import tensorflow as tf

        return tf.quantization.fake_quant_with_min_max_vars(inputs, self.range_min,
                                                            self.range_max, num_bits=self.bits)

    def get_config(self) -> dict:
        """Keras config including the range and bits."""
        return {**super().get_config(), "range_min": self.range_min,
                "range_max": self.range_max, "bits": self.bits}


QUANT_LAYERS = {keras.layers.Dense: QuantDense, keras.layers.Conv2D: QuantConv2D,
                keras.layers.DepthwiseConv2D: QuantDepthwiseConv2D}


def _with_input_quantizer(model: keras.Model, bits: int, name: str) -> keras.Sequential:
    """model preceded by an input ActivationQuantizer (a flat Sequential if model is one)."""
    if len(model.inputs) != 1:
        raise ValueError(f"QAT needs a model with one input, {model.name!r} has "
                         f"{len(model.inputs)}")
    head = [keras.Input(model.input_shape[1:], dtype=model.inputs[0].dtype),
            ActivationQuantizer(bits, name="input_quant")]
    body = model.layers if isinstance(model, keras.Sequential) else [model]
    return keras.Sequential([*head, *body], name=name)


def quantize_model(model: keras.Model, weight_bits: int = 8, activation_bits: int = 8,
                   strict: bool = True) -> keras.Sequential:
    """A QAT copy: fake-quant kernels and an activation quantizer after the input and after
    every Dense/Conv2D/DepthwiseConv2D layer (also in nested models). Calibrate it before use.

    Other weighted layers (Conv1D, LSTM...) are an error, or with strict=False a warning.
    """
    check_model(model, built=True)
    _check_bits("weight_bits", weight_bits)
    _check_bits("activation_bits", activation_bits)
    graph.check_coverage(model, tuple(QUANT_LAYERS), check_bool("strict", strict), "QAT")

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        """The QAT version of a kernel layer, else a plain copy."""
        cls = QUANT_LAYERS.get(type(layer))
        if cls is None:
            return type(layer).from_config(layer.get_config())
        return cls(weight_bits=weight_bits, **layer.get_config())

    def insert_after(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
        """An activation quantizer after each kernel layer."""
        if type(layer) not in QUANT_LAYERS:
            return []
        return [ActivationQuantizer(activation_bits, name=f"{layer.name}_act_quant")]

    body = graph.rewrite(model, clone=clone, insert_after=insert_after)
    return _with_input_quantizer(body, activation_bits, f"{model.name}_qat")


def _quantizers(qmodel: keras.Model) -> list[ActivationQuantizer]:
    """Every ActivationQuantizer of a QAT model (nested models included)."""
    return [layer for layer in graph.leaf_layers(qmodel) if isinstance(layer, ActivationQuantizer)]


def calibrate_activations(qmodel: keras.Model, x: np.ndarray) -> keras.Model:
    """Post-training calibration: set every activation range to the min/max seen on x.

    The model runs in inference mode (no dropout, no jitter); only the quantizers update.
    """
    check_model(qmodel, built=True)
    x = check_numeric("x", x, min_ndim=2, dtype=np.float32)
    expected = tuple(qmodel.input_shape[1:])
    if len(expected) != x.ndim - 1 or any(e not in (None, d) for e, d in zip(expected, x.shape[1:],
                                                                            strict=False)):
        raise ValueError(f"x must have per-example shape {expected}, got {x.shape[1:]}")
    quantizers = _quantizers(qmodel)
    for layer in quantizers:
        layer.seen.assign(0.0)
        layer.calibrating = True
    try:
        qmodel(x, training=False)
    finally:
        for layer in quantizers:
            layer.calibrating = False
    return qmodel


def activation_ranges(qmodel: keras.Model) -> dict[str, tuple[float, float]]:
    """The learned [min, max] of every activation quantizer, by layer name."""
    check_model(qmodel)
    return {layer.name: (float(layer.range_min), float(layer.range_max))
            for layer in _quantizers(qmodel)}


def _stripped_layer(layer: keras.layers.Layer, keep_ranges: bool) -> keras.layers.Layer | None:
    """The export form of one QAT layer (None drops it)."""
    if isinstance(layer, ActivationQuantizer):
        if not keep_ranges:
            return None
        layer.check_calibrated()
        return FixedFakeQuant(float(layer.range_min), float(layer.range_max), name=layer.name)
    base = next((b for b, q in QUANT_LAYERS.items() if type(layer) is q), type(layer))
    config = layer.get_config()
    config.pop("weight_bits", None)
    return base.from_config(config)


def _stripped_weights(old: keras.layers.Layer, new: keras.layers.Layer) -> list[np.ndarray]:
    """The fake-quantized kernel baked in; quantizer ranges are not weights after strip."""
    if isinstance(old, ActivationQuantizer):
        return []
    weights = old.get_weights()
    if hasattr(old, "quantized_kernel"):
        weights[0] = np.asarray(old.quantized_kernel())
    return weights


def strip(qmodel: keras.Model, keep_ranges: bool = False) -> keras.Model:
    """A plain Keras model with the fake-quantized kernels baked in (for export).

    keep_ranges=False drops the activation quantizers (the converter then calibrates the
    activations again); keep_ranges=True keeps the learned ranges as FixedFakeQuant layers,
    so that the int8 .tflite file uses them (8-bit grids over the QAT ranges).
    """
    check_model(qmodel, built=True)
    check_bool("keep_ranges", keep_ranges)
    return graph.rewrite(qmodel, clone=lambda layer: _stripped_layer(layer, keep_ranges),
                         weights=_stripped_weights, name=qmodel.name.removesuffix("_qat"))
