"""Pruning (模型剪枝) for Keras 3: magnitude masks, schedules, a pruning callback, strip,
iterative prune-and-retrain, structured neuron/channel pruning and sensitivity scans.

TF Model Optimization's pruning only works with Keras 2 (`tf_keras`); this module is the
Keras 3 piece. Masks ride on the kernels as a Keras constraint, which the optimizer applies
inside the compiled train step after every update, so pruned weights stay exactly zero.
Introduced in notebooks/04_pruning.ipynb.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import keras
import numpy as np

from compress_lib.measure import Latency, compare_fns, leaf_layers
from compress_lib.models import accuracy, compile_classifier, train
from compress_lib.models import progress as progress_bar

PRUNABLE = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
STRUCTURED = (keras.layers.Dense, keras.layers.Conv2D)
PASS_THROUGH = (keras.layers.Dropout, keras.layers.Activation, keras.layers.ReLU,
                keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
                keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)
_NM = re.compile(r"^(\d+):(\d+)$")


# ---------------------------------------------------------------- masks

def check_sparsity(sparsity: float, name: str = "sparsity") -> float:
    """Return sparsity as a float after checking it is a number in [0, 1)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float | np.number):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(sparsity).__name__}")
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {sparsity}")
    return float(sparsity)


def n_pruned(size: int, sparsity: float) -> int:
    """How many of `size` weights a mask zeroes: size - max(1, round(size * (1 - sparsity)))."""
    return int(size - max(1, int(np.round(size * (1.0 - check_sparsity(sparsity))))))


def _keep_mask(magnitudes: np.ndarray, sparsity: float) -> np.ndarray:
    """Flat keep-mask: zero the smallest magnitudes, ties broken by position (earlier first)."""
    keep = np.ones(magnitudes.size, dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[:n_pruned(magnitudes.size, sparsity)]] = False
    return keep


