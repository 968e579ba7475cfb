"""The workbook's reference models, the one training entry point, and progress bars.

All models output logits (no softmax layer): losses use `from_logits=True`, and
distillation needs the logits. Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import keras
import numpy as np
from tqdm.std import tqdm

from compress_lib._checks import check_array
from compress_lib._checks import check_bool
from compress_lib._checks import check_choice
from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_label_range
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_positive
from compress_lib.config import fds_muted
from compress_lib.graph import select_layers

__all__ = ["MNIST_PIXELS", "SCHEDULES", "EpochBar", "accuracy", "add_l2", "hinton_student",
           "hinton_teacher", "lenet5", "lenet_300_100", "mlp", "predict_logits", "progress",
           "seed_mlp", "train"]

MNIST_PIXELS = 784
SCHEDULES = ("constant", "cosine")


def mlp(hidden: tuple[int, ...], dropout: tuple[float, float] = (0.0, 0.0),
        name: str = "mlp") -> keras.Model:
    """A ReLU MLP on flattened 28x28 images; dropout = (input rate, hidden rate)."""
    if not isinstance(hidden, tuple | list) or not hidden:
        raise TypeError(f"hidden must be a non-empty tuple of layer widths, got {hidden!r}")
    if not isinstance(dropout, tuple | list) or len(dropout) != 2:
        raise TypeError(f"dropout must be a pair (input rate, hidden rate), got {dropout!r}")
    for i, width in enumerate(hidden):
        check_int(f"hidden[{i}]", width, low=1)
    for i, rate in enumerate(dropout):
        check_fraction(f"dropout[{i}]", rate)
    layers: list[keras.layers.Layer] = [keras.Input((MNIST_PIXELS,))]
    if dropout[0] > 0:
        layers.append(keras.layers.Dropout(dropout[0]))
    for i, width in enumerate(hidden):
        layers.append(keras.layers.Dense(width, activation="relu", name=f"fc{i + 1}"))
        if dropout[1] > 0:
            layers.append(keras.layers.Dropout(dropout[1]))
    layers.append(keras.layers.Dense(10, name="logits"))
    return keras.Sequential(layers, name=name)


def seed_mlp() -> keras.Model:
    """The article's 784-128-64-10 MLP (109,386 parameters)."""
    return mlp((128, 64), name="seed_mlp")


def lenet_300_100() -> keras.Model:
    """LeNet-300-100 (784-300-100-10, 266,610 parameters), as in Han et al. 2015."""
    return mlp((300, 100), name="lenet_300_100")


def lenet5() -> keras.Model:
    """Caffe's LeNet-5 on 28x28 inputs: conv20-pool-conv50-pool-fc500-fc10 (431,080 params)."""
    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.Conv2D(20, 5, name="conv1"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(50, 5, name="conv2"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(500, activation="relu", name="fc1"),
        keras.layers.Dense(10, name="logits"),
    ], name="lenet5")


def hinton_teacher(dropout: bool = True) -> keras.Model:
    """Hinton et al. 2015's MNIST teacher: 784-1200-1200-10, dropout 0.2 input / 0.5 hidden."""
    return mlp((1200, 1200), dropout=(0.2, 0.5) if check_bool("dropout", dropout) else (0.0, 0.0),
               name="hinton_teacher")


def hinton_student(width: int = 800) -> keras.Model:
    """Hinton et al. 2015's MNIST student: 784-width-width-10 without regularisation."""
    check_int("width", width, low=1)
    return mlp((width, width), name=f"hinton_student_{width}")


def progress(iterable: Iterable | None = None, **kwargs) -> tqdm:
    """A text progress bar on stdout: live in Jupyter and readable in stored notebooks."""
    if iterable is not None and not isinstance(iterable, Iterable):
        raise TypeError(f"iterable must be an iterable or None, got {type(iterable).__name__}")
    kwargs.setdefault("file", sys.stdout)
    kwargs.setdefault("dynamic_ncols", False)
    kwargs.setdefault("bar_format", "{l_bar}{bar:24}{r_bar}")  # never cut the metrics after it
    return tqdm(iterable, **kwargs)


class EpochBar(keras.callbacks.Callback):
    """A one-line progress bar over epochs showing loss and accuracy.

    The bar starts when training does, after the lines that earlier callbacks print then
    (e.g. pruning.PruningCallback's), so a stored notebook shows no abandoned 0% bar.
    """

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = check_int("epochs", epochs, low=1)
        self.bar = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Draw the bar at 0%."""
        self.bar = progress(total=self.epochs, desc="epochs", unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Advance the bar and show the epoch's metrics."""
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()})
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        """Close the bar."""
        self.bar.close()


