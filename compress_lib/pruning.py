"""Pruning (模型剪枝) for Keras 3: magnitude masks, schedules, a pruning callback, strip,
iterative prune-and-retrain, structured neuron/channel pruning and sensitivity scans.

TF Model Optimization's pruning only works with Keras 2 (`tf_keras`); this module is the
Keras 3 piece (the side-by-side run against TF-MOT is in compress_lib.reference). Masks ride
on the kernels as a Keras constraint, which the optimizer applies inside the compiled train
step after every update, so pruned weights stay exactly zero. Layer choice, copies and
rebuilt smaller models go through compress_lib.graph (Sequential, functional and nested).
Notebook 04's repeated runs (sensitivity scan, allocation curve, the three methods, Han et
al.'s recipe per seed) go through compress_lib.sweep. Introduced in notebooks/04_pruning.ipynb.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from functools import partial

import keras
import numpy as np

from compress_lib import graph
from compress_lib import sweep
from compress_lib._checks import check_array
from compress_lib._checks import check_bool
from compress_lib._checks import check_callable
from compress_lib._checks import check_choice
from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_number
from compress_lib._checks import check_numeric
from compress_lib._checks import check_positive
from compress_lib._compat import reset_train_function
from compress_lib.config import set_seed
from compress_lib.models import accuracy
from compress_lib.models import add_l2
from compress_lib.models import lenet_300_100
from compress_lib.models import progress as progress_bar
from compress_lib.models import train

__all__ = ["METHODS", "PASS_THROUGH", "PRUNABLE", "STRUCTURED", "ConstantSparsity",
           "MaskConstraint", "PolynomialDecay", "PruningCallback", "Schedule", "allocation_curve",
           "apply_masks", "compute_masks", "copy_with_l2", "get_masks", "global_masks",
           "gradual_prune", "han_baseline", "han_run", "iterative_prune", "keep_units",
           "kept_fraction", "magnitude_mask", "method_run", "n_pruned", "nm_mask", "prune",
           "sensitivity_scan", "set_mask", "sparsity_table", "strip", "structured_prune",
           "unit_scores"]

PRUNABLE = graph.KERNEL_LAYERS
STRUCTURED = (keras.layers.Dense, keras.layers.Conv2D)
PASS_THROUGH = (keras.layers.Dropout, keras.layers.Activation, keras.layers.ReLU,
                keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
                keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D,
                keras.layers.Identity)
NORMS = ("l1", "l2")
METHODS = ("one-shot", "gradual", "iterative")  # the ways to a sparsity that method_run compares
_NM = re.compile(r"^(\d+):(\d+)$")


# ---------------------------------------------------------------- masks

def n_pruned(size: int, sparsity: float) -> int:
    """How many of `size` weights a mask zeroes: size - max(1, round(size * (1 - sparsity)))."""
    size = check_int("size", size, low=1)
    return int(size - max(1, int(np.round(size * (1.0 - check_fraction("sparsity", sparsity))))))


def _keep_mask(magnitudes: np.ndarray, sparsity: float) -> np.ndarray:
    """Flat keep-mask: zero the smallest magnitudes, ties broken by position (earlier first)."""
    keep = np.ones(magnitudes.size, dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[:n_pruned(magnitudes.size, sparsity)]] = False
    return keep


def magnitude_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean keep-mask that zeroes exactly n_pruned(w.size, sparsity) smallest |w|."""
    w = check_numeric("w", w, dtype=None)
    return _keep_mask(np.abs(w).ravel(), sparsity).reshape(w.shape)


def global_masks(weights: Sequence[np.ndarray], sparsity: float) -> list[np.ndarray]:
    """Keep-masks for several arrays ranked together under one global magnitude threshold."""
    if len(weights) == 0:
        raise ValueError("weights must be a non-empty list of non-empty arrays")
    arrays = [check_numeric(f"weights[{i}]", w, dtype=None) for i, w in enumerate(weights)]
    keep = _keep_mask(np.concatenate([np.abs(w).ravel() for w in arrays]), sparsity)
    splits = np.cumsum([w.size for w in arrays])[:-1]
    return [k.reshape(w.shape) for k, w in zip(np.split(keep, splits), arrays, strict=True)]


def nm_mask(w: np.ndarray, n: int = 2, m: int = 4, axis: int | None = None) -> np.ndarray:
    """N:M structured keep-mask: the n largest |w| in every m consecutive weights along axis.

    The default axis is the input (reduction) axis: -2 for kernels, -1 for vectors.
    """
    w = check_numeric("w", w, dtype=None)
    n, m = check_int("n", n, low=1), check_int("m", m, low=2)
    if n >= m:
        raise ValueError(f"need integers 0 < n < m, got n={n!r}, m={m!r}")
    axis = (-2 if w.ndim >= 2 else -1) if axis is None else check_int("axis", axis)
    moved = np.moveaxis(np.abs(w), axis, -1)
    if moved.shape[-1] % m:
        raise ValueError(f"size along axis {axis} is {moved.shape[-1]}, not a multiple of m={m}")
    groups = moved.reshape(*moved.shape[:-1], -1, m)
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, np.argsort(-groups, axis=-1, kind="stable")[..., :n], True, axis=-1)
    return np.moveaxis(keep.reshape(moved.shape), -1, axis)