def magnitude_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean keep-mask that zeroes exactly n_pruned(w.size, sparsity) smallest |w|."""
    w = np.asarray(w)
    if w.size == 0:
        raise ValueError("w must not be empty")
    return _keep_mask(np.abs(w).ravel(), sparsity).reshape(w.shape)


def global_masks(weights: Sequence[np.ndarray], sparsity: float) -> list[np.ndarray]:
    """Keep-masks for several arrays ranked together under one global magnitude threshold."""
    arrays = [np.asarray(w) for w in weights]
    if not arrays or any(w.size == 0 for w in arrays):
        raise ValueError("weights must be a non-empty list of non-empty arrays")
    keep = _keep_mask(np.concatenate([np.abs(w).ravel() for w in arrays]), sparsity)
    splits = np.cumsum([w.size for w in arrays])[:-1]
    return [k.reshape(w.shape) for k, w in zip(np.split(keep, splits), arrays, strict=True)]


def nm_mask(w: np.ndarray, n: int = 2, m: int = 4, axis: int | None = None) -> np.ndarray:
    """N:M structured keep-mask: the n largest |w| in every m consecutive weights along axis.

    The default axis is the input (reduction) axis: -2 for kernels, -1 for vectors.
    """
    w = np.asarray(w)
    if not (isinstance(n, int) and isinstance(m, int) and 0 < n < m):
        raise ValueError(f"need integers 0 < n < m, got n={n!r}, m={m!r}")
    axis = (-2 if w.ndim >= 2 else -1) if axis is None else axis
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
        for name, value in (("begin_step", begin_step), ("end_step", end_step),
                            ("frequency", frequency)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if begin_step < 0:
            raise ValueError(f"begin_step must be >= 0, got {begin_step}")
        if end_step != -1 and end_step < begin_step:
            raise ValueError(f"end_step must be -1 or >= begin_step={begin_step}, got {end_step}")
        if frequency < 1:
            raise ValueError(f"frequency must be >= 1, got {frequency}")
        self.begin_step, self.end_step, self.frequency = int(begin_step), int(end_step), frequency

    def should_prune(self, step: int) -> bool:
        """True on the steps where masks are recomputed."""
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
        self.target_sparsity = check_sparsity(target_sparsity, "target_sparsity")

    def sparsity(self, step: int) -> float:
        """Target sparsity at `step` (constant)."""
        return self.target_sparsity


class PolynomialDecay(Schedule):
    """Zhu & Gupta 2017: s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^power, t clipped to [t0, end].

    Same arguments as TF-MOT's PolynomialDecay, computed in float32 in the same order.
    """

    def __init__(self, initial_sparsity: float, final_sparsity: float, begin_step: int,
                 end_step: int, power: float = 3.0, frequency: int = 100):
        super().__init__(begin_step, end_step, frequency)
        if end_step <= begin_step:
            raise ValueError(f"end_step must be > begin_step={begin_step}, got {end_step}")
        if isinstance(power, bool) or not isinstance(power, int | float) or not power > 0:
            raise ValueError(f"power must be a number > 0, got {power!r}")
        self.initial_sparsity = check_sparsity(initial_sparsity, "initial_sparsity")
        self.final_sparsity = check_sparsity(final_sparsity, "final_sparsity")
        self.power = float(power)

    def sparsity(self, step: int) -> float:
        """Target sparsity at `step`."""
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
        self.mask = keras.Variable(np.asarray(mask, np.float32), trainable=False, name="mask")
        self.inner = inner

    def __call__(self, w):
        """The constrained (masked) kernel."""
        return keras.ops.multiply(self.inner(w) if self.inner else w, self.mask)


def select_layers(model: keras.Model, layers: Sequence[str] | None = None
                  ) -> tuple[list[keras.layers.Layer], list[str]]:
    """Layers to prune (all supported, or exactly those named) and the weighted ones skipped."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    leaves = leaf_layers(model)
    if layers is None:
        targets = [layer for layer in leaves if isinstance(layer, PRUNABLE)]
    else:
        by_name = {layer.name: layer for layer in leaves}
        names = [layers] if isinstance(layers, str) else list(layers)
        for name in names:
            if name not in by_name:
                raise ValueError(f"layers: no layer named {name!r}; the model has {list(by_name)}")
            if not isinstance(by_name[name], PRUNABLE):
                raise ValueError(f"layers: {name!r} is a {type(by_name[name]).__name__}, which "
                                 "cannot be pruned; supported: Dense, Conv2D, DepthwiseConv2D")
        targets = [by_name[name] for name in names]
    skipped = [f"{layer.name} ({type(layer).__name__})" for layer in leaves
               if layer.weights and layer not in targets]
    return targets, skipped


def _parse_scope(scope: str) -> tuple[int, int] | None:
    """None for 'layer'/'global', (n, m) for an 'N:M' scope; ValueError otherwise."""
    if scope in ("layer", "global"):
        return None
    match = _NM.match(scope) if isinstance(scope, str) else None
    if not match:
        raise ValueError(f"scope must be 'layer', 'global' or 'N:M' like '2:4', got {scope!r}")
    return int(match[1]), int(match[2])


def compute_masks(layers: Sequence[keras.layers.Layer], sparsity: float | dict[str, float] | None,
                  scope: str = "layer") -> dict[str, np.ndarray]:
    """Keep-masks for the layers' kernels: per-layer, global or N:M magnitude pruning."""
    kernels = [np.asarray(layer.kernel) for layer in layers]
    names = [layer.name for layer in layers]
    nm = _parse_scope(scope)
    if nm is not None:
        masks = [nm_mask(k, *nm) for k in kernels]
    elif scope == "global":
        if isinstance(sparsity, dict):
            raise TypeError("sparsity must be one number when scope='global'")
        masks = global_masks(kernels, sparsity)
    else:
        per_layer = sparsity if isinstance(sparsity, dict) else dict.fromkeys(names, sparsity)
        missing = set(names) - set(per_layer)
        if missing:
            raise ValueError(f"sparsity: no value for layers {sorted(missing)}")
        masks = [magnitude_mask(k, per_layer[n]) for k, n in zip(kernels, names, strict=True)]
    return dict(zip(names, masks, strict=True))


