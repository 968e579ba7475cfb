"""Model graphs: choose the layers a technique applies to, copy a model, rewrite it layer by layer.

Every technique that touches a Keras model goes through this module: pruning, weight
quantization, k-means sharing, QAT and structured pruning. All three functions work on
Sequential and functional models and descend into nested models (for example a model
wrapped by `distillation.with_jitter`).
Introduced in notebooks/02_quantization.ipynb; used by every notebook from 02 on.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from collections.abc import Sequence

import keras
import numpy as np

from compress_lib._checks import check_bool
from compress_lib._checks import check_callable
from compress_lib._checks import check_model

__all__ = ["KERNEL_LAYERS", "NORM_LAYERS", "LayerSpec", "check_coverage", "copy_model",
           "leaf_layers", "rewrite", "select_layers", "skipped_layers", "unsupported_layers"]

KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
# layers with trainable weights that no technique is expected to touch (not reported)
NORM_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
               keras.layers.GroupNormalization)
LayerSpec = str | Sequence[str] | Callable[[keras.layers.Layer], bool] | None
CloneFn = Callable[[keras.layers.Layer], "keras.layers.Layer | None"]
WeightsFn = Callable[[keras.layers.Layer, keras.layers.Layer], list]
InsertFn = Callable[[keras.layers.Layer], list]


def leaf_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Leaf layers of a model in order, descending into nested models."""
    out: list[keras.layers.Layer] = []
    for layer in check_model(model).layers:
        out.extend(leaf_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def _type_names(types: tuple[type, ...]) -> str:
    """'Dense, Conv2D' for an error message."""
    return ", ".join(t.__name__ for t in types)


def _by_patterns(leaves: list[keras.layers.Layer], patterns: Sequence[str]
                 ) -> list[keras.layers.Layer]:
    """Layers whose name equals, or fully matches as a regex, one of the patterns."""
    chosen: list[keras.layers.Layer] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise TypeError(f"layers must be names or regexes (str), got {pattern!r}")
        hits = [layer for layer in leaves if layer.name == pattern]
        hits = hits or [layer for layer in leaves if re.fullmatch(pattern, layer.name)]
        if not hits:
            raise ValueError(f"layers: no layer named or matching {pattern!r}; the model has "
                             f"{[layer.name for layer in leaves]}")
        chosen += [layer for layer in hits if layer not in chosen]
    return chosen


def select_layers(model: keras.Model, layers: LayerSpec = None,
                  types: tuple[type, ...] = KERNEL_LAYERS) -> list[keras.layers.Layer]:
    """Leaf layers chosen by name, regex or predicate (None: every layer of `types`).

    A chosen layer that is not one of `types` is an error naming it and what is supported.
    """
    check_model(model)
    if not isinstance(types, tuple) or not types or not all(isinstance(t, type) for t in types):
        raise TypeError(f"types must be a non-empty tuple of layer classes, got {types!r}")
    leaves = leaf_layers(model)
    if layers is None:
        return [layer for layer in leaves if isinstance(layer, types)]
    if callable(layers):
        chosen = [layer for layer in leaves if layers(layer)]
    else:
        chosen = _by_patterns(leaves, [layers] if isinstance(layers, str) else list(layers))
    for layer in chosen:
        if not isinstance(layer, types):
            raise ValueError(f"layers: {layer.name!r} is a {type(layer).__name__}; "
                             f"supported: {_type_names(types)}")
    return chosen


def skipped_layers(model: keras.Model, chosen: Sequence[keras.layers.Layer]) -> list[str]:
    """'name (Type)' of every leaf layer with weights that is not in `chosen`."""
    return [f"{layer.name} ({type(layer).__name__})" for layer in leaf_layers(model)
            if layer.weights and all(layer is not c for c in chosen)]


def unsupported_layers(model: keras.Model, types: tuple[type, ...]) -> list[str]:
    """'name (Type)' of every leaf layer with trainable weights that is not one of `types`.

    Normalization layers (NORM_LAYERS) are not counted: no technique changes them.
    """
    return [f"{layer.name} ({type(layer).__name__})" for layer in leaf_layers(model)
            if layer.trainable_weights and not isinstance(layer, (*types, *NORM_LAYERS))]


def check_coverage(model: keras.Model, types: tuple[type, ...], strict: bool, what: str) -> None:
    """strict: ValueError naming weighted layers `what` cannot handle; else a UserWarning."""
    check_bool("strict", strict)
    skipped = unsupported_layers(model, types)
    if not skipped:
        return
    text = (f"{what} supports {_type_names(types)} layers only; the model also has "
            f"{', '.join(skipped)}")
    if strict:
        raise ValueError(f"{text}, which would be left unchanged. Pass strict=False to "
                         "skip them (with a warning), or choose layers= explicitly")
    warnings.warn(f"{text}: left unchanged", UserWarning, stacklevel=3)


def _default_clone(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new layer with the same configuration (no weights yet)."""
    return type(layer).from_config(layer.get_config())


def _default_weights(old: keras.layers.Layer, new: keras.layers.Layer) -> list[np.ndarray]:
    """The old layer's weights, unchanged."""
    return old.get_weights()


def _input_name(model: keras.Sequential) -> str | None:
    """The name of a Sequential's input layer: copies keep it, so their saved files match."""
    first = model.get_config()["layers"][0]
    return first["config"]["name"] if first["class_name"] == "InputLayer" else None


class _Rewriter:
    """One rewrite: clones layers, remembers (old, new) pairs, copies weights at the end."""

    def __init__(self, clone: CloneFn, weights: WeightsFn, insert_after: InsertFn | None):
        self.clone, self.weights, self.insert_after = clone, weights, insert_after
        self.pairs: list[tuple[keras.layers.Layer, keras.layers.Layer]] = []
        self.dropped: set[int] = set()

    def layer(self, old: keras.layers.Layer) -> keras.layers.Layer | None:
        """The replacement of one layer (nested models are rewritten recursively)."""
        if isinstance(old, keras.Model):
            return self.model(old)
        new = self.clone(old)
        if new is not None:
            self.pairs.append((old, new))
        return new

    def sequential(self, model: keras.Sequential) -> keras.Sequential:
        """Rewrite a Sequential model layer by layer."""
        new_layers: list[keras.layers.Layer] = []
        for old in model.layers:
            new = self.layer(old)
            if new is not None:
                new_layers.append(new)
                new_layers += self.insert_after(old) if self.insert_after else []
        inputs = keras.Input(model.input_shape[1:], dtype=model.inputs[0].dtype,
                             name=_input_name(model))
        return keras.Sequential([inputs, *new_layers], name=model.name)

    def functional(self, model: keras.Model) -> keras.Model:
        """Rewrite a functional model with keras.models.clone_model."""
        extras: dict[int, list[keras.layers.Layer]] = {}

        def clone_function(old: keras.layers.Layer) -> keras.layers.Layer:
            new = self.layer(old)
            if new is None:
                new = keras.layers.Identity(name=f"{old.name}_dropped")
                self.dropped.add(id(new))
            elif self.insert_after:
                extras[id(new)] = self.insert_after(old)
            return new

        def call_function(layer: keras.layers.Layer, *args, **kwargs):
            if id(layer) in self.dropped:
                return args[0]
            out = layer(*args, **kwargs)
            for extra in extras.get(id(layer), []):
                out = extra(out)
            return out

        clone = keras.models.clone_model(model, clone_function=clone_function,
                                         call_function=call_function)
        # clone_model compiles the clone when `model` is compiled; the rewrite must not be
        return keras.Model(clone.inputs, clone.outputs, name=clone.name) if clone.compiled \
            else clone

    def model(self, model: keras.Model) -> keras.Model:
        """Rewrite a Sequential or functional model."""
        if isinstance(model, keras.Sequential):
            return self.sequential(model)
        try:
            return self.functional(model)
        except ValueError as err:  # clone_model refuses subclassed models
            if "only supported" not in str(err):
                raise
            raise TypeError(f"{model.name!r} is a subclassed {type(model).__name__}; only "
                            "Sequential and functional models can be copied or rewritten"
                            ) from None

    def copy_weights(self) -> None:
        """Give every new layer its weights (after all of them are built)."""
        for old, new in self.pairs:
            if old.weights:
                new.set_weights(self.weights(old, new))


def rewrite(model: keras.Model, clone: CloneFn | None = None, weights: WeightsFn | None = None,
            insert_after: InsertFn | None = None, name: str | None = None) -> keras.Model:
    """A new, uncompiled model with each leaf layer replaced by `clone(layer)`.

    `clone` returns the new layer (None drops a single-input layer), `weights(old, new)` the
    new layer's weights (default: the old ones), `insert_after(old)` extra weightless layers
    to call after the new one. Nested models are rewritten with the same functions.
    """
    check_model(model, built=True)
    for arg, fn in (("clone", clone), ("weights", weights), ("insert_after", insert_after)):
        if fn is not None:
            check_callable(arg, fn)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    rewriter = _Rewriter(clone or _default_clone, weights or _default_weights, insert_after)
    new = rewriter.model(model)
    rewriter.copy_weights()
    if name is not None:
        new.name = name
    return new


def copy_model(model: keras.Model, name: str | None = None) -> keras.Model:
    """An independent, uncompiled copy with the same weights (constraints not carried over)."""
    return rewrite(model, name=name)
