"""The workbook's reference models and a small training helper.

All models output logits (no softmax layer): losses use `from_logits=True`, and
distillation needs the logits. Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import keras
import numpy as np
from tqdm.std import tqdm

MNIST_PIXELS = 784


def _check_width(name: str, value: int) -> None:
    """Validate a layer width argument."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def mlp(hidden: tuple[int, ...], dropout: tuple[float, float] = (0.0, 0.0),
        name: str = "mlp") -> keras.Model:
    """A ReLU MLP on flattened 28x28 images; dropout = (input rate, hidden rate)."""
    for i, width in enumerate(hidden):
        _check_width(f"hidden[{i}]", width)
    if not all(0.0 <= r < 1.0 for r in dropout):
        raise ValueError(f"dropout rates must be in [0, 1), got {dropout}")
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
    return mlp((1200, 1200), dropout=(0.2, 0.5) if dropout else (0.0, 0.0),
               name="hinton_teacher")


def hinton_student(width: int = 800) -> keras.Model:
    """Hinton et al. 2015's MNIST student: 784-width-width-10 without regularisation."""
    _check_width("width", width)
    return mlp((width, width), name=f"hinton_student_{width}")


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile with Adam, cross-entropy on logits and accuracy."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _check_data(x: np.ndarray, y: np.ndarray) -> None:
    """Validate a (features, labels) pair."""
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError("x and y must not be empty")


def progress(iterable: Iterable | None = None, **kwargs) -> tqdm:
    """A text progress bar on stdout: live in Jupyter and readable in stored notebooks."""
    kwargs.setdefault("file", sys.stdout)
    kwargs.setdefault("dynamic_ncols", False)
    kwargs.setdefault("ncols", 100)
    return tqdm(iterable, **kwargs)


class EpochBar(keras.callbacks.Callback):
    """A one-line progress bar over epochs showing loss and accuracy."""

    def __init__(self, epochs: int):
        super().__init__()
        self.bar = progress(total=epochs, desc="epochs", unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Advance the bar and show the epoch's metrics."""
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()})
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        """Close the bar."""
        self.bar.close()


def train(model: keras.Model, data: tuple[np.ndarray, np.ndarray], epochs: int,
          batch_size: int = 128, learning_rate: float = 1e-3,
          validation_data: tuple[np.ndarray, np.ndarray] | None = None,
          progress: bool = True, callbacks: list | None = None) -> keras.callbacks.History:
    """Fit a classifier on (x, y); compiles it first if needed; shows an epoch progress bar."""
    x, y = data
    _check_data(x, y)
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not getattr(model, "compiled", False):
        compile_classifier(model, learning_rate)
    cbs = list(callbacks or []) + ([EpochBar(epochs)] if progress else [])
    return model.fit(x, y, batch_size=batch_size, epochs=int(epochs), verbose=0,
                     validation_data=validation_data, callbacks=cbs, shuffle=True)


def predict_logits(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Logits for x, computed in large batches without a progress bar."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of a logits model on (x, y)."""
    _check_data(x, y)
    return float(np.mean(predict_logits(model, x).argmax(axis=1) == np.asarray(y)))