# ---------------------------------------------------------------- schedules

class Schedule:
    """When to update masks: at begin_step, then every `frequency` steps up to end_step."""

    def __init__(self, begin_step: int = 0, end_step: int = -1, frequency: int = 100):
        self.begin_step = check_int("begin_step", begin_step, low=0)
        self.end_step = check_int("end_step", end_step, low=-1)
        if self.end_step != -1 and self.end_step < self.begin_step:
            raise ValueError(f"end_step must be -1 or >= begin_step={begin_step}, got {end_step}")
        self.frequency = check_int("frequency", frequency, low=1)

    def should_prune(self, step: int) -> bool:
        """True on the steps where masks are recomputed."""
        step = check_int("step", step, low=0)
        in_range = step >= self.begin_step and (self.end_step < 0 or step <= self.end_step)
        return bool(in_range and (step - self.begin_step) % self.frequency == 0)

    def sparsity(self, step: int) -> float:
        """Target sparsity at `step`."""
        raise NotImplementedError

    def __call__(self, step: int) -> tuple[bool, float]:
        """(should_prune, sparsity) at `step`, like TF-MOT's PruningSchedule."""
        return self.should_prune(step), self.sparsity(step)


class ConstantSparsity(Schedule):
    """The same target sparsity at every pruning step (TF-MOT's argument order)."""

    def __init__(self, target_sparsity: float, begin_step: int = 0, end_step: int = -1,
                 frequency: int = 100):
        super().__init__(begin_step, end_step, frequency)
        self.target_sparsity = check_fraction("target_sparsity", target_sparsity)

    def sparsity(self, step: int) -> float:
        """Target sparsity at `step` (constant)."""
        check_int("step", step, low=0)
        return self.target_sparsity


class PolynomialDecay(Schedule):
    """Zhu & Gupta 2017: s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^power, t clipped to [t0, end].

    Same arguments as TF-MOT's PolynomialDecay, computed in float32 in the same order.
    """

    def __init__(self, initial_sparsity: float, final_sparsity: float, begin_step: int,
                 end_step: int, power: float = 3.0, frequency: int = 100):
        super().__init__(begin_step, end_step, frequency)
        if self.end_step <= self.begin_step:
            raise ValueError(f"end_step must be > begin_step={begin_step}, got {end_step}")
        self.initial_sparsity = check_fraction("initial_sparsity", initial_sparsity)
        self.final_sparsity = check_fraction("final_sparsity", final_sparsity)
        self.power = check_positive("power", power)

    def sparsity(self, step: int) -> float:
        """Target sparsity at `step`."""
        step = check_int("step", step, low=0)
        f32 = np.float32
        p = f32(step - self.begin_step) / f32(self.end_step - self.begin_step)
        p = np.minimum(f32(1.0), np.maximum(f32(0.0), p))
        decay = np.power(f32(1.0) - p, f32(self.power))
        return float(f32(self.initial_sparsity - self.final_sparsity) * decay
                     + f32(self.final_sparsity))


# ---------------------------------------------------------------- masks on a model

class MaskConstraint(keras.constraints.Constraint):
    """Multiplies a kernel by its 0/1 mask; the optimizer applies it after every update."""

    def __init__(self, mask: np.ndarray, inner: keras.constraints.Constraint | None = None):
        mask = check_array("mask", mask, dtype=np.float32)
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold only 0/1 (or bool) values")
        if inner is not None:
            check_callable("inner", inner)
        self.mask = keras.Variable(mask, trainable=False, name="mask")
        self.inner = inner

    def __call__(self, w):
        """The constrained (masked) kernel."""
        return keras.ops.multiply(self.inner(w) if self.inner else w, self.mask)


def _mask_of(layer: keras.layers.Layer) -> keras.Variable | None:
    """The mask variable attached to a layer's kernel, or None."""
    constraint = getattr(getattr(layer, "kernel", None), "constraint", None)
    return constraint.mask if isinstance(constraint, MaskConstraint) else None


def _targets(model: keras.Model, layers: graph.LayerSpec, strict: bool = True
             ) -> list[keras.layers.Layer]:
    """The layers to prune: graph.select_layers restricted to the prunable types.

    With layers=None, other weighted layers (Conv1D, LSTM...) are an error when strict,
    else a warning.
    """
    targets = graph.select_layers(model, layers, types=PRUNABLE)
    if layers is None:
        graph.check_coverage(model, PRUNABLE, check_bool("strict", strict), "pruning")
    return targets