def _optimizer(learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
               schedule: str, steps: int) -> keras.optimizers.Optimizer:
    """Adam at a constant rate, a cosine-decayed rate, or a given LearningRateSchedule."""
    check_choice("schedule", schedule, SCHEDULES)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        if schedule != "constant":
            raise ValueError("pass either a LearningRateSchedule or schedule='cosine', not both")
        return keras.optimizers.Adam(learning_rate)
    rate = check_positive("learning_rate", learning_rate)
    if schedule == "cosine":
        return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(rate, steps))
    return keras.optimizers.Adam(rate)


def _num_classes(model: keras.Model) -> int | None:
    """The number of logits of a model with known outputs (a Distiller's student's), else None."""
    outputs = getattr(getattr(model, "student", model), "outputs", None)
    shape = tuple(outputs[0].shape) if outputs and len(outputs) == 1 else ()
    return shape[-1] if shape and isinstance(shape[-1], int) else None


def _check_fit_data(model: keras.Model, data: tuple, validation_data: tuple | None) -> tuple:
    """(x, y, validation_data) checked, labels within the model's classes when it has outputs."""
    check_model(model)
    x, y = check_labelled(data)
    if validation_data is not None:
        validation_data = check_labelled(validation_data, "validation_data")
    classes = _num_classes(model)
    if classes is not None:
        check_label_range(y, classes)
        if validation_data is not None:
            check_label_range(validation_data[1], classes, "validation_data's y")
    return x, y, validation_data


def train(model: keras.Model, data: tuple[np.ndarray, np.ndarray], epochs: int,
          batch_size: int = 128, learning_rate: float = 1e-3, schedule: str = "constant",
          validation_data: tuple[np.ndarray, np.ndarray] | None = None,
          callbacks: list | None = None, progress: bool = True) -> keras.callbacks.History:
    """The one training entry point: compile with a fresh Adam, then fit on shuffled (x, y).

    Every call compiles the model anew (an earlier compile and its optimizer state are
    replaced), so `learning_rate` always takes effect. The loss is cross-entropy on logits,
    unless the model brings its own (`has_own_loss`, e.g. distillation.Distiller); pruning,
    distillation and centroid fine-tuning plug in as callbacks or such models.
    `schedule='cosine'` decays the rate to 0 over all steps; `learning_rate` may also be a
    keras LearningRateSchedule.
    """
    x, y, validation_data = _check_fit_data(model, data, validation_data)
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    check_bool("progress", progress)
    if callbacks is not None and not isinstance(callbacks, list | tuple):
        raise TypeError(f"callbacks must be a list of keras callbacks, got {callbacks!r}")
    steps = epochs * -(-len(x) // batch_size)
    loss = None if getattr(model, "has_own_loss", False) else \
        keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=_optimizer(learning_rate, schedule, steps), loss=loss,
                  metrics=["accuracy"])
    cbs = list(callbacks or []) + ([EpochBar(epochs)] if progress else [])
    with fds_muted(2):  # TensorFlow's C++ log lines (config.fds_muted)
        return model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                         validation_data=validation_data, callbacks=cbs, shuffle=True)


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Logits for x, computed in large batches without a progress bar."""
    check_model(model)
    x = check_array("x", x, min_ndim=1, dtype=None)
    batch_size = check_int("batch_size", batch_size, low=1)
    with fds_muted(2):  # TensorFlow's C++ log lines (config.fds_muted)
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def accuracy(model: keras.Model, data: tuple[np.ndarray, np.ndarray]) -> float:
    """Top-1 accuracy of a logits model on data = (x, y)."""
    x, y = check_labelled(data)
    logits = predict_logits(model, x)
    check_label_range(y, logits.shape[-1])
    return float(np.mean(logits.argmax(axis=1) == y))


def add_l2(model: keras.Model, l2: float) -> keras.Model:
    """Attach the penalty l2 * sum(w**2) to every kernel of `model`, in place; returns it.

    The penalty rides on the kernel variables (Keras 3), so graph.copy_model does not carry
    it over: call add_l2 on the copy. Taught in notebooks/04_pruning.ipynb (Han et al. 2015).
    """
    l2 = check_positive("l2", l2)
    for layer in select_layers(check_model(model)):
        layer.kernel.regularizer = keras.regularizers.L2(l2)
    return model