def set_mask(layer: keras.layers.Layer, mask: np.ndarray) -> bool:
    """Zero a layer's pruned kernel weights and keep them zero; True if a constraint was added."""
    kernel = layer.kernel
    if tuple(mask.shape) != tuple(kernel.shape):
        raise ValueError(f"mask shape {mask.shape} != kernel shape {tuple(kernel.shape)} "
                         f"of layer {layer.name!r}")
    added = not isinstance(kernel.constraint, MaskConstraint)
    if added:
        kernel.constraint = MaskConstraint(mask, inner=kernel.constraint)
    else:
        kernel.constraint.mask.assign(np.asarray(mask, np.float32))
    kernel.assign(np.asarray(kernel) * mask)
    return added


def apply_masks(model: keras.Model, masks: dict[str, np.ndarray]) -> None:
    """Set masks on the named layers; forces a retrace of fit's step if constraints were added."""
    by_name = {layer.name: layer for layer in leaf_layers(model)}
    added = [set_mask(by_name[name], mask) for name, mask in masks.items()]
    if any(added) and hasattr(model, "train_function"):
        model.train_function = None  # traced steps must see the new constraints


def get_masks(model: keras.Model) -> dict[str, np.ndarray]:
    """The boolean keep-masks currently attached to a model's kernels."""
    return {layer.name: np.asarray(layer.kernel.constraint.mask) > 0
            for layer in leaf_layers(model)
            if isinstance(getattr(getattr(layer, "kernel", None), "constraint", None),
                          MaskConstraint)}


