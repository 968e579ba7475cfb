"""Efficient-architecture blocks (MobileNet V1 / V2) and their costs in closed form.

Three Keras 3 block builders -- a standard convolution, the depthwise-separable
convolution of MobileNet V1 (Howard et al. 2017) and the inverted residual with linear
bottleneck of MobileNet V2 (Sandler et al. 2018) -- the width multiplier alpha and the
resolution multiplier rho, and the parameters and multiply-accumulates (MACs) of each
block and of whole MobileNet V1 / V2 layouts from their hyper-parameters alone.
Counting convention (as in compress_lib.measure and the papers): MACs are those of
convolutions and dense layers; `weights` are their kernels and biases; `bn` are the four
stored BatchNormalization values per channel, which fold into the convolution at export.
Introduced in notebooks/05_mobilenet_blocks.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from compress_lib._checks import check_bool
from compress_lib._checks import check_choice
from compress_lib._checks import check_int
from compress_lib._checks import check_number
from compress_lib._checks import check_positive

__all__ = ["BLOCKS", "MNIST_STAGES", "MOBILENET_V1_LAYOUT", "MOBILENET_V2_LAYOUT", "ZERO", "Cost",
           "block", "block_cost", "cnn", "cnn_cost", "conv_block", "conv_cost", "dense_cost",
           "depthwise_cost", "inverted_residual_block", "inverted_residual_cost",
           "layout_cost", "make_divisible", "mobilenet_v1_table", "mobilenet_v2_table",
           "out_size", "predicted_bytes", "scale_resolution", "scale_width", "separable_block",
           "separable_cost", "separable_ratio", "single_block"]

BLOCKS = ("standard", "separable", "inverted_residual")
# MobileNet V1 body (Howard et al. 2017, Table 1): (pointwise filters, stride) per block.
MOBILENET_V1_LAYOUT = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                       (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
# MobileNet V2 body (Sandler et al. 2018, Table 2): (expansion t, channels c, repeats n, stride s).
MOBILENET_V2_LAYOUT = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


@dataclass(frozen=True)
class Cost:
    """Parameters and multiply-accumulates of a layer, block or network (one example)."""

    weights: int
    bn: int
    macs: int

    @property
    def params(self) -> int:
        """All stored parameters, as keras' count_params reports them."""
        return self.weights + self.bn

    def __add__(self, other: Cost) -> Cost:
        """Costs of two parts of a network add up."""
        return Cost(self.weights + other.weights, self.bn + other.bn, self.macs + other.macs)