def _parse_scope(scope: str) -> tuple[int, int] | None:
    """None for 'layer'/'global', (n, m) for an 'N:M' scope; ValueError otherwise."""
    if not isinstance(scope, str):
        raise TypeError(f"scope must be a str ('layer', 'global' or 'N:M'), got {scope!r}")
    if scope in ("layer", "global"):
        return None
    match = _NM.match(scope)
    if not match:
        raise ValueError(f"scope must be 'layer', 'global' or 'N:M' like '2:4', got {scope!r}")
    return int(match[1]), int(match[2])


def _layer_masks(kernels: list[np.ndarray], names: list[str],
                 sparsity: float | dict[str, float]) -> list[np.ndarray]:
    """Per-layer magnitude masks; `sparsity` is one number or one per layer name."""
    per_layer = sparsity if isinstance(sparsity, dict) else dict.fromkeys(names, sparsity)
    unknown = sorted(set(per_layer) - set(names), key=str)
    if unknown:
        raise ValueError(f"sparsity: no prunable layer named {unknown}; valid names: {names}")
    missing = set(names) - set(per_layer)
    if missing:
        raise ValueError(f"sparsity: no value for layers {sorted(missing)}")
    return [magnitude_mask(k, per_layer[n]) for k, n in zip(kernels, names, strict=True)]


def compute_masks(layers: Sequence[keras.layers.Layer], sparsity: float | dict[str, float] | None,
                  scope: str = "layer") -> dict[str, np.ndarray]:
    """Keep-masks for the layers' kernels: per-layer, global or N:M magnitude pruning."""
    types = ", ".join(t.__name__ for t in PRUNABLE)
    if not isinstance(layers, Sequence) or isinstance(layers, str):
        raise TypeError(f"layers must be a list of {types} layers, got {type(layers).__name__}")
    if not layers:
        raise ValueError("layers must not be empty")
    for i, layer in enumerate(layers):
        if not isinstance(layer, PRUNABLE):
            raise TypeError(f"layers[{i}] must be one of {types}, got {type(layer).__name__}")
    kernels = [np.asarray(layer.kernel) for layer in layers]
    names = [layer.name for layer in layers]
    nm = _parse_scope(scope)
    if nm is not None:
        masks = [nm_mask(k, *nm) for k in kernels]
    elif scope == "global":
        if isinstance(sparsity, dict):
            raise TypeError("sparsity must be one number when scope='global', got a dict")
        masks = global_masks(kernels, sparsity)
    else:
        masks = _layer_masks(kernels, names, sparsity)
    return dict(zip(names, masks, strict=True))


def set_mask(layer: keras.layers.Layer, mask: np.ndarray) -> bool:
    """Zero a layer's pruned kernel weights and keep them zero; True if a constraint was added."""
    if not isinstance(layer, PRUNABLE):
        raise TypeError(f"layer must be one of {', '.join(t.__name__ for t in PRUNABLE)}, "
                        f"got {type(layer).__name__}")
    mask = check_array("mask", mask, dtype=None)
    if not np.isin(mask, (0, 1)).all():
        raise ValueError(f"mask of layer {layer.name!r} must hold only 0/1 (or bool) values")
    kernel = layer.kernel
    if tuple(mask.shape) != tuple(kernel.shape):
        raise ValueError(f"mask shape {mask.shape} != kernel shape {tuple(kernel.shape)} "
                         f"of layer {layer.name!r}")
    added = _mask_of(layer) is None
    if added:
        kernel.constraint = MaskConstraint(mask, inner=kernel.constraint)
    else:
        kernel.constraint.mask.assign(np.asarray(mask, np.float32))
    kernel.assign(np.asarray(kernel) * mask)
    return added


def apply_masks(model: keras.Model, masks: dict[str, np.ndarray]) -> None:
    """Set masks on the named layers; forces a retrace of fit's step if constraints were added."""
    by_name = {layer.name: layer for layer in graph.leaf_layers(check_model(model))}
    if not isinstance(masks, dict):
        raise TypeError(f"masks must be a dict of layer name -> mask, got {type(masks).__name__}")
    unknown = sorted(set(masks) - set(by_name))
    if unknown:
        raise ValueError(f"masks: no layers named {unknown} in model {model.name!r}")
    added = [set_mask(by_name[name], mask) for name, mask in masks.items()]
    if any(added):
        reset_train_function(model)  # traced steps must see the new constraints


def get_masks(model: keras.Model) -> dict[str, np.ndarray]:
    """The boolean keep-masks currently attached to a model's kernels."""
    return {layer.name: np.asarray(_mask_of(layer)) > 0
            for layer in graph.leaf_layers(check_model(model)) if _mask_of(layer) is not None}


