"""Post-training weight quantization of Keras models: linear, any array map, k-means sharing.

Each function returns a quantized copy (graph.copy_model) and leaves the model untouched;
layers are chosen with graph.select_layers (names, regexes or a predicate; nested models
are searched too). Centroid fine-tuning trains only the k-means codebooks, through the one
training entry point models.train.
Introduced in notebooks/02_quantization.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from compress_lib import graph
from compress_lib import models
from compress_lib._checks import check_bool
from compress_lib._checks import check_model
from compress_lib.quantization import fake_quantize
from compress_lib.quantization import kmeans_quantize

__all__ = ["Books", "finetune_kmeans", "kmeans_model", "map_weights", "quantize_weights"]

Books = dict[str, tuple[np.ndarray, np.ndarray]]  # layer name -> (codebook, indices)


def _weight_axis(layer: keras.layers.Layer, ndim: int) -> int:
    """The output-channel axis of a kernel (depthwise (kh, kw, in, 1): the 'in' axis)."""
    return 2 if isinstance(layer, keras.layers.DepthwiseConv2D) else ndim - 1


def _chosen(model: keras.Model, layers: graph.LayerSpec, strict: bool, what: str
            ) -> list[keras.layers.Layer]:
    """graph.select_layers; with layers=None, other weighted layers are an error if strict."""
    chosen = graph.select_layers(model, layers)
    if layers is None:
        graph.check_coverage(model, graph.KERNEL_LAYERS, check_bool("strict", strict), what)
    return chosen


def map_weights(model: keras.Model, fn: Callable[[np.ndarray], np.ndarray],
                layers: graph.LayerSpec = None, strict: bool = True) -> keras.Model:
    """A copy of model with fn(kernel) in place of each chosen kernel (binary, ternary...)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    copy = graph.copy_model(check_model(model, built=True))
    for layer in _chosen(copy, layers, strict, "map_weights"):
        new = np.asarray(fn(np.asarray(layer.kernel)))
        if new.shape != tuple(layer.kernel.shape) or not np.all(np.isfinite(new)):
            raise ValueError(f"fn must return a finite array of the kernel's shape "
                             f"{tuple(layer.kernel.shape)} for layer {layer.name!r}, got "
                             f"shape {new.shape}")
        layer.kernel.assign(new.astype(np.float32))
    return copy


def quantize_weights(model: keras.Model, bits: int, symmetric: bool = True,
                     per_channel: bool = True, layers: graph.LayerSpec = None,
                     method: str = "minmax", strict: bool = True) -> keras.Model:
    """A copy of model with the chosen kernels fake-quantized (linear, weights only)."""
    check_bool("symmetric", symmetric)
    check_bool("per_channel", per_channel)
    copy = graph.copy_model(check_model(model, built=True))
    for layer in _chosen(copy, layers, strict, "quantize_weights"):
        w = np.asarray(layer.kernel)
        axis = _weight_axis(layer, w.ndim) if per_channel else None
        layer.kernel.assign(fake_quantize(w, bits, symmetric, axis, method))
    return copy


def kmeans_model(model: keras.Model, bits: int, layers: graph.LayerSpec = None,
                 strict: bool = True, keep_zeros: bool = False) -> tuple[keras.Model, Books]:
    """A copy of model with k-means shared kernels, and {layer name: (codebook, indices)}.

    keep_zeros: pruned weights keep index 0 = 0.0 (see quantization.kmeans_quantize).
    """
    copy = graph.copy_model(check_model(model, built=True))
    books: Books = {}
    for layer in _chosen(copy, layers, strict, "kmeans_model"):
        codebook, indices = kmeans_quantize(np.asarray(layer.kernel), bits,
                                            keep_zeros=keep_zeros)
        layer.kernel.assign(codebook[indices])
        books[layer.name] = (codebook, indices)
    return copy, books