ZERO = Cost(0, 0, 0)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of divisor, never losing more than 10% (V2 rule)."""
    check_int("divisor", divisor, low=1)
    value = check_number("value", value, low=0.0)
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def scale_width(channels: int, alpha: float, divisor: int = 8) -> int:
    """Width multiplier: alpha * channels, rounded to a multiple of divisor (1: plain int)."""
    check_int("channels", channels, low=1)
    alpha = check_positive("alpha", alpha)
    check_int("divisor", divisor, low=1)
    scaled = int(channels * alpha)
    return max(1, scaled) if divisor == 1 else make_divisible(scaled, divisor)


def scale_resolution(size: int, rho: float) -> int:
    """Resolution multiplier: the input side rho * size, rounded, at least 1."""
    check_int("size", size, low=1)
    return max(1, round(size * check_positive("rho", rho)))


def out_size(size: int, stride: int) -> int:
    """Output side of a 'same'-padded convolution."""
    return -(-check_int("size", size, low=1) // check_int("stride", stride, low=1))


def conv_cost(h: int, w: int, c_in: int, c_out: int, kernel: int = 3, stride: int = 1,
              bias: bool = False, bn: bool = True) -> Cost:
    """Standard k x k convolution: D_K^2 M N weights, D_K^2 M N D_F^2 MACs."""
    for name, v in (("h", h), ("w", w), ("c_in", c_in), ("c_out", c_out), ("kernel", kernel)):
        check_int(name, v, low=1)
    check_bool("bias", bias)
    check_bool("bn", bn)
    positions = out_size(h, stride) * out_size(w, stride)
    weights = kernel * kernel * c_in * c_out + (c_out if bias else 0)
    return Cost(weights, 4 * c_out if bn else 0, positions * kernel * kernel * c_in * c_out)


def depthwise_cost(h: int, w: int, channels: int, kernel: int = 3, stride: int = 1) -> Cost:
    """Depthwise k x k convolution with BN: D_K^2 M weights, D_K^2 M D_F^2 MACs."""
    for name, v in (("h", h), ("w", w), ("channels", channels), ("kernel", kernel)):
        check_int(name, v, low=1)
    positions = out_size(h, stride) * out_size(w, stride)
    return Cost(kernel * kernel * channels, 4 * channels, positions * kernel * kernel * channels)


def dense_cost(c_in: int, units: int) -> Cost:
    """Dense layer with bias: (M + 1) N weights, M N MACs."""
    check_int("c_in", c_in, low=1)
    check_int("units", units, low=1)
    return Cost(c_in * units + units, 0, c_in * units)


def separable_cost(h: int, w: int, c_in: int, c_out: int, kernel: int = 3,
                   stride: int = 1) -> Cost:
    """MobileNet V1 block: depthwise k x k (stride) + BN, then pointwise 1x1 + BN."""
    ho, wo = out_size(h, stride), out_size(w, stride)
    return depthwise_cost(h, w, c_in, kernel, stride) + conv_cost(ho, wo, c_in, c_out, 1)


def inverted_residual_cost(h: int, w: int, c_in: int, c_out: int, expansion: int = 6,
                           stride: int = 1, kernel: int = 3) -> Cost:
    """MobileNet V2 block: 1x1 expand to t*M (skipped if t == 1), depthwise, 1x1 project."""
    check_int("expansion", expansion, low=1)
    mid = c_in * expansion
    expand = conv_cost(h, w, c_in, mid, 1) if expansion != 1 else ZERO
    ho, wo = out_size(h, stride), out_size(w, stride)
    return expand + depthwise_cost(h, w, mid, kernel, stride) + conv_cost(ho, wo, mid, c_out, 1)


def block_cost(kind: str, h: int, w: int, c_in: int, c_out: int, stride: int = 1,
               expansion: int = 6, kernel: int = 3) -> Cost:
    """Cost of one block of the given kind (one of BLOCKS)."""
    if check_choice("kind", kind, BLOCKS) == "standard":
        return conv_cost(h, w, c_in, c_out, kernel, stride)
    if kind == "separable":
        return separable_cost(h, w, c_in, c_out, kernel, stride)
    return inverted_residual_cost(h, w, c_in, c_out, expansion, stride, kernel)


def separable_ratio(c_out: int, kernel: int = 3) -> float:
    """Howard et al.'s MAC ratio separable / standard = 1/N + 1/D_K^2."""
    c_out, kernel = check_int("c_out", c_out, low=1), check_int("kernel", kernel, low=1)
    return 1.0 / c_out + 1.0 / kernel**2


def _check_image(x: keras.KerasTensor) -> int:
    """Channels of a (batch, height, width, channels) tensor, else ValueError."""
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) != 4 or shape[-1] is None:
        raise ValueError("x must be an image feature map of shape (batch, height, width, "
                         f"channels) with known channels, got shape {shape}")
    return int(shape[-1])


def _bn_relu6(x: keras.KerasTensor, name: str, relu: bool = True) -> keras.KerasTensor:
    """BatchNormalization, then ReLU6 unless the output must stay linear."""
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x) if relu else x


def conv_block(x: keras.KerasTensor, filters: int, kernel: int = 3, stride: int = 1,
               name: str = "conv") -> keras.KerasTensor:
    """Standard convolution: k x k Conv2D (no bias) + BN + ReLU6."""
    _check_image(x)
    check_int("filters", filters, low=1)
    check_int("stride", stride, low=1)
    x = keras.layers.Conv2D(filters, check_int("kernel", kernel, low=1), strides=stride,
                            padding="same", use_bias=False, name=name)(x)
    return _bn_relu6(x, name)