def prune(model: keras.Model, sparsity: float | dict[str, float] | None = None,
          scope: str = "layer", layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """One-shot magnitude pruning in place; later `fit` calls keep the pruned weights at zero."""
    if _parse_scope(scope) is None and sparsity is None:
        raise ValueError("sparsity is required unless scope is 'N:M'")
    targets, _ = select_layers(model, layers)
    masks = compute_masks(targets, sparsity, scope)
    apply_masks(model, masks)
    return masks


def strip(model: keras.Model) -> keras.Model:
    """A plain, uncompiled copy of the model: no mask constraints, pruned weights exactly zero."""
    masks = {id(layer.kernel): layer.kernel.constraint.mask for layer in leaf_layers(model)
             if isinstance(getattr(getattr(layer, "kernel", None), "constraint", None),
                           MaskConstraint)}
    weights = [np.asarray(v) * np.asarray(masks[id(v)]) if id(v) in masks else np.asarray(v)
               for v in model.weights]
    plain = type(model).from_config(model.get_config())  # uncompiled, no constraints attached
    plain.set_weights(weights)
    return plain


def sparsity_table(model: keras.Model) -> list[dict]:
    """One row per prunable layer: kernel size, nonzeros and sparsity."""
    rows = []
    for layer in leaf_layers(model):
        if isinstance(layer, PRUNABLE):
            k = np.asarray(layer.kernel)
            nz = int(np.count_nonzero(k))
            rows.append({"layer": layer.name, "weights": int(k.size), "nonzero": nz,
                         "sparsity": round(1 - nz / k.size, 4)})
    return rows


# ---------------------------------------------------------------- training with pruning

class PruningCallback(keras.callbacks.Callback):
    """Recompute masks as the schedule says (before the batch) and keep pruned weights at zero.

    The step counter starts at the optimizer's iteration count, as TF-MOT's UpdatePruningStep.
    """

    def __init__(self, schedule: Schedule, scope: str = "layer",
                 layers: Sequence[str] | None = None, verbose: bool = True):
        super().__init__()
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        _parse_scope(scope)
        self.schedule, self.scope, self.layers, self.verbose = schedule, scope, layers, verbose
        self.targets: list[keras.layers.Layer] = []
        self.skipped: list[str] = []
        self.step = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Pick the layers, report what is skipped, attach masks and retrace the train step."""
        self.targets, self.skipped = select_layers(self.model, self.layers)
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


def iterative_prune(model: keras.Model, data: tuple[np.ndarray, np.ndarray],
                    sparsities: Sequence[float | dict[str, float]], epochs: int,
                    scope: str = "layer", learning_rate: float = 1e-4, batch_size: int = 128,
                    validation: tuple[np.ndarray, np.ndarray] | None = None,
                    progress: bool = True) -> list[dict]:
    """Han et al. 2015: prune to each sparsity in turn and retrain `epochs`; one row per round."""
    if not sparsities:
        raise ValueError("sparsities must not be empty")
    levels = [max(s.values()) if isinstance(s, dict) else s for s in sparsities]
    if any(b < a for a, b in zip(levels, levels[1:], strict=False)):
        raise ValueError(f"sparsities must be non-decreasing, got {levels}")
    rows = []
    rounds = progress_bar(sparsities, desc="prune rounds", disable=not progress)
    for i, sparsity in enumerate(rounds):
        prune(model, sparsity, scope)
        compile_classifier(model, learning_rate)
        train(model, data, epochs, batch_size=batch_size, progress=False)
        kept = sum(int(m.sum()) for m in get_masks(model).values())
        total = sum(m.size for m in get_masks(model).values())
        row = {"round": i + 1, "sparsity": round(1 - kept / total, 4)}
        if validation is not None:
            row["accuracy"] = accuracy(model, *validation)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- sensitivity

def sensitivity_scan(model: keras.Model, x: np.ndarray, y: np.ndarray,
                     sparsities: Sequence[float], layers: Sequence[str] | None = None,
                     progress: bool = True) -> list[dict]:
    """Accuracy when each layer alone is magnitude-pruned (no retraining); weights restored."""
    targets, _ = select_layers(model, layers)
    sparsities = [check_sparsity(s, "sparsities[i]") for s in sparsities]
    rows = []
    for layer in progress_bar(targets, desc="layers", disable=not progress):
        original = np.asarray(layer.kernel)
        for s in sparsities:
            layer.kernel.assign(original * magnitude_mask(original, s))
            rows.append({"layer": layer.name, "sparsity": s, "accuracy": accuracy(model, x, y)})
        layer.kernel.assign(original)
    return rows


# ---------------------------------------------------------------- structured pruning

def keras_latency(models: dict[str, keras.Model], batch_size: int = 1, repeats: int = 200,
                  rounds: int = 10) -> dict[str, Latency]:
    """Latency of compiled Keras forward passes, timed in interleaved rounds (busy-CPU fair)."""
    import tensorflow as tf

    if not models or repeats < rounds or rounds < 1:
        raise ValueError(f"need a non-empty dict and repeats >= rounds >= 1, got {rounds=}")
    fns = {}
    for name, model in models.items():
        x = tf.constant(np.zeros((batch_size, *model.input_shape[1:]), np.float32))
        call = tf.function(lambda x, model=model: model(x, training=False))
        fns[name] = lambda call=call, x=x: call(x).numpy()
    return compare_fns(fns, repeats=repeats, warmup=10, rounds=rounds)


def unit_scores(kernel: np.ndarray, norm: str = "l1") -> np.ndarray:
    """Importance of each output unit/filter: L1 or L2 norm of its incoming weights."""
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    flat = np.asarray(kernel).reshape(-1, kernel.shape[-1])
    return np.abs(flat).sum(0) if norm == "l1" else np.sqrt((flat ** 2).sum(0))


def keep_units(kernel: np.ndarray, n_keep: int, norm: str = "l1") -> np.ndarray:
    """Sorted indices of the n_keep highest-norm units (ties: the earlier unit is kept)."""
    scores = unit_scores(kernel, norm)
    if not 1 <= n_keep <= scores.size:
        raise ValueError(f"n_keep must be in [1, {scores.size}], got {n_keep}")
    return np.sort(np.argsort(-scores, kind="stable")[:n_keep])


def _n_keep(layer: keras.layers.Layer, keep: float | int) -> int:
    """Units to keep: a fraction in (0, 1] of the layer's width, or an absolute count."""
    width = int(layer.kernel.shape[-1])
    if isinstance(keep, bool) or not isinstance(keep, int | float | np.number):
        raise TypeError(f"keep for {layer.name!r} must be a fraction or a count")
    if isinstance(keep, int | np.integer):
        if not 1 <= keep <= width:
            raise ValueError(f"keep for {layer.name!r} must be in [1, {width}], got {keep}")
        return int(keep)
    if not 0 < keep <= 1:
        raise ValueError(f"keep for {layer.name!r} must be a fraction in (0, 1], got {keep}")
    return max(1, int(np.round(keep * width)))


def _slice_in(layer: keras.layers.Layer, weights: list[np.ndarray], idx: np.ndarray
              ) -> list[np.ndarray]:
    """Drop removed input channels from a layer's weights."""
    if isinstance(layer, STRUCTURED):
        return [np.take(weights[0], idx, axis=-2), *weights[1:]]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        if layer.depth_multiplier != 1:
            raise ValueError(f"{layer.name!r}: depth_multiplier must be 1 to remove channels")
        return [np.take(weights[0], idx, axis=-2), *[w[idx] for w in weights[1:]]]
    return [w[idx] for w in weights]  # BatchNormalization: gamma, beta, mean, variance


def _flatten_index(layer: keras.layers.Layer, idx: np.ndarray) -> np.ndarray:
    """Positions in a Flatten output that belong to the kept channels (channels-last)."""
    shape = tuple(layer.input.shape)[1:]
    channels, positions = shape[-1], int(np.prod(shape[:-1]))
    return (np.arange(positions)[:, None] * channels + idx[None, :]).ravel()


def structured_prune(model: keras.Model, keep: float | int | dict[str, float | int] = 0.5,
                     norm: str = "l1") -> keras.Model:
    """A smaller Sequential model without the lowest-norm neurons/filters (weights copied).

    `keep` is a fraction or count per Dense/Conv2D layer (a float/int for all hidden ones, or
    a dict by layer name); the last weighted layer keeps its outputs.
    """
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential, got {type(model).__name__}")
    layers = model.layers
    weighted = [layer for layer in layers if layer.weights]
    hidden = [layer for layer in weighted[:-1] if isinstance(layer, STRUCTURED)]
    plan = keep if isinstance(keep, dict) else {layer.name: keep for layer in hidden}
    for name in plan:
        if name not in {layer.name for layer in hidden}:
            raise ValueError(f"keep: {name!r} is not a hidden Dense/Conv2D layer; "
                             f"choose from {[layer.name for layer in hidden]}")
    new_layers, new_weights, idx = [], [], None
    for layer in layers:
        config, weights = layer.get_config(), [np.asarray(w) for w in layer.get_weights()]
        if idx is not None and isinstance(layer, keras.layers.Flatten):
            idx = _flatten_index(layer, idx)
        elif idx is not None and weights:
            if not isinstance(layer, (*STRUCTURED, keras.layers.DepthwiseConv2D,
                                      keras.layers.BatchNormalization)):
                raise ValueError(f"cannot remove inputs of {type(layer).__name__} "
                                 f"{layer.name!r}")
            weights = _slice_in(layer, weights, idx)
        elif idx is not None and not isinstance(layer, PASS_THROUGH):
            raise ValueError(f"cannot pass removed channels through {type(layer).__name__} "
                             f"{layer.name!r}")
        if isinstance(layer, STRUCTURED):
            idx = None
            if layer.name in plan:
                idx = keep_units(weights[0], _n_keep(layer, plan[layer.name]), norm)
                weights = [np.take(weights[0], idx, axis=-1), *[w[idx] for w in weights[1:]]]
                config["units" if isinstance(layer, keras.layers.Dense) else "filters"] = idx.size
        new_layers.append(type(layer).from_config(config))
        new_weights.append(weights)
    smaller = keras.Sequential([keras.Input(model.input_shape[1:]), *new_layers],
                               name=f"{model.name}_structured")
    for layer, weights in zip(new_layers, new_weights, strict=True):
        layer.set_weights(weights)
    return smaller


# ---------------------------------------------------------------- TF-MOT side by side

def tf_keras_copy(model: keras.Model):
    """The same Dense/Dropout stack as a tf_keras (Keras 2) Sequential with the same weights."""
    import tf_keras

    layers = [tf_keras.Input(model.input_shape[1:])]
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Dense):
            layers.append(tf_keras.layers.Dense(layer.units, name=layer.name,
                                                activation=layer.get_config()["activation"]))
        elif isinstance(layer, keras.layers.Dropout):
            layers.append(tf_keras.layers.Dropout(layer.rate))
        elif not isinstance(layer, keras.layers.InputLayer):
            raise TypeError(f"only Dense/Dropout models can be copied, got {layer.name!r}")
    copy = tf_keras.Sequential(layers, name=f"{model.name}_tf_keras")
    copy.set_weights(model.get_weights())
    return copy