class _CentroidTrainer(keras.Model):
    """Wraps a k-means model for models.train: the codebooks are the only weights trained.

    Each step sums the weight gradients of every cluster into its centroid (Deep
    Compression), applies the optimizer to the codebooks and writes codebook[indices] back
    into the kernels.
    """

    def __init__(self, model: keras.Model, books: Books, keep_zeros: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.inner = model
        self.kernels = [layer.kernel for layer in graph.select_layers(model, list(books))]
        self.codebooks = [self.add_weight(shape=c.shape, initializer="zeros", name=f"{n}_codebook")
                          for n, (c, _) in books.items()]
        for variable, (codebook, _) in zip(self.codebooks, books.values(), strict=True):
            variable.assign(codebook)
        self.indices = [np.asarray(i) for _, i in books.values()]
        # with keep_zeros, centroid 0 (the pruned weights) gets no gradient: Adam leaves it 0
        self.free = [(np.arange(c.size) != 0 if keep_zeros else np.ones(c.size)).astype("float32")
                     for c, _ in books.values()]
        self.loss_mean = keras.metrics.Mean(name="loss")  # reset every epoch by fit

    def call(self, x, training=None):
        """The wrapped model's logits."""
        return self.inner(x, training=training)

    def train_step(self, data):
        """One step on the centroids (TensorFlow backend)."""
        import tensorflow as tf

        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self.inner(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
        self.loss_mean.update_state(loss)
        grads = tape.gradient(loss, [k.value for k in self.kernels])
        cgrads = [tf.math.unsorted_segment_sum(g, i, c.shape[0]) * free
                  for g, i, c, free in zip(grads, self.indices, self.codebooks, self.free,
                                           strict=True)]
        self.optimizer.apply(cgrads, self.codebooks)
        for kernel, c, i in zip(self.kernels, self.codebooks, self.indices, strict=True):
            kernel.assign(tf.gather(c, i))
        return self.compute_metrics(x, y, y_pred)


def _check_books(model: keras.Model, books: Books) -> None:
    """Books as kmeans_model returns them: for each named layer, indices of its kernel's shape."""
    if not isinstance(books, dict) or not books:
        raise TypeError(f"books must be the non-empty dict that kmeans_model returns, got "
                        f"{type(books).__name__}")
    for layer in graph.select_layers(model, list(books)):
        codebook, indices = books[layer.name]
        codebook, indices = np.asarray(codebook), np.asarray(indices)
        if (indices.shape != tuple(layer.kernel.shape) or codebook.ndim != 1
                or not np.issubdtype(indices.dtype, np.integer)
                or indices.min() < 0 or indices.max() >= codebook.size):
            raise ValueError(f"books[{layer.name!r}] must be (codebook, integer indices of the "
                             f"kernel's shape {tuple(layer.kernel.shape)} into the codebook)")


def finetune_kmeans(model: keras.Model, books: Books, data: tuple[np.ndarray, np.ndarray],
                    epochs: int = 1, batch_size: int = 128, learning_rate: float = 1e-4,
                    progress: bool = True, keep_zeros: bool = False) -> Books:
    """Train only the shared centroids (gradients summed per cluster, Adam); updates model.

    Runs through models.train (shuffled batches, a fresh Adam); returns the new books.
    keep_zeros (books from kmeans_model(..., keep_zeros=True)): centroid 0 stays 0.0.
    """
    _check_books(check_model(model, built=True), books)
    if check_bool("keep_zeros", keep_zeros) and any(float(c[0]) for c, _ in books.values()):
        raise ValueError("keep_zeros needs books whose codebook[0] is 0.0 (from "
                         "kmeans_model(..., keep_zeros=True))")
    trainer = _CentroidTrainer(model, books, keep_zeros)
    models.train(trainer, data, epochs, batch_size=batch_size, learning_rate=learning_rate,
                 progress=progress)
    return {n: (np.asarray(c), books[n][1])
            for n, c in zip(books, trainer.codebooks, strict=True)}
