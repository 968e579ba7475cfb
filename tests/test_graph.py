"""graph: layer selection, copies and rewrites on Sequential, functional and nested models."""

import keras
import numpy as np
import pytest

from compress_lib import graph
from compress_lib import models
from compress_lib.distillation import with_jitter


def _functional() -> keras.Model:
    inputs = keras.Input((784,), name="pixels")
    x = keras.layers.Dense(32, activation="relu", name="hidden")(inputs)
    skip = keras.layers.Dense(32, name="skip")(inputs)
    x = keras.layers.Add(name="add")([x, skip])
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(x), name="functional")


MODELS = {"sequential": models.seed_mlp, "functional": _functional,
          "nested": lambda: with_jitter(models.seed_mlp(), 2, seed=0)}
X = np.random.default_rng(0).random((8, 784), dtype=np.float32)


@pytest.mark.parametrize("kind", MODELS)
def test_copy_model_is_independent_with_equal_outputs(kind):
    model = MODELS[kind]()
    copy = graph.copy_model(model)
    np.testing.assert_allclose(copy(X), model(X), rtol=1e-6, atol=1e-6)
    first = graph.select_layers(copy)[0]
    first.kernel.assign(np.zeros(first.kernel.shape, np.float32))
    assert np.count_nonzero(np.asarray(graph.select_layers(model)[0].kernel)) > 0
    assert not copy.compiled


@pytest.mark.parametrize("kind", MODELS)
def test_rewrite_inserts_and_drops_layers(kind):
    model = MODELS[kind]()
    dense = [layer.name for layer in graph.select_layers(model)]

    def after(layer):
        return [keras.layers.Activation("linear", name=f"{layer.name}_id")] \
            if isinstance(layer, keras.layers.Dense) else []

    grown = graph.rewrite(model, insert_after=after)
    names = [layer.name for layer in graph.leaf_layers(grown)]
    assert all(f"{n}_id" in names for n in dense)
    np.testing.assert_allclose(grown(X), model(X), rtol=1e-6, atol=1e-6)
    shrunk = graph.rewrite(grown, clone=lambda layer: None if layer.name.endswith("_id")
                           else type(layer).from_config(layer.get_config()))
    assert not any(n.endswith("_id") for n in
                   [layer.name for layer in graph.leaf_layers(shrunk)])
    np.testing.assert_allclose(shrunk(X), model(X), rtol=1e-6, atol=1e-6)


def test_rewrite_replaces_weights():
    model = models.seed_mlp()
    zeroed = graph.rewrite(model, weights=lambda old, new: [np.zeros_like(w)
                                                            for w in old.get_weights()])
    assert not np.any(np.asarray(zeroed(X)))
    assert graph.rewrite(model, name="renamed").name == "renamed"


def test_select_layers_by_name_regex_and_predicate():
    model = with_jitter(models.seed_mlp())
    assert [lay.name for lay in graph.select_layers(model)] == ["fc1", "fc2", "logits"]
    assert [lay.name for lay in graph.select_layers(model, "fc.*")] == ["fc1", "fc2"]
    assert [lay.name for lay in graph.select_layers(model, ["logits", "fc1"])] == ["logits", "fc1"]
    picked = graph.select_layers(model, lambda layer: getattr(layer, "units", 0) == 64)
    assert [lay.name for lay in picked] == ["fc2"]
    assert graph.skipped_layers(model, picked) == ["fc1 (Dense)", "logits (Dense)"]


def test_select_layers_errors():
    model = models.lenet5()
    with pytest.raises(ValueError, match="no layer named or matching 'conv9'"):
        graph.select_layers(model, "conv9")
    with pytest.raises(ValueError, match="'reshape.*' is a Reshape; supported: Dense"):
        graph.select_layers(model, lambda layer: isinstance(layer, keras.layers.Reshape))
    with pytest.raises(TypeError, match="names or regexes"):
        graph.select_layers(model, [3])
    with pytest.raises(TypeError, match="keras.Model"):
        graph.select_layers("lenet5")


def test_subclassed_models_are_refused():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Sub()
    model(X)
    with pytest.raises(TypeError, match="subclassed"):
        graph.copy_model(model)