def _keras3_copy(model: keras.Model, learning_rate: float) -> keras.Model:
    """A compiled clone of a Keras 3 model with the same weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return compile_classifier(copy, learning_rate)


def compare_with_tfmot(model: keras.Model, train_data: tuple[np.ndarray, np.ndarray],
                       test_data: tuple[np.ndarray, np.ndarray], sparsity: float, epochs: int,
                       learning_rate: float = 1e-4, batch_size: int = 128,
                       frequency: int = 100, plain: bool = False, progress: bool = True) -> dict:
    """Prune copies of a trained MLP with this module (Keras 3) and TF-MOT (tf_keras).

    Same weights, optimizer, PolynomialDecay schedule (0 -> sparsity over the first two thirds
    of the steps) and batches (each epoch's shuffle is shared); epochs alternate between the
    two so that both see the same CPU load.
    Returns accuracies, sparsities, every epoch's seconds and the median seconds per epoch of
    each, the first (tracing) epoch left out (with `plain`, also of unpruned copies trained
    alongside in Keras 3 and tf_keras: the pruning overhead).
    """
    import tensorflow_model_optimization as tfmot  # sets TF_USE_LEGACY_KERAS; Keras 3 unharmed
    import tf_keras
    check_sparsity(sparsity)
    (x, y), (xt, yt) = train_data, test_data
    end = 2 * epochs * int(np.ceil(len(x) / batch_size)) // 3 // frequency * frequency
    if end < 1:
        raise ValueError(f"frequency={frequency} is too large for {epochs} epochs of this data")
    ours = _keras3_copy(model, learning_rate)
    callback = PruningCallback(PolynomialDecay(0.0, sparsity, 0, end, frequency=frequency),
                               verbose=False)
    sched = tfmot.sparsity.keras.PolynomialDecay(0.0, sparsity, 0, end, frequency=frequency)
    theirs = tfmot.sparsity.keras.prune_low_magnitude(tf_keras_copy(model),
                                                      pruning_schedule=sched)
    runs = {"compress_lib": (ours, [callback]),
            "tfmot": (theirs, [tfmot.sparsity.keras.UpdatePruningStep()])}
    if plain:
        runs["plain_keras3"] = (_keras3_copy(model, learning_rate), [])
        runs["plain_tf_keras"] = (tf_keras_copy(model), [])
    for net in (theirs, runs.get("plain_tf_keras", (theirs,))[0]):
        net.compile(optimizer=tf_keras.optimizers.Adam(learning_rate), metrics=["accuracy"],
                    loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    rng = np.random.default_rng(0)
    for _ in progress_bar(range(epochs), desc=f"epochs at {sparsity:.0%}", disable=not progress):
        order = rng.permutation(len(x))
        xe, ye = x[order], y[order]
        for name, (net, callbacks) in runs.items():
            start = time.perf_counter()
            net.fit(xe, ye, batch_size=batch_size, epochs=1, verbose=0, callbacks=callbacks,
                    shuffle=False)
            seconds[name].append(time.perf_counter() - start)
    stripped = tfmot.sparsity.keras.strip_pruning(theirs)
    kernels = [w for w in stripped.get_weights() if w.ndim > 1]
    their_acc = float(np.mean(stripped.predict(xt, batch_size=1024, verbose=0).argmax(1) == yt))
    kept = sum(r["nonzero"] for r in sparsity_table(ours))
    total = sum(r["weights"] for r in sparsity_table(ours))
    return {"target_sparsity": sparsity, "epochs": epochs,
            "compress_lib_accuracy": accuracy(strip(ours), xt, yt), "tfmot_accuracy": their_acc,
            "compress_lib_sparsity": round(1 - kept / total, 4),
            "tfmot_sparsity": round(1 - sum(int(np.count_nonzero(k)) for k in kernels)
                                    / sum(k.size for k in kernels), 4),
            **{f"{name}_s_per_epoch": float(np.median(t[1:] or t)) for name, t in seconds.items()},
            "epoch_seconds": {name: [round(s, 3) for s in t] for name, t in seconds.items()}}
