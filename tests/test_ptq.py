"""Tests for compress_lib.ptq: weight quantization of Sequential, functional and nested models."""

import keras
import numpy as np
import pytest

from compress_lib import distillation
from compress_lib import graph
from compress_lib import models
from compress_lib import ptq
from compress_lib import quantization as q


def _functional(model: keras.Model) -> keras.Model:
    """The same layers (shared weights) as a functional model."""
    inputs = keras.Input((784,))
    x = inputs
    for layer in model.layers:
        x = layer(x)
    return keras.Model(inputs, x, name="functional")


def _distinct(layer: keras.layers.Layer) -> int:
    """Number of distinct kernel values."""
    return len(np.unique(np.asarray(layer.kernel)))


def test_weight_quantization_helpers(trained):
    """quantize_weights / map_weights copy the model and change only the chosen kernels."""
    lin = ptq.quantize_weights(trained, 2, per_channel=False, layers=["fc1"])
    assert _distinct(lin.get_layer("fc1")) <= 3
    np.testing.assert_array_equal(lin.get_layer("fc2").kernel, trained.get_layer("fc2").kernel)
    tern = ptq.map_weights(trained, q.ternarize)
    assert all(_distinct(layer) <= 3 for layer in graph.select_layers(tern))
    assert _distinct(trained.get_layer("fc1")) > 3  # original untouched
    with pytest.raises(ValueError, match="no layer named"):
        ptq.quantize_weights(trained, 4, layers=["nope"])
    with pytest.raises(TypeError, match="fn"):
        ptq.map_weights(trained, "ternarize")
    with pytest.raises(TypeError, match="keras.Model"):
        ptq.quantize_weights(object(), 4)


@pytest.mark.parametrize("wrap", ["functional", "jitter"])
def test_functional_and_nested_models(trained, mnist, wrap):
    """Functional and with_jitter-wrapped models give the same results as the Sequential."""
    _, (xt, _) = mnist
    model = _functional(trained) if wrap == "functional" else distillation.with_jitter(trained)
    for fn in (lambda m: ptq.quantize_weights(m, 3, layers="fc.*"),
               lambda m: ptq.map_weights(m, q.binarize),
               lambda m: ptq.kmeans_model(m, 2)[0]):
        expected, got = fn(trained), fn(model)
        np.testing.assert_allclose(models.predict_logits(got, xt[:50]),
                                   models.predict_logits(expected, xt[:50]), atol=1e-5)
    np.testing.assert_allclose(models.predict_logits(model, xt[:50]),
                               models.predict_logits(trained, xt[:50]), atol=1e-6)


def test_kmeans_model_and_finetuning(trained, mnist):
    """Shared kernels keep <= 2^bits distinct values through centroid fine-tuning."""
    (x, y), _ = mnist
    shared, books = ptq.kmeans_model(trained, bits=2)
    before = {n: c.copy() for n, (c, _) in books.items()}
    after = ptq.finetune_kmeans(shared, books, (x[:512], y[:512]), epochs=1, progress=False)
    for layer in graph.select_layers(shared):
        codebook, idx = after[layer.name]
        assert _distinct(layer) <= 4
        np.testing.assert_allclose(np.asarray(layer.kernel), codebook[idx], rtol=1e-6)
        assert not np.allclose(codebook, before[layer.name])
    assert _distinct(trained.layers[0]) > 4  # original untouched


def test_finetuning_a_nested_model(trained, mnist):
    """Centroid fine-tuning finds the shared layers inside a with_jitter wrapper."""
    (x, y), _ = mnist
    shared, books = ptq.kmeans_model(distillation.with_jitter(trained), bits=2, layers=["fc2"])
    after = ptq.finetune_kmeans(shared, books, (x[:256], y[:256]), progress=False)
    kernel = np.asarray(graph.select_layers(shared, "fc2")[0].kernel)
    np.testing.assert_allclose(kernel, after["fc2"][0][after["fc2"][1]], rtol=1e-6)
    assert _distinct(graph.select_layers(shared, "fc1")[0]) > 4


# ---------------------------------------------------------------- keep_zeros: pruned weights stay 0

def _pruned(model: keras.Model, sparsity: float = 0.8) -> keras.Model:
    """A stripped copy of model with each kernel magnitude-pruned to `sparsity`."""
    from compress_lib import pruning

    copy = graph.copy_model(model)
    pruning.prune(copy, sparsity)
    return pruning.strip(copy)


def test_kmeans_model_keep_zeros_keeps_the_pruned_weights(trained):
    pruned = _pruned(trained)
    shared, books = ptq.kmeans_model(pruned, bits=3, keep_zeros=True)
    for layer in graph.select_layers(shared):
        codebook, idx = books[layer.name]
        zero = np.asarray(pruned.get_layer(layer.name).kernel) == 0
        assert codebook[0] == 0.0 and codebook.size <= 8
        assert np.all(idx[zero] == 0) and np.all(idx[~zero] >= 1)
        np.testing.assert_array_equal(np.asarray(layer.kernel) == 0, zero)
    with pytest.raises(TypeError, match="keep_zeros"):
        ptq.kmeans_model(pruned, bits=3, keep_zeros="yes")


def test_finetune_keep_zeros_keeps_centroid_0_at_zero(trained, mnist):
    """One epoch on 512 images: the other centroids move, centroid 0 and the zeros do not."""
    (x, y), _ = mnist
    pruned = _pruned(trained)
    zeros = {layer.name: np.asarray(layer.kernel) == 0 for layer in graph.select_layers(pruned)}
    shared, books = ptq.kmeans_model(pruned, bits=3, keep_zeros=True)
    before = {n: c.copy() for n, (c, _) in books.items()}
    after = ptq.finetune_kmeans(shared, books, (x[:512], y[:512]), epochs=1, progress=False,
                                keep_zeros=True)
    for layer in graph.select_layers(shared):
        codebook, idx = after[layer.name]
        kernel = np.asarray(layer.kernel)
        assert codebook[0] == 0.0 and before[layer.name][0] == 0.0
        np.testing.assert_array_equal(idx, books[layer.name][1])
        assert np.all(idx[~zeros[layer.name]] != 0)
        np.testing.assert_array_equal(kernel == 0, zeros[layer.name])  # exactly zero, no more
        np.testing.assert_array_equal(kernel, codebook[idx])
        assert np.all(codebook[1:] != before[layer.name][1:])  # every other centroid trained


def test_finetune_without_keep_zeros_moves_the_zeros(trained, mnist):
    """The same books trained without keep_zeros: centroid 0 gets gradients, zeros are lost."""
    (x, y), _ = mnist
    pruned = _pruned(trained)
    shared, books = ptq.kmeans_model(pruned, bits=3, keep_zeros=True)
    after = ptq.finetune_kmeans(shared, books, (x[:512], y[:512]), epochs=1, progress=False)
    assert all(after[n][0][0] != 0.0 for n in after)
    assert all(np.all(np.asarray(layer.kernel) != 0) for layer in graph.select_layers(shared))


def test_finetune_keep_zeros_refuses_books_without_a_zero(trained, mnist):
    (x, y), _ = mnist
    shared, books = ptq.kmeans_model(trained, bits=2)  # codebook[0] is the smallest weight
    with pytest.raises(ValueError, match=r"keep_zeros needs books whose codebook\[0\] is 0.0"):
        ptq.finetune_kmeans(shared, books, (x[:64], y[:64]), keep_zeros=True, progress=False)
    with pytest.raises(TypeError, match="keep_zeros must be True or False"):
        ptq.finetune_kmeans(shared, books, (x[:64], y[:64]), keep_zeros=1, progress=False)
