"""Side-by-side comparisons with reference implementations: TF-MOT on tf_keras.

TF Model Optimization prunes Keras 2 (`tf_keras`) models only; `compare_with_tfmot` trains
copies of one trained MLP with compress_lib.pruning (Keras 3) and with TF-MOT, from the same
weights, on the same batches, alternating epochs. Both sides are compiled here, once, by
hand (not through models.train, which compiles anew on every call): the two optimizers must
keep their state across the alternating one-epoch fits. Introduced in
notebooks/04_pruning.ipynb.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from compress_lib import graph
from compress_lib._checks import check_bool
from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_positive
from compress_lib.config import fds_muted
from compress_lib.models import accuracy
from compress_lib.models import progress as progress_bar
from compress_lib.pruning import PolynomialDecay
from compress_lib.pruning import PruningCallback
from compress_lib.pruning import sparsity_table
from compress_lib.pruning import strip

__all__ = ["compare_with_tfmot", "tf_keras_copy"]


def tf_keras_copy(model: keras.Model):
    """The same Dense/Dropout stack as a tf_keras (Keras 2) Sequential with the same weights."""
    import tf_keras

    check_model(model, built=True)
    layers = [tf_keras.Input(model.input_shape[1:])]
    for layer in graph.leaf_layers(model):
        if isinstance(layer, keras.layers.Dense):
            layers.append(tf_keras.layers.Dense(layer.units, name=layer.name,
                                                use_bias=layer.use_bias,
                                                activation=layer.get_config()["activation"]))
        elif isinstance(layer, keras.layers.Dropout):
            layers.append(tf_keras.layers.Dropout(layer.rate))
        elif not isinstance(layer, keras.layers.InputLayer):
            raise TypeError(f"only Dense/Dropout models can be copied, got {layer.name!r}")
    copy = tf_keras.Sequential(layers, name=f"{model.name}_tf_keras")
    copy.set_weights(model.get_weights())
    return copy


def _compile(net, lib, learning_rate: float):
    """Compile a Keras 3 (lib=keras) or tf_keras model: Adam, cross-entropy on logits."""
    net.compile(optimizer=lib.optimizers.Adam(learning_rate), metrics=["accuracy"],
                loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
    return net


def _keras3_copy(model: keras.Model, learning_rate: float) -> keras.Model:
    """A compiled copy of a Keras 3 model with the same weights."""
    return _compile(graph.copy_model(model), keras, learning_rate)


def _pruning_end(n: int, epochs: int, batch_size: int, frequency: int) -> int:
    """The schedule's end step: two thirds of all steps, rounded down to a mask update."""
    end = 2 * epochs * int(np.ceil(n / batch_size)) // 3 // frequency * frequency
    if end < 1:
        raise ValueError(f"frequency={frequency} is too large for {epochs} epochs of this data")
    return end


def _runs(model: keras.Model, sparsity: float, end: int, learning_rate: float, frequency: int,
          plain: bool) -> dict[str, tuple]:
    """name -> (compiled network, callbacks): ours, TF-MOT's and, with plain, unpruned copies."""
    import tensorflow_model_optimization as tfmot  # sets TF_USE_LEGACY_KERAS; Keras 3 unharmed
    import tf_keras

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
        _compile(net, tf_keras, learning_rate)
    return runs


def _alternate_epochs(runs: dict[str, tuple], data: tuple[np.ndarray, np.ndarray], epochs: int,
                      batch_size: int, desc: str, progress: bool) -> dict[str, list[float]]:
    """Train every run one epoch at a time on a shared shuffle; each epoch's seconds per run."""
    x, y = data
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    rng = np.random.default_rng(0)
    for _ in progress_bar(range(epochs), desc=desc, unit="round", disable=not progress):
        order = rng.permutation(len(x))
        xe, ye = x[order], y[order]
        for name, (net, callbacks) in runs.items():
            start = time.perf_counter()
            with fds_muted(2):  # TensorFlow's C++ log lines (config.fds_muted)
                net.fit(xe, ye, batch_size=batch_size, epochs=1, verbose=0, callbacks=callbacks,
                        shuffle=False)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def _tfmot_result(theirs, test_data: tuple[np.ndarray, np.ndarray]) -> dict:
    """TF-MOT's stripped model: test accuracy and sparsity of its kernels."""
    import tensorflow_model_optimization as tfmot

    xt, yt = test_data
    stripped = tfmot.sparsity.keras.strip_pruning(theirs)
    kernels = [w for w in stripped.get_weights() if w.ndim > 1]
    with fds_muted(2):
        acc = float(np.mean(stripped.predict(xt, batch_size=1024, verbose=0).argmax(1) == yt))
    return {"tfmot_accuracy": acc,
            "tfmot_sparsity": round(1 - sum(int(np.count_nonzero(k)) for k in kernels)
                                    / sum(k.size for k in kernels), 4)}


def compare_with_tfmot(model: keras.Model, train_data: tuple[np.ndarray, np.ndarray],
                       test_data: tuple[np.ndarray, np.ndarray], sparsity: float, epochs: int,
                       learning_rate: float = 1e-4, batch_size: int = 128,
                       frequency: int = 100, plain: bool = False, progress: bool = True) -> dict:
    """Prune copies of a trained MLP with compress_lib.pruning (Keras 3) and TF-MOT (tf_keras).

    Same weights, optimizer, PolynomialDecay schedule (0 -> sparsity over the first two thirds
    of the steps) and batches (each epoch's shuffle is shared); epochs alternate between the
    two so that both see the same CPU load.
    Returns accuracies, sparsities, every epoch's seconds and the median seconds per epoch of
    each, the first (tracing) epoch left out (with `plain`, also of unpruned copies trained
    alongside in Keras 3 and tf_keras: the pruning overhead).
    """
    sparsity = check_fraction("sparsity", sparsity)
    check_bool("plain", plain)
    epochs, frequency = check_int("epochs", epochs, low=1), check_int("frequency", frequency, 1)
    learning_rate = check_positive("learning_rate", learning_rate)
    train_data = check_labelled(train_data, "train_data")
    test_data = check_labelled(test_data, "test_data")
    end = _pruning_end(len(train_data[0]), epochs, check_int("batch_size", batch_size, 1),
                       frequency)
    runs = _runs(model, sparsity, end, learning_rate, frequency, plain)
    seconds = _alternate_epochs(runs, train_data, epochs, batch_size,
                                f"epochs at {sparsity:.0%}", progress)
    ours, table = runs["compress_lib"][0], sparsity_table(runs["compress_lib"][0])
    kept, total = sum(r["nonzero"] for r in table), sum(r["weights"] for r in table)
    theirs = _tfmot_result(runs["tfmot"][0], test_data)
    return {"target_sparsity": sparsity, "epochs": epochs,
            "compress_lib_accuracy": accuracy(strip(ours), test_data),
            "tfmot_accuracy": theirs["tfmot_accuracy"],
            "compress_lib_sparsity": round(1 - kept / total, 4),
            "tfmot_sparsity": theirs["tfmot_sparsity"],
            **{f"{name}_s_per_epoch": float(np.median(t[1:] or t)) for name, t in seconds.items()},
            "epoch_seconds": {name: [round(s, 3) for s in t] for name, t in seconds.items()}}