def separable_block(x: keras.KerasTensor, filters: int, stride: int = 1, kernel: int = 3,
                    name: str = "sep") -> keras.KerasTensor:
    """MobileNet V1: depthwise k x k + BN + ReLU6, then pointwise 1x1 + BN + ReLU6."""
    _check_image(x)
    check_int("stride", stride, low=1)
    x = keras.layers.DepthwiseConv2D(check_int("kernel", kernel, low=1), strides=stride,
                                     padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = _bn_relu6(x, f"{name}_dw")
    return conv_block(x, check_int("filters", filters, low=1), 1, name=f"{name}_pw")


def inverted_residual_block(x: keras.KerasTensor, filters: int, expansion: int = 6,
                            stride: int = 1, kernel: int = 3,
                            name: str = "ir") -> keras.KerasTensor:
    """MobileNet V2: 1x1 expand + ReLU6, depthwise + ReLU6, linear 1x1 project, residual."""
    c_in = _check_image(x)
    check_int("filters", filters, low=1)
    check_int("stride", stride, low=1)
    inputs = x
    if check_int("expansion", expansion, low=1) != 1:
        x = conv_block(x, c_in * expansion, 1, name=f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(check_int("kernel", kernel, low=1), strides=stride,
                                     padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = _bn_relu6(x, f"{name}_dw")
    x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(x)
    x = _bn_relu6(x, f"{name}_project", relu=False)
    if stride == 1 and c_in == filters:  # shapes allow the skip connection
        x = keras.layers.Add(name=f"{name}_add")([inputs, x])
    return x


def block(kind: str, x: keras.KerasTensor, filters: int, stride: int = 1, expansion: int = 6,
          kernel: int = 3, name: str = "block") -> keras.KerasTensor:
    """Apply one block of the given kind (one of BLOCKS)."""
    if check_choice("kind", kind, BLOCKS) == "standard":
        return conv_block(x, filters, kernel, stride, name=name)
    if kind == "separable":
        return separable_block(x, filters, stride, kernel, name=name)
    return inverted_residual_block(x, filters, expansion, stride, kernel, name=name)


def single_block(kind: str, channels: int, side: int = 14) -> keras.Model:
    """One block of the given kind on a side x side x channels input, channels out."""
    side, channels = check_int("side", side, low=1), check_int("channels", channels, low=1)
    x = keras.Input((side, side, channels))
    return keras.Model(x, block(kind, x, channels, name=kind), name=f"{kind}_{channels}")


def _image_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(height, width, channels) from an image input shape; (h, w) means one channel."""
    shape = tuple(input_shape)
    if len(shape) not in (2, 3):
        raise ValueError("input_shape must be (height, width) or (height, width, channels), "
                         f"got {input_shape!r}")
    shape = tuple(check_int(f"input_shape[{i}]", d, low=1) for i, d in enumerate(shape))
    return (*shape, 1) if len(shape) == 2 else shape


MNIST_STAGES = ((32, 1), (64, 2), (128, 1), (128, 1))


def _check_stages(stages: tuple[tuple[int, int], ...]) -> None:
    """A sequence of (filters, stride) pairs of positive ints."""
    if not isinstance(stages, list | tuple):
        raise TypeError(f"stages must be a sequence of (filters, stride) pairs, "
                        f"got {stages!r}")
    for i, stage in enumerate(stages):
        if not isinstance(stage, list | tuple) or len(stage) != 2:
            raise TypeError(f"stages[{i}] must be a (filters, stride) pair, got {stage!r}")
        check_int(f"stages[{i}][0]", stage[0], low=1)
        check_int(f"stages[{i}][1]", stage[1], low=1)


def cnn(kind: str, input_shape: tuple[int, ...] = (28, 28), stem: int = 16, stem_stride: int = 2,
        stages: tuple[tuple[int, int], ...] = MNIST_STAGES, alpha: float = 1.0,
        expansion: int = 6, classes: int = 10, name: str | None = None) -> keras.Model:
    """A small classifier: 3x3 conv stem, one block per (filters, stride), GAP, dense logits."""
    check_choice("kind", kind, BLOCKS)
    h, w, c = _image_shape(input_shape)
    _check_stages(stages)
    inputs = keras.Input(tuple(input_shape))
    x = inputs if len(input_shape) == 3 else keras.layers.Reshape((h, w, c))(inputs)
    x = conv_block(x, scale_width(stem, alpha), stride=stem_stride, name="stem")
    for i, (filters, stride) in enumerate(stages):
        x = block(kind, x, scale_width(filters, alpha), stride, expansion, name=f"block{i + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(check_int("classes", classes, low=1), name="logits")(x)
    return keras.Model(inputs, outputs, name=name or f"{kind}_cnn")


def cnn_cost(kind: str, input_shape: tuple[int, ...] = (28, 28), stem: int = 16,
             stem_stride: int = 2, stages: tuple[tuple[int, int], ...] = MNIST_STAGES,
             alpha: float = 1.0, expansion: int = 6, classes: int = 10) -> Cost:
    """Closed-form cost of `cnn(...)` with the same arguments."""
    check_choice("kind", kind, BLOCKS)
    h, w, c = _image_shape(input_shape)
    _check_stages(stages)
    c_out = scale_width(stem, alpha)
    total = conv_cost(h, w, c, c_out, 3, stem_stride)
    h, w = out_size(h, stem_stride), out_size(w, stem_stride)
    for filters, stride in stages:
        c_in, c_out = c_out, scale_width(filters, alpha)
        total += block_cost(kind, h, w, c_in, c_out, stride, expansion)
        h, w = out_size(h, stride), out_size(w, stride)
    return total + dense_cost(c_out, check_int("classes", classes, low=1))


def mobilenet_v1_table(alpha: float = 1.0, rho: float = 1.0, classes: int = 1000,
                       size: int = 224) -> list[dict]:
    """Per-layer closed-form costs of MobileNet V1 (keras.applications' layout)."""
    side = scale_resolution(size, rho)
    c = max(1, int(32 * check_positive("alpha", alpha)))
    rows = [_row("conv1", side, 3, c, 2, conv_cost(side, side, 3, c, 3, 2))]
    side = out_size(side, 2)
    for i, (filters, stride) in enumerate(MOBILENET_V1_LAYOUT):
        c_out = scale_width(filters, alpha, divisor=1)
        # keras pads stride-2 blocks by (0, 1) then uses 'valid': an odd side gives floor(side/2)
        eff = side - 1 if stride == 2 and side % 2 else side
        rows.append(_row(f"sep{i + 1}", side, c, c_out, stride,
                         separable_cost(eff, eff, c, c_out, 3, stride)))
        side, c = side // stride, c_out
    head = conv_cost(1, 1, c, check_int("classes", classes, low=1), 1, bias=True, bn=False)
    return rows + [_row("classifier", 1, c, classes, 1, head)]


def mobilenet_v2_table(alpha: float = 1.0, rho: float = 1.0, classes: int = 1000,
                       size: int = 224) -> list[dict]:
    """Per-layer closed-form costs of MobileNet V2 (keras.applications' layout and rounding)."""
    check_int("classes", classes, low=1)
    side = scale_resolution(size, rho)
    c = make_divisible(32 * check_positive("alpha", alpha))
    rows = [_row("conv1", side, 3, c, 2, conv_cost(side, side, 3, c, 3, 2))]
    side = out_size(side, 2)
    for t, channels, repeats, first_stride in MOBILENET_V2_LAYOUT:
        c_out = scale_width(channels, alpha)
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            rows.append(_row(f"block{len(rows)}_t{t}", side, c, c_out, stride,
                             inverted_residual_cost(side, side, c, c_out, t, stride)))
            side, c = out_size(side, stride), c_out
    last = 1280 if alpha <= 1.0 else make_divisible(1280 * alpha)
    rows.append(_row("conv_last", side, c, last, 1, conv_cost(side, side, c, last, 1)))
    return rows + [_row("classifier", 1, last, classes, 1, dense_cost(last, classes))]


def _row(name: str, side: int, c_in: int, c_out: int, stride: int, cost: Cost) -> dict:
    """One row of a layout table."""
    return {"layer": name, "input": f"{side}x{side}x{c_in}", "c_out": c_out, "stride": stride,
            "weights": cost.weights, "bn": cost.bn, "macs": cost.macs}


def layout_cost(rows: list[dict]) -> Cost:
    """Total cost of a layout table (mobilenet_v1_table / mobilenet_v2_table)."""
    if not isinstance(rows, list | tuple) or not rows or not all(
            isinstance(r, dict) and {"weights", "bn", "macs"} <= set(r) for r in rows):
        raise TypeError("rows must be a non-empty list of layout rows (dicts with 'weights', "
                        "'bn' and 'macs') as mobilenet_v1_table returns")
    return Cost(sum(r["weights"] for r in rows), sum(r["bn"] for r in rows),
                sum(r["macs"] for r in rows))


def predicted_bytes(cost: Cost, bits: int = 32) -> int:
    """Deployed weight bytes: kernels, plus one bias per BN channel (32-bit in int8 files)."""
    if not isinstance(cost, Cost):
        raise TypeError(f"cost must be a Cost, got {type(cost).__name__}")
    check_choice("bits", check_int("bits", bits), (8, 16, 32))
    return cost.weights * bits // 8 + cost.bn // 4 * (4 if bits == 8 else bits // 8)
