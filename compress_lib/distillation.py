"""Knowledge distillation for Keras 3: a Distiller model, input jitter, a training helper.

The loss itself (`kd_loss`, and the article's `seed_kd_loss`) lives in compress_lib.losses.
Introduced in notebooks/03_distillation.ipynb.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from compress_lib import config, models
from compress_lib.losses import _check_alpha, _check_temperature, kd_terms
from compress_lib.models import MNIST_PIXELS, EpochBar, _check_data


class Jitter(keras.layers.Layer):
    """Shift each flat 28x28 image by a random whole number of pixels in [-max_shift, max_shift].

    Active only in training (like Dropout); pixels shifted in are zero (MNIST background).
    """

    def __init__(self, max_shift: int = 2, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or not 0 <= max_shift < 14:
            raise ValueError(f"max_shift must be an int in [0, 14), got {max_shift!r}")
        self.max_shift = max_shift
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        """Randomly shifted images when training, x unchanged otherwise."""
        if not training or self.max_shift == 0:
            return x
        s, batch = self.max_shift, ops.shape(x)[0]
        img = ops.pad(ops.reshape(x, (-1, 28, 28)), ((0, 0), (s, s), (s, s)))
        off = keras.random.randint((batch, 2), 0, 2 * s + 1, seed=self.seed_generator)
        rows = off[:, :1] + ops.arange(28)[None, :]  # (batch, 28) source rows
        cols = off[:, 1:] + ops.arange(28)[None, :]
        img = ops.take_along_axis(img, rows[:, :, None], axis=1)  # (batch, 28, 28 + 2s)
        img = ops.take_along_axis(img, cols[:, None, :], axis=2)  # (batch, 28, 28)
        return ops.reshape(img, (-1, MNIST_PIXELS))

    def get_config(self) -> dict:
        """Serialisable configuration."""
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}


def with_jitter(model: keras.Model, max_shift: int = 2, seed: int | None = None) -> keras.Model:
    """Wrap a flat-MNIST model so that training sees randomly shifted images (shares weights)."""
    return keras.Sequential([keras.Input((MNIST_PIXELS,)), Jitter(max_shift, seed), model],
                            name=f"{model.name}_jitter")


class Distiller(keras.Model):
    """Train `student` against a frozen `teacher` with kd_loss (Hinton et al. 2015).

    Use it like any Keras model: compile(optimizer, metrics=[...]), fit, evaluate, callbacks.
    `y` is either the integer labels (teacher logits computed on the fly), or a tuple
    (labels, teacher_logits) with the teacher's logits precomputed for the same x.
    Predictions are the student's logits; `alpha` weights the hard-label term. `loss_fn`
    replaces kd_loss by another loss with its signature (e.g. losses.seed_kd_loss); the
    logged `hard_ce` / `soft_kl_t2` terms are then those of kd_loss, for comparison.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, temperature: float = 4.0,
                 alpha: float = 0.1, loss_fn=None, **kwargs):
        super().__init__(**kwargs)
        for name, m in (("student", student), ("teacher", teacher)):
            if not isinstance(m, keras.Model):
                raise TypeError(f"{name} must be a keras.Model, got {type(m).__name__}")
        _check_temperature(temperature)
        _check_alpha(alpha)
        self.student, self.teacher = student, teacher
        self.teacher.trainable = False
        self.temperature, self.alpha = float(temperature), float(alpha)
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable or None, got {type(loss_fn).__name__}")
        self.loss_fn = loss_fn
        self.hard_tracker = keras.metrics.Mean(name="hard_ce")
        self.soft_tracker = keras.metrics.Mean(name="soft_kl_t2")

    def compile(self, optimizer="adam", metrics=None, **kwargs) -> None:
        """Compile with the distillation loss built in (do not pass `loss`)."""
        if kwargs.get("loss") is not None:
            raise ValueError("Distiller has its own loss; do not pass loss= to compile")
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def call(self, x, training=None):
        """The student's logits."""
        return self.student(x, training=training)

    def _split(self, x, y):
        """(labels, teacher logits) from y, running the frozen teacher if y holds labels only."""
        if isinstance(y, tuple | list):
            return y[0], y[1]
        return y, ops.stop_gradient(self.teacher(x, training=False))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(teacher_T || student_T)."""
        if sample_weight is not None:
            raise ValueError("Distiller does not support sample_weight (class_weight); "
                             "pass sample_weight=None")
        if y_pred is None:
            y_pred = self(x, training=training)
        labels, teacher_logits = self._split(x, y)
        hard, soft = kd_terms(y_pred, teacher_logits, labels, self.temperature)
        self.hard_tracker.update_state(hard)
        self.soft_tracker.update_state(soft)
        if self.loss_fn is not None:
            return self.loss_fn(y_pred, teacher_logits, labels, self.temperature, self.alpha)
        return ops.mean(self.alpha * hard + (1.0 - self.alpha) * soft)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Compiled metrics see the labels only, never the cached teacher logits."""
        labels = y[0] if isinstance(y, tuple | list) else y
        return super().compute_metrics(x, labels, y_pred, sample_weight)

    @property
    def metrics(self) -> list:
        """Keras's loss and compiled metrics plus the two loss terms."""
        return [*super().metrics, self.hard_tracker, self.soft_tracker]


