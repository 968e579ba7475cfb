"""ipywidgets explorers; thin wrappers around the plotting and math functions.

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from compress_lib import blocks
from compress_lib import coding
from compress_lib import deep_compression
from compress_lib import graph
from compress_lib import losses
from compress_lib import models
from compress_lib import plots
from compress_lib import pruning
from compress_lib import ptq
from compress_lib import quantization as q
from compress_lib._checks import check_choice
from compress_lib._checks import check_int
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_number
from compress_lib._checks import check_positive
from compress_lib.config import fds_muted

__all__ = ["Explorer", "NOTE", "TEMPERATURES", "bits_explorer", "bits_panel", "compare_blocks",
           "compression_explorer", "compression_panel", "kd_explorer", "mobilenet_v2_explorer",
           "sparsity_explorer", "sparsity_panel", "temperature_explorer"]


NOTE = "Interactive explorer"  # how a stored explorer's note begins
_DRAW_LOCK = threading.Lock()  # pyplot's figure list is global: one explorer draws at a time


class Explorer(widgets.VBox):
    """Controls above one output that each change redraws, one draw at a time.

    Sliders act when released. A stored notebook shows a note in place of the live controls.
    Introduced in notebooks/01_losses.ipynb.
    """

    def __init__(self, draw: Callable[..., None], **controls: widgets.ValueWidget) -> None:
        self.draw, self.controls, self.output = draw, controls, widgets.Output()
        super().__init__([*controls.values(), self.output])
        self.add_class("compress-explorer")
        for control in controls.values():
            if hasattr(control, "continuous_update"):
                control.continuous_update = False
            control.observe(self.update, names="value")
        self.update()

    @property
    def values(self) -> dict:
        """The controls' current values by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, change: dict | None = None) -> None:
        """Redraw into the output, replacing the old figure only when the new one is ready."""
        with _DRAW_LOCK, self.output:
            self.output.clear_output(wait=True)
            with fds_muted(2):  # C++ log lines would print into the widget
                self.draw(**self.values)
            plt.show()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The widget view, with a note instead of the repr for viewers without a kernel."""
        bundle = super()._repr_mimebundle_(**kwargs)
        settings = ", ".join(f"{c.description or name} = {c.value:g}" if isinstance(c.value, float)
                             else f"{c.description or name} = {c.value}"
                             for name, c in self.controls.items())
        bundle["text/plain"] = (f"{NOTE} ({settings}): it needs a running kernel; "
                                "run the notebook in JupyterLab to move its controls.")
        return bundle


def _explore(draw: Callable[..., None], **controls: widgets.ValueWidget) -> Explorer:
    """Display an Explorer of draw over controls and return it."""
    explorer = Explorer(draw, **controls)
    display(explorer)
    return explorer


TEMPERATURES = (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 20, 50, 100)  # the explorers' T values


def _temperature_slider(value: float = 4) -> widgets.SelectionSlider:
    """A slider over TEMPERATURES: a log-like scale with round values, none snapped."""
    return widgets.SelectionSlider(options=TEMPERATURES, value=value, description="T")


def temperature_explorer(images: np.ndarray, logits: np.ndarray,
                         labels: np.ndarray) -> Explorer:
    """Sliders over temperature and test image: softened distributions at T = 1 and T."""
    if not len(images) == len(logits) == len(labels) or len(images) == 0:
        raise ValueError("images, logits and labels must be non-empty and of equal length")

    def show(temperature: float = 4.0, index: int = 0) -> None:
        plots.temperature_panel(images[index], logits[index], int(labels[index]),
                                [1.0, temperature])
        p = losses.softmax(logits[index], temperature)
        print(f"entropy {losses.entropy(p):.3f} nats; mass outside the top class "
              f"{1 - p.max():.3f}")

    return _explore(
        show,
        temperature=_temperature_slider(),
        index=widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image"))


def kd_explorer(teacher_logits: np.ndarray, student_logits: np.ndarray,
                labels: np.ndarray) -> Explorer:
    """Sliders over T, alpha and example: soft targets per class and the kd_loss terms.

    Taught in notebooks/03_distillation.ipynb.
    """
    if not len(teacher_logits) == len(student_logits) == len(labels) or len(labels) == 0:
        raise ValueError("teacher_logits, student_logits and labels must be non-empty and "
                         "of equal length")

    def show(temperature: float = 4.0, alpha: float = 0.1, index: int = 0) -> None:
        pick = slice(index, index + 1)
        zt, zs, y = teacher_logits[pick], student_logits[pick], np.asarray(labels)[pick]
        hard, soft = (float(np.asarray(t)[0]) for t in losses.kd_terms(y, zs, zt, temperature))
        _, axes = plt.subplots(1, 2, figsize=(9, 3), sharey=True)
        plots.class_bars(axes[0], losses.softmax(zt[0], temperature),
                         f"teacher, T={temperature:g}", int(y[0]))
        plots.class_bars(axes[1], losses.softmax(zs[0], temperature),
                         f"student, T={temperature:g}", int(y[0]))
        print(f"hard CE {hard:.4f}   T^2*KL {soft:.4f}   "
              f"loss = {alpha:.2f}*{hard:.4f} + {1 - alpha:.2f}*{soft:.4f} = "
              f"{alpha * hard + (1 - alpha) * soft:.4f}")

    return _explore(
        show,
        temperature=_temperature_slider(),
        alpha=widgets.FloatSlider(value=0.1, min=0, max=1, step=0.05, description="alpha"),
        index=widgets.IntSlider(value=0, min=0, max=len(labels) - 1, description="example"))


def _check_models(models_by_name: dict) -> None:
    """A non-empty dict of name -> keras.Model."""
    if not isinstance(models_by_name, dict) or not models_by_name:
        raise TypeError("models_by_name must be a non-empty dict of name -> keras.Model")
    for name, m in models_by_name.items():
        check_model(m, name=f"models_by_name[{name!r}]")


def bits_panel(models_by_name: dict, data: tuple[np.ndarray, np.ndarray], bits: int = 3,
               layer: str = "fc1", model: str | None = None) -> None:
    """One layer's weights and its linear `bits`-bit grid, with E, SQNR and the accuracy of
    the model with only that layer quantized (per tensor, asymmetric).

    Taught in notebooks/02_quantization.ipynb.
    """
    _check_models(models_by_name)
    name = next(iter(models_by_name)) if model is None else check_choice("model", model,
                                                                         list(models_by_name))
    check_int("bits", bits, 1, 16)
    check_choice("layer", layer, [la.name for la in graph.select_layers(models_by_name[name])])
    w = np.asarray(models_by_name[name].get_layer(layer).kernel)
    qp = q.calibrate(w, bits)
    w_q = q.dequantize(q.quantize(w, qp), qp)
    one = ptq.quantize_weights(models_by_name[name], bits, symmetric=False, per_channel=False,
                               layers=[layer])
    acc = models.accuracy(one, data)
    _, ax = plt.subplots(figsize=(8, 3))
    plots.weight_levels(ax, w, qp.levels()[0], f"{name} {layer}, {bits} bits: E="
                        f"{q.quantization_error(w, w_q):.3g}, SQNR={q.sqnr_db(w, w_q):.1f} dB, "
                        f"acc={acc:.4f}")
    plt.show()


def bits_explorer(models_by_name: dict, data: tuple[np.ndarray, np.ndarray],
                  layers: tuple[str, ...] = ("fc1", "fc2", "logits")) -> Explorer:
    """Sliders over bits, layer and model for bits_panel.

    Taught in notebooks/02_quantization.ipynb.
    """
    _check_models(models_by_name)
    return _explore(
        lambda bits, layer, model: bits_panel(models_by_name, data, bits, layer, model),
        bits=widgets.IntSlider(3, 1, 16, description="bits"),
        layer=widgets.Dropdown(options=list(layers), description="layer"),
        model=widgets.Dropdown(options=list(models_by_name), description="model"))


def sparsity_panel(probe, weights: list[np.ndarray], data: tuple[np.ndarray, np.ndarray],
                   sparsity: float = 0.9, layer: str = "fc1") -> None:
    """Prune `probe` (reset to `weights`) to `sparsity` per layer, without retraining: one
    layer's histogram and mask, the test accuracy and the sizes of the weights.

    Taught in notebooks/04_pruning.ipynb.
    """
    check_model(probe, name="probe", built=True)
    check_choice("layer", layer, [la.name for la in graph.select_layers(probe)])
    probe.set_weights(weights)
    kernel = np.asarray(probe.get_layer(layer).kernel)
    pruning.prune(probe, sparsity)
    acc = models.accuracy(probe, data)
    total = coding.model_storage(probe)[-1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    plots.pruned_weights(axes, kernel, pruning.get_masks(probe)[layer],
                         f"{layer} weights, sparsity {sparsity:.0%}")
    fig.suptitle(f"test accuracy before retraining {acc:.4f} | nonzero {total['nonzero']:,} | "
                 f"float32 {total['dense_bits'] / 8e3:.0f} kB, relative index "
                 f"{total['relative_bits'] / 8e3:.0f} kB, gzip {total['gzip_bytes'] / 1e3:.0f} kB",
                 y=1.06)
    plt.show()


def sparsity_explorer(probe, weights: list[np.ndarray], data: tuple[np.ndarray, np.ndarray],
                      layer: str = "fc1") -> Explorer:
    """A sparsity slider for sparsity_panel.

    Taught in notebooks/04_pruning.ipynb.
    """
    check_model(probe, name="probe", built=True)
    check_choice("layer", layer, [la.name for la in graph.select_layers(probe)])
    return _explore(
        lambda sparsity: sparsity_panel(probe, weights, data, sparsity, layer),
        sparsity=widgets.FloatSlider(0.9, min=0.0, max=0.99, step=0.01, description="sparsity"))


def _show_block_costs(c_in: int, c_out: int, stride: int, expansion: int, side: int) -> None:
    """Bars of the closed-form parameters and MACs of the three block kinds."""

    costs = {kind: blocks.block_cost(kind, side, side, c_in, c_out, stride, expansion)
             for kind in blocks.BLOCKS}
    plots.cost_bars(costs, f"{side}x{side}x{c_in} -> {c_out} channels, stride {stride}, "
                           f"t={expansion}")
    plt.show()


def compare_blocks(c_in: int = 32, c_out: int = 32, stride: int = 1, expansion: int = 6,
                   side: int = 14) -> Explorer:
    """The block picker: a static view at these values (kept in a stored notebook), then sliders.

    Taught in notebooks/05_mobilenet_blocks.ipynb.
    """
    _show_block_costs(c_in, c_out, stride, expansion, side)
    return _explore(
        _show_block_costs,
        c_in=widgets.IntSlider(value=c_in, min=8, max=512, step=8, description="c_in"),
        c_out=widgets.IntSlider(value=c_out, min=8, max=512, step=8, description="c_out"),
        stride=widgets.Dropdown(options=[1, 2], value=stride, description="stride"),
        expansion=widgets.IntSlider(value=expansion, min=1, max=8, description="expansion"),
        side=widgets.IntSlider(value=side, min=7, max=112, step=7, description="side"))


def _show_mobilenet_v2(alpha: float, resolution: int) -> None:
    """MACs per MobileNet V2 layer with the totals and predicted deployed sizes in the title."""
    resolution = check_int("resolution", resolution, low=1)
    total = blocks.layout_cost(rows := blocks.mobilenet_v2_table(check_positive("alpha", alpha),
                                                                 resolution / 224))
    plots.layer_macs(rows, f"alpha {alpha:.2f}, {resolution}x{resolution}: "
                     f"{total.macs / 1e6:.0f}M MACs, {(total.weights + total.bn // 4) / 1e6:.2f}M "
                     f"weights, {blocks.predicted_bytes(total) / 1e6:.1f} MB float32, "
                     f"{blocks.predicted_bytes(total, 8) / 1e6:.1f} MB int8",
                     xlabel="layer (conv1, 17 inverted residual blocks, conv_last, classifier)")
    plt.show()


def mobilenet_v2_explorer(alpha: float = 0.5, resolution: int = 160) -> Explorer:
    """Closed-form MobileNet V2 costs: a static view at these values, then sliders.

    Taught in notebooks/05_mobilenet_blocks.ipynb.
    """
    _show_mobilenet_v2(alpha, resolution)
    return _explore(
        _show_mobilenet_v2,
        alpha=widgets.FloatSlider(value=alpha, min=0.25, max=1.4, step=0.05, description="alpha"),
        resolution=widgets.Dropdown(options=[96, 128, 160, 192, 224], value=resolution,
                                    description="resolution"))


def _weighted_layer(model: keras.Model, layer: str) -> keras.layers.Layer:
    """The weighted layer of model named `layer` (nested models included)."""
    layers = {la.name: la for la in graph.select_layers(check_model(model, built=True))}
    return layers[check_choice("layer", layer, list(layers))]


def compression_panel(model: keras.Model, data: tuple[np.ndarray, np.ndarray],
                      sparsity: float = 0.9, bits: int = 5, index_bits: int = 5,
                      layer: str = "fc1") -> None:
    """deep_compression.one_shot at (sparsity, bits): test accuracy, compressed size and ratio,
    each layer's size by part, and one layer's kept weights with its shared values.

    Taught in notebooks/06_mnist_case_study.ipynb (the sparsity x bits explorer).
    """
    kernel = np.asarray(_weighted_layer(model, layer).kernel)
    shared, codes = deep_compression.one_shot(model, sparsity, bits, index_bits)
    acc = models.accuracy(shared, data)
    rows = coding.compressed_size(codes)
    kept = kernel[np.asarray(_weighted_layer(shared, layer).kernel) != 0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    plots.compressed_parts(axes[0], rows)
    values = codes[layer].codebook[1:]
    if kept.size:
        plots.weight_levels(axes[1], kept, values, f"{layer}: {kept.size:,} kept weights, "
                            f"{values.size} shared values (red)")
    else:
        axes[1].set_title(f"{layer}: every weight pruned")
    total = rows[-1]
    fig.suptitle(f"sparsity {sparsity:.0%}, {bits} bits, no retraining: test accuracy "
                 f"{acc:.2%} | {total['compressed_bytes'] / 1e3:.1f} kB, "
                 f"{total['ratio']:.1f}× smaller than float32 "
                 f"({total['original_bytes'] / 1e3:,.0f} kB)", y=1.04)
    plt.show()


def compression_explorer(model: keras.Model, data: tuple[np.ndarray, np.ndarray],
                         sparsity: float = 0.9, bits: int = 5, index_bits: int = 5,
                         layer: str = "fc1") -> Explorer:
    """Sparsity (0.5-0.98) and bits (2-8) sliders for compression_panel; each change re-prunes,
    re-shares and re-evaluates.

    Taught in notebooks/06_mnist_case_study.ipynb.
    """
    _weighted_layer(model, layer)
    data = check_labelled(data)
    sparsity = check_number("sparsity", sparsity, 0.5, 0.98)
    bits = check_int("bits", bits, 2, 8)
    index_bits = check_int("index_bits", index_bits, 1, 16)
    return _explore(
        lambda sparsity, bits: compression_panel(model, data, sparsity, bits, index_bits, layer),
        sparsity=widgets.FloatSlider(sparsity, min=0.5, max=0.98, step=0.01,
                                     readout_format=".0%", description="sparsity"),
        bits=widgets.IntSlider(bits, min=2, max=8, description="bits"))