def prune(model: keras.Model, sparsity: float | dict[str, float] | None = None,
          scope: str = "layer", layers: graph.LayerSpec = None, strict: bool = True
          ) -> dict[str, np.ndarray]:
    """One-shot magnitude pruning in place; later `fit` calls keep the pruned weights at zero.

    `layers` chooses the layers as graph.select_layers does (default: every prunable one;
    other weighted layers are then an error, or with strict=False a warning).
    """
    if _parse_scope(scope) is None and sparsity is None:
        raise ValueError("sparsity is required unless scope is 'N:M'")
    masks = compute_masks(_targets(model, layers, strict), sparsity, scope)
    apply_masks(model, masks)
    return masks


def _masked_weights(old: keras.layers.Layer, new: keras.layers.Layer) -> list[np.ndarray]:
    """A layer's weights with its kernel multiplied by its mask (if it has one)."""
    mask = _mask_of(old)
    return [np.asarray(v) * np.asarray(mask) if mask is not None and v is old.kernel
            else np.asarray(v) for v in old.weights]


def strip(model: keras.Model) -> keras.Model:
    """A plain, uncompiled copy of the model: no mask constraints, pruned weights exactly zero."""
    return graph.rewrite(model, weights=_masked_weights)


def sparsity_table(model: keras.Model) -> list[dict]:
    """One row per prunable layer: kernel size, nonzeros and sparsity."""
    rows = []
    for layer in graph.select_layers(model, types=PRUNABLE):
        k = np.asarray(layer.kernel)
        nz = int(np.count_nonzero(k))
        rows.append({"layer": layer.name, "weights": int(k.size), "nonzero": nz,
                     "sparsity": round(1 - nz / k.size, 4)})
    return rows


def kept_fraction(model: keras.Model) -> float:
    """The fraction of all prunable kernels' weights that are nonzero (sparsity_table summed)."""
    table = sparsity_table(model)
    return sum(r["nonzero"] for r in table) / sum(r["weights"] for r in table)


# ---------------------------------------------------------------- training with pruning

class PruningCallback(keras.callbacks.Callback):
    """Recompute masks as the schedule says (before the batch) and keep pruned weights at zero.

    The step counter starts at the optimizer's iteration count, as TF-MOT's UpdatePruningStep.
    `layers` chooses the layers as graph.select_layers does (default: every prunable one).
    """

    def __init__(self, schedule: Schedule, scope: str = "layer", layers: graph.LayerSpec = None,
                 verbose: bool = True, strict: bool = True):
        super().__init__()
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        _parse_scope(scope)
        self.schedule, self.scope, self.layers, self.verbose = schedule, scope, layers, verbose
        self.strict = check_bool("strict", strict)
        self.targets: list[keras.layers.Layer] = []
        self.skipped: list[str] = []
        self.step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Pick the layers, report what is skipped, attach masks and retrace the train step."""
        self.targets = _targets(self.model, self.layers, self.strict)
        self.skipped = graph.skipped_layers(self.model, self.targets)
        if self.verbose:
            print(f"pruning {[t.name for t in self.targets]}; skipped (not prunable): "
                  f"{self.skipped or 'none'}")
        current = get_masks(self.model)
        masks = {t.name: current.get(t.name, np.ones(t.kernel.shape, bool)) for t in self.targets}
        apply_masks(self.model, masks)
        self.model.make_train_function()  # rebuilt only if apply_masks added constraints
        self.step = int(np.asarray(self.model.optimizer.iterations))

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Update the masks on the schedule's pruning steps, then count the step.

        No on_train_batch_end hook: that would make Keras wait for every step's logs.
        """
        if self.schedule.should_prune(self.step):
            sparsity = self.schedule.sparsity(self.step)
            apply_masks(self.model, compute_masks(self.targets, sparsity, self.scope))
        self.step += 1


def _check_levels(sparsities: Sequence[float | dict[str, float]]) -> None:
    """Sparsities of iterative pruning: non-empty, each in [0, 1), non-decreasing."""
    if len(sparsities) == 0:
        raise ValueError("sparsities must not be empty")
    levels = []
    for i, s in enumerate(sparsities):
        values = s.values() if isinstance(s, dict) else [s]
        levels.append(max(check_fraction(f"sparsities[{i}]", v) for v in values))
    if any(b < a for a, b in zip(levels, levels[1:], strict=False)):
        raise ValueError(f"sparsities must be non-decreasing, got {levels}")


def iterative_prune(model: keras.Model, data: tuple[np.ndarray, np.ndarray],
                    sparsities: Sequence[float | dict[str, float]], epochs: int,
                    scope: str = "layer", learning_rate: float = 1e-4, batch_size: int = 128,
                    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
                    progress: bool = True) -> list[dict]:
    """Han et al. 2015: prune to each sparsity in turn and retrain `epochs`; one row per round.

    Each round retrains through models.train (a fresh Adam at `learning_rate`).
    """
    check_model(model, built=True)
    data = check_labelled(data)
    if validation_data is not None:
        validation_data = check_labelled(validation_data, "validation_data")
    check_int("epochs", epochs, low=1)
    _parse_scope(scope)
    _check_levels(sparsities)
    rows = []
    rounds = progress_bar(sparsities, desc="prune rounds", unit="round", disable=not progress)
    for i, sparsity in enumerate(rounds):
        prune(model, sparsity, scope)
        train(model, data, epochs, batch_size=batch_size, learning_rate=learning_rate,
              progress=False)
        masks = get_masks(model).values()
        kept, total = sum(int(m.sum()) for m in masks), sum(m.size for m in masks)
        row = {"round": i + 1, "sparsity": round(1 - kept / total, 4)}
        if validation_data is not None:
            row["accuracy"] = accuracy(model, validation_data)
        rows.append(row)
    return rows