def cosine_schedule(learning_rate: float, epochs: int, n: int, batch_size: int
                    ) -> keras.optimizers.schedules.CosineDecay:
    """A learning rate decaying from `learning_rate` to 0 over epochs * ceil(n / batch) steps."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    steps = max(1, int(epochs) * int(np.ceil(n / batch_size)))
    return keras.optimizers.schedules.CosineDecay(learning_rate, steps)


def distill(student: keras.Model, teacher: keras.Model, data: tuple[np.ndarray, np.ndarray],
            epochs: int, temperature: float = 4.0, alpha: float = 0.1,
            teacher_logits: np.ndarray | None = None, batch_size: int = 128,
            learning_rate=1e-3, validation_data=None, progress: bool = True,
            callbacks: list | None = None, loss_fn=None) -> keras.callbacks.History:
    """Distil `teacher` into `student` on (x, y) with Adam; the analogue of models.train.

    `learning_rate` is a float or a keras LearningRateSchedule.
    """
    x, y = data
    _check_data(x, y)
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if teacher_logits is not None and np.shape(teacher_logits)[:1] != (len(x),):
        raise ValueError(f"teacher_logits must have one row per example ({len(x)}), "
                         f"got shape {np.shape(teacher_logits)}")
    distiller = Distiller(student, teacher, temperature, alpha, loss_fn)
    distiller.compile(keras.optimizers.Adam(learning_rate), metrics=["accuracy"])
    target = y if teacher_logits is None else (y, np.asarray(teacher_logits, np.float32))
    cbs = list(callbacks or []) + ([EpochBar(epochs)] if progress else [])
    return distiller.fit(x, target, batch_size=batch_size, epochs=int(epochs), verbose=0,
                         validation_data=validation_data, callbacks=cbs, shuffle=True)



def count_errors(model: keras.Model, x: np.ndarray, y: np.ndarray) -> int:
    """Number of misclassified examples (Hinton et al. report test errors out of 10,000)."""
    _check_data(x, y)
    return int(np.sum(models.predict_logits(model, x).argmax(axis=1) != np.asarray(y)))


def train_seeded(build, seed: int, data: tuple[np.ndarray, np.ndarray], epochs: int,
                  teacher: keras.Model | None = None, teacher_logits: np.ndarray | None = None,
                  temperature: float = 20.0, alpha: float = 0.1, batch_size: int = 256,
                  learning_rate: float = 1e-3, progress: bool = False, loss_fn=None
                  ) -> keras.Model:
    """Seed, build a fresh student with `build()`, and train it with cosine-decayed Adam.

    From scratch (plain cross-entropy) when `teacher` is None, else by distillation;
    both runs see the same seed, data order, optimizer and schedule.
    """
    config.set_seed(seed)
    student = build()
    x, y = data
    schedule = cosine_schedule(learning_rate, epochs, len(x), batch_size)
    if teacher is None:
        student.compile(optimizer=keras.optimizers.Adam(schedule), metrics=["accuracy"],
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        models.train(student, data, epochs, batch_size=batch_size, progress=progress)
    else:
        distill(student, teacher, data, epochs, temperature, alpha, teacher_logits,
                batch_size=batch_size, learning_rate=schedule, progress=progress,
                loss_fn=loss_fn)
    return student


def kd_explorer(teacher_logits: np.ndarray, student_logits: np.ndarray, labels: np.ndarray):
    """Sliders over T, alpha and example: soft targets per class and the kd_loss terms."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from compress_lib import plots
    from compress_lib.losses import softmax

    if not len(teacher_logits) == len(student_logits) == len(labels) or len(labels) == 0:
        raise ValueError("teacher_logits, student_logits and labels must be non-empty and "
                         "of equal length")

    def show(temperature: float = 4.0, alpha: float = 0.1, index: int = 0) -> None:
        pick = slice(index, index + 1)
        zt, zs, y = teacher_logits[pick], student_logits[pick], np.asarray(labels)[pick]
        hard, soft = (float(np.asarray(t)[0]) for t in kd_terms(zs, zt, y, temperature))
        _, axes = plt.subplots(1, 2, figsize=(9, 3), sharey=True)
        plots.class_bars(axes[0], softmax(zt[0], temperature), f"teacher, T={temperature:g}",
                         int(y[0]))
        plots.class_bars(axes[1], softmax(zs[0], temperature), f"student, T={temperature:g}",
                         int(y[0]))
        print(f"hard CE {hard:.4f}   T^2*KL {soft:.4f}   "
              f"loss = {alpha:.2f}*{hard:.4f} + {1 - alpha:.2f}*{soft:.4f} = "
              f"{alpha * hard + (1 - alpha) * soft:.4f}")
        plt.show()

    return widgets.interact(
        show,
        temperature=widgets.FloatLogSlider(value=4.0, base=10, min=0, max=2, step=0.05,
                                           description="T"),
        alpha=widgets.FloatSlider(value=0.1, min=0, max=1, step=0.05, description="alpha"),
        index=widgets.IntSlider(value=0, min=0, max=len(labels) - 1, description="example"))