def han_baseline(data: tuple[np.ndarray, np.ndarray], epochs: tuple[int, int], l2: float,
                 seed: int = 0, progress: bool = True) -> keras.Model:
    """Dense LeNet-300-100 with an L2 penalty: epochs[0] at lr 1e-3, then epochs[1] at 1e-4.

    The starting point of Han et al. 2015's pruning; seeds every generator with `seed` first.
    `progress` shows the epochs' bars. Taught in notebooks/04_pruning.ipynb.
    """
    data = check_labelled(data)
    first, second = _check_epoch_pair(epochs)
    progress = check_bool("progress", progress)
    set_seed(seed)
    model = add_l2(lenet_300_100(), l2)
    train(model, data, first, learning_rate=1e-3, progress=progress)
    if second:
        train(model, data, second, learning_rate=1e-4, progress=progress)
    return model


def _check_epoch_pair(epochs: tuple[int, int]) -> tuple[int, int]:
    """(epochs at the first learning rate >= 1, epochs at the second >= 0)."""
    if not isinstance(epochs, tuple | list) or len(epochs) != 2:
        raise TypeError(f"epochs must be a pair (first, second) of ints, got {epochs!r}")
    return check_int("epochs[0]", epochs[0], low=1), check_int("epochs[1]", epochs[1], low=0)


def gradual_prune(model: keras.Model, data: tuple[np.ndarray, np.ndarray], sparsity: float,
                  epochs: tuple[int, int], frequency: int = 100, scope: str = "global",
                  ramp: float = 0.75, batch_size: int = 128, progress: bool = True
                  ) -> keras.Model:
    """Prune gradually (Zhu & Gupta's schedule, reaching `sparsity` after `ramp` of epochs[0]
    epochs at lr 1e-3), fine-tune epochs[1] at 1e-4 with the masks fixed; the stripped model.

    `progress` shows the epochs' bars and the pruned layers. The recipe of
    notebooks/04_pruning.ipynb for Han et al. 2015's LeNet-300-100 at 8%.
    """
    progress = check_bool("progress", progress)
    check_model(model, built=True)
    data = check_labelled(data)
    first, second = _check_epoch_pair(epochs)
    frequency = check_int("frequency", frequency, low=1)
    ramp = check_number("ramp", ramp, 0.0, 1.0, low_open=True)
    steps = first * int(np.ceil(len(data[0]) / check_int("batch_size", batch_size, low=1)))
    end = max(frequency, int(ramp * steps) // frequency * frequency)
    callback = PruningCallback(PolynomialDecay(0.0, check_fraction("sparsity", sparsity), 0,
                                               end, frequency=frequency), scope=scope,
                               verbose=progress)
    train(model, data, first, batch_size=batch_size, learning_rate=1e-3, callbacks=[callback],
          progress=progress)
    if second:
        train(model, data, second, batch_size=batch_size, learning_rate=1e-4, progress=progress)
    return strip(model)


def copy_with_l2(model: keras.Model, l2: float) -> keras.Model:
    """A copy of `model` (graph.copy_model) with the L2 penalty attached again (models.add_l2).

    A copy does not carry the penalty over. Used by notebooks/04_pruning.ipynb.
    """
    return add_l2(graph.copy_model(check_model(model, built=True)), l2)


def method_run(cfg: dict, dense: keras.Model, data: tuple[np.ndarray, np.ndarray],
               test_data: tuple[np.ndarray, np.ndarray], l2: float, frequency: int = 100
               ) -> dict:
    """One pruning method of a sweep (compress_lib.sweep) on an L2 copy of `dense`; its row.

    cfg: "method" (METHODS), "sparsity" (reached with one global threshold), "epochs" (of
    retraining at lr 1e-4, batch 128) and, for "iterative", "levels" (one per epoch, ending at
    "sparsity"). one-shot: prune at once, then retrain with the masks fixed; gradual: Zhu &
    Gupta's schedule from 0 over the first two thirds of the steps, masks updated every
    `frequency` steps; iterative (Han et al.): prune to each level in turn, one epoch of
    retraining after each. Row: method, sparsity, retrain_epochs, accuracy_before_retraining
    (one-shot only), test_accuracy, weights_kept, kept_per_layer (nonzeros by layer name).
    Bind everything but cfg with functools.partial. Used by notebooks/04_pruning.ipynb.
    """
    method = check_choice("cfg['method']", cfg.get("method"), METHODS)
    sparsity = check_fraction("cfg['sparsity']", cfg.get("sparsity"))
    epochs = check_int("cfg['epochs']", cfg.get("epochs"), low=1)
    data, test_data = check_labelled(data), check_labelled(test_data, "test_data")
    model, before = copy_with_l2(dense, l2), None
    if method == "one-shot":
        prune(model, sparsity, scope="global")
        before = accuracy(model, test_data)
        train(model, data, epochs, learning_rate=1e-4, progress=False)
    elif method == "gradual":
        steps = epochs * int(np.ceil(len(data[0]) / 128))
        end = max(frequency, 2 * steps // 3 // frequency * frequency)
        schedule = PolynomialDecay(0.0, sparsity, 0, end, frequency=frequency)
        train(model, data, epochs, learning_rate=1e-4, progress=False,
              callbacks=[PruningCallback(schedule, scope="global", verbose=False)])
    else:
        levels = list(cfg.get("levels") or ())
        if len(levels) != epochs or levels[-1] != sparsity:
            raise ValueError(f"cfg['levels'] must hold epochs={epochs} sparsities ending at "
                             f"{sparsity}, got {cfg.get('levels')!r}")
        iterative_prune(model, data, levels, 1, "global", learning_rate=1e-4, progress=False)
    return {"method": method, "sparsity": sparsity, "retrain_epochs": epochs,
            "accuracy_before_retraining": before, "test_accuracy": accuracy(model, test_data),
            "weights_kept": kept_fraction(model),
            "kept_per_layer": {r["layer"]: r["nonzero"] for r in sparsity_table(model)}}


def han_run(cfg: dict, data: tuple[np.ndarray, np.ndarray],
            test_data: tuple[np.ndarray, np.ndarray], base_epochs: tuple[int, int],
            epochs: tuple[int, int], l2: float, sparsity: float = 0.92, frequency: int = 100
            ) -> dict:
    """Han et al. 2015 for cfg["seed"] (a sweep's row): han_baseline, then gradual_prune.

    Row: seed, dense_accuracy and pruned_accuracy on test_data, weights_kept. Bind everything
    but cfg with functools.partial. Used by notebooks/04_pruning.ipynb (section 7).
    """
    seed = check_int("cfg['seed']", cfg.get("seed"), 0, 2**32 - 1)
    test_data = check_labelled(test_data, "test_data")
    dense = han_baseline(data, base_epochs, l2, seed, progress=False)
    pruned = gradual_prune(copy_with_l2(dense, l2), data, sparsity, epochs, frequency=frequency,
                           progress=False)
    return {"seed": seed, "dense_accuracy": accuracy(dense, test_data),
            "pruned_accuracy": accuracy(pruned, test_data), "weights_kept": kept_fraction(pruned)}


def _allocation_point(cfg: dict, make_model: Callable[[], keras.Model],
                      data: tuple[np.ndarray, np.ndarray],
                      validation_data: tuple[np.ndarray, np.ndarray], epochs: int,
                      learning_rate: float) -> dict:
    """One point of allocation_curve: prune a fresh make_model() once, retrain, evaluate."""
    model = check_model(make_model(), name="make_model()", built=True)
    prune(model, cfg["sparsity"], cfg["scope"])
    before = accuracy(model, validation_data)
    if epochs:
        train(model, data, epochs, learning_rate=learning_rate, progress=False)
    return {"scope": cfg["scope"], "sparsity": cfg["sparsity"], "retrain_epochs": epochs,
            "accuracy_before": before, "accuracy_after": accuracy(model, validation_data)}


def allocation_curve(make_model: Callable[[], keras.Model], data: tuple[np.ndarray, np.ndarray],
                     validation_data: tuple[np.ndarray, np.ndarray], sparsities: Sequence[float],
                     epochs: int, scopes: Sequence[str] = ("layer", "global"),
                     learning_rate: float = 1e-4, progress: bool = True,
                     backend: str | None = None) -> list[dict]:
    """One-shot pruning of a fresh make_model() per scope and sparsity: accuracy before and
    after `epochs` of retraining with the masks fixed; one row per point.

    Separates what the allocation across layers buys ('layer': the same sparsity everywhere,
    'global': one threshold) from what retraining buys. The points run through sweep.sweep
    on `backend`, each seeded with 0 (Ray needs a picklable make_model, e.g. a
    functools.partial of copy_with_l2). Taught in notebooks/04_pruning.ipynb.
    """
    if isinstance(make_model, keras.Model):
        raise TypeError("make_model must be a function that builds a fresh model (each point "
                        "prunes its own copy), got a model")
    check_callable("make_model", make_model)
    data = check_labelled(data)
    validation_data = check_labelled(validation_data, "validation_data")
    epochs = check_int("epochs", epochs, low=0)
    for name, value in (("sparsities", sparsities), ("scopes", scopes)):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a sequence, got {type(value).__name__}")
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")
    configs = [{"scope": check_choice(f"scopes[{i}]", scope, ("layer", "global")),
                "sparsity": check_fraction(f"sparsities[{j}]", s)}
               for i, scope in enumerate(scopes) for j, s in enumerate(sparsities)]
    point = partial(_allocation_point, make_model=make_model, data=data,
                    validation_data=validation_data, epochs=epochs, learning_rate=learning_rate)
    desc = "pruned copies" if check_bool("progress", progress) else None  # None: no bar
    return sweep.sweep(point, configs, backend, desc=desc)


# ---------------------------------------------------------------- sensitivity

def _sensitivity_point(cfg: dict, model: keras.Model, data: tuple[np.ndarray, np.ndarray]
                       ) -> dict:
    """Accuracy with leaf layer cfg["leaf"] alone pruned to cfg["sparsity"]; then restored."""
    layer = graph.leaf_layers(model)[cfg["leaf"]]
    original = np.asarray(layer.kernel)
    try:
        layer.kernel.assign(original * magnitude_mask(original, cfg["sparsity"]))
        return {"layer": layer.name, "sparsity": cfg["sparsity"], "accuracy": accuracy(model, data)}
    finally:
        layer.kernel.assign(original)


def sensitivity_scan(model: keras.Model, data: tuple[np.ndarray, np.ndarray],
                     sparsities: Sequence[float], layers: graph.LayerSpec = None,
                     progress: bool = True, strict: bool = True, backend: str | None = None
                     ) -> list[dict]:
    """Accuracy on data = (x, y) when each layer alone is magnitude-pruned (no retraining).

    One (layer, sparsity) point per configuration of sweep.sweep on `backend`; every layer's
    weights are restored after each point.
    """
    targets = _targets(model, layers, strict)
    data = check_labelled(data)
    sparsities = [check_fraction(f"sparsities[{i}]", s) for i, s in enumerate(sparsities)]
    leaves = graph.leaf_layers(model)
    index = [next(i for i, leaf in enumerate(leaves) if leaf is layer) for layer in targets]
    configs = [{"leaf": i, "sparsity": s} for i in index for s in sparsities]
    if not configs:  # no sparsities (or no layers chosen): nothing to scan
        return []
    point = partial(_sensitivity_point, model=model, data=data)
    desc = "layer x sparsity" if check_bool("progress", progress) else None  # None: no bar
    return sweep.sweep(point, configs, backend, desc=desc)


# ---------------------------------------------------------------- structured pruning

def unit_scores(kernel: np.ndarray, norm: str = "l1") -> np.ndarray:
    """Importance of each output unit/filter: L1 or L2 norm of its incoming weights."""
    check_choice("norm", norm, NORMS)
    kernel = check_numeric("kernel", kernel, min_ndim=2, dtype=None)
    flat = kernel.reshape(-1, kernel.shape[-1])
    return np.abs(flat).sum(0) if norm == "l1" else np.sqrt((flat ** 2).sum(0))


def keep_units(kernel: np.ndarray, n_keep: int, norm: str = "l1") -> np.ndarray:
    """Sorted indices of the n_keep highest-norm units (ties: the earlier unit is kept)."""
    scores = unit_scores(kernel, norm)
    n_keep = check_int("n_keep", n_keep, 1, scores.size)
    return np.sort(np.argsort(-scores, kind="stable")[:n_keep])


def _n_keep(layer: keras.layers.Layer, keep: float | int) -> int:
    """Units to keep: a fraction in (0, 1] of the layer's width, or an absolute count."""
    width, name = int(layer.kernel.shape[-1]), f"keep[{layer.name!r}]"
    if isinstance(keep, int | np.integer) and not isinstance(keep, bool):
        return check_int(name, keep, 1, width)
    fraction = check_number(name, keep, 0.0, 1.0, low_open=True)
    return max(1, int(np.round(fraction * width)))


def _not_a_chain(layer: keras.layers.Layer) -> ValueError:
    """The error for a layer that does not read the previous layer's output."""
    if isinstance(layer, keras.Model) and not isinstance(layer, keras.Sequential):
        return ValueError(f"structured_prune cannot follow the functional model {layer.name!r} "
                          "nested inside a functional model; nest it in a Sequential instead "
                          "(as distillation.with_jitter does)")
    return ValueError(f"structured_prune needs a chain of layers, each reading the previous "
                      f"one's output; {layer.name!r} ({type(layer).__name__}) does not "
                      "(branches, merges such as Add/Concatenate and shared layers are not "
                      "supported)")


def _chain(model: keras.Model, expected: object) -> list[keras.layers.Layer]:
    """Leaf layers of a model whose layers form one chain, each reading the previous output.

    A Sequential is a chain by construction; in a functional model each layer's input must be
    the previous layer's output (`expected` starts as the model's input).
    """
    chain: list[keras.layers.Layer] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if not isinstance(model, keras.Sequential) and layer.input is not expected:
            raise _not_a_chain(layer)
        chain += _chain(layer, layer.inputs[0]) if isinstance(layer, keras.Model) else [layer]
        expected = layer.output
    return chain


def _model_chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The chain of leaf layers of a one-input, one-output model (nested models included)."""
    check_model(model, built=True)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"structured_prune needs one input and one output, got "
                         f"{len(model.inputs)} and {len(model.outputs)}")
    return _chain(model, model.inputs[0])


def _keep_plan(chain: list[keras.layers.Layer], keep: float | int | dict[str, float | int]
               ) -> dict[str, int]:
    """Units to keep per hidden Dense/Conv2D layer (the last weighted layer keeps its outputs)."""
    weighted = [layer for layer in chain if layer.weights]
    hidden = {layer.name: layer for layer in weighted[:-1] if isinstance(layer, STRUCTURED)}
    if not isinstance(keep, dict):
        return {name: _n_keep(layer, keep) for name, layer in hidden.items()}
    for name in keep:
        if name not in hidden:
            raise ValueError(f"keep: {name!r} is not a hidden Dense/Conv2D layer; "
                             f"choose from {list(hidden)}")
    return {name: _n_keep(hidden[name], k) for name, k in keep.items()}


def _slice_in(layer: keras.layers.Layer, weights: list[np.ndarray], idx: np.ndarray
              ) -> list[np.ndarray]:
    """Drop removed input channels from a layer's weights."""
    if isinstance(layer, STRUCTURED):
        return [np.take(weights[0], idx, axis=-2), *weights[1:]]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        if layer.depth_multiplier != 1:
            raise ValueError(f"{layer.name!r}: depth_multiplier must be 1 to remove channels")
        return [np.take(weights[0], idx, axis=-2), *[w[idx] for w in weights[1:]]]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [w[idx] for w in weights]  # gamma, beta, mean, variance
    raise ValueError(f"cannot remove inputs of {type(layer).__name__} {layer.name!r}")


def _flatten_index(layer: keras.layers.Layer, idx: np.ndarray) -> np.ndarray:
    """Positions in a Flatten output that belong to the kept channels (channels-last)."""
    shape = tuple(layer.input.shape)[1:]
    channels, positions = shape[-1], int(np.prod(shape[:-1]))
    return (np.arange(positions)[:, None] * channels + idx[None, :]).ravel()


def _pass_inputs(layer: keras.layers.Layer, weights: list[np.ndarray], idx: np.ndarray | None
                 ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """A layer's weights without the removed inputs, and the channel index it passes on."""
    if idx is None:
        return weights, None
    if isinstance(layer, keras.layers.Flatten):
        return weights, _flatten_index(layer, idx)
    if weights:
        return _slice_in(layer, weights, idx), idx
    if not isinstance(layer, PASS_THROUGH):
        raise ValueError(f"cannot pass removed channels through {type(layer).__name__} "
                         f"{layer.name!r}")
    return weights, idx


def _shrink_plan(chain: list[keras.layers.Layer], n_keep: dict[str, int], norm: str
                 ) -> dict[int, tuple[dict, list[np.ndarray]]]:
    """For each layer of the chain (by id): its new config and its new weights."""
    plan, idx = {}, None
    for layer in chain:
        config, weights = layer.get_config(), [np.asarray(w) for w in layer.get_weights()]
        weights, idx = _pass_inputs(layer, weights, idx)
        if isinstance(layer, STRUCTURED):
            idx = None
            if layer.name in n_keep:
                idx = keep_units(weights[0], n_keep[layer.name], norm)
                weights = [np.take(weights[0], idx, axis=-1), *[w[idx] for w in weights[1:]]]
                config["units" if isinstance(layer, keras.layers.Dense) else "filters"] = idx.size
        plan[id(layer)] = (config, weights)
    return plan


def structured_prune(model: keras.Model, keep: float | int | dict[str, float | int] = 0.5,
                     norm: str = "l1", strict: bool = True) -> keras.Model:
    """A smaller model without the lowest-norm neurons/filters (weights copied), via graph.rewrite.

    `keep` is a fraction or count per Dense/Conv2D layer (a float/int for all hidden ones, or
    a dict by layer name); the last weighted layer keeps its outputs. Works on Sequential,
    functional and nested models whose layers form one chain (no branches or merges); other
    weighted layers (Conv1D, LSTM...) are an error, or with strict=False a warning.
    """
    check_choice("norm", norm, NORMS)
    chain = _model_chain(model)
    graph.check_coverage(model, (*STRUCTURED, keras.layers.DepthwiseConv2D),
                         check_bool("strict", strict), "structured_prune")
    plan = _shrink_plan(chain, _keep_plan(chain, keep), norm)
    return graph.rewrite(model, clone=lambda layer: type(layer).from_config(plan[id(layer)][0]),
                         weights=lambda old, new: plan[id(old)][1],
                         name=f"{model.name}_structured")
