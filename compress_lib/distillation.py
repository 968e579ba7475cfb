"""Knowledge distillation for Keras 3: a Distiller model, input jitter, seeded training runs.

The loss itself (`kd_loss`, and the article's `seed_kd_loss`) lives in compress_lib.losses;
training goes through models.train (the Distiller brings its own loss). The explorer of
soft targets is widgets.kd_explorer. Introduced in notebooks/03_distillation.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from compress_lib import config
from compress_lib import models
from compress_lib._checks import check_callable
from compress_lib._checks import check_choice
from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_label_range
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_numeric
from compress_lib._checks import check_positive
from compress_lib.losses import kd_terms
from compress_lib.losses import seed_kd_loss
from compress_lib.models import MNIST_PIXELS

__all__ = ["STUDENT_LOSSES", "Distiller", "Jitter", "count_errors", "distill", "student_run",
           "train_seeded", "with_jitter"]

# the losses of student_run: cross-entropy from scratch, Hinton's kd_loss, the article's formula
STUDENT_LOSSES = ("ce", "kd", "seed_kd")


class Jitter(keras.layers.Layer):
    """Shift each flat 28x28 image by a random whole number of pixels in [-max_shift, max_shift].

    Active only in training (like Dropout); pixels shifted in are zero (MNIST background).
    """

    inference_free = True  # identity at inference: measure counts it as costing nothing

    def __init__(self, max_shift: int = 2, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift = check_int("max_shift", max_shift, 0, 13)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
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
    check_model(model)
    return keras.Sequential([keras.Input((MNIST_PIXELS,)), Jitter(max_shift, seed), model],
                            name=f"{model.name}_jitter")


def _check_teacher_logits(teacher_logits: np.ndarray) -> np.ndarray:
    """Finite float32 logits of shape (examples, classes)."""
    z = check_numeric("teacher_logits", teacher_logits, min_ndim=2, dtype=np.float32)
    if z.ndim != 2:
        raise ValueError(f"teacher_logits must have shape (examples, classes), got {z.shape}")
    return z


class Distiller(keras.Model):
    """Train `student` against a frozen `teacher` with kd_loss (Hinton et al. 2015).

    Train it with models.train (it has its own loss), or compile(optimizer, metrics) and fit.
    `y` is either the integer labels (teacher logits computed on the fly), or a tuple
    (labels, teacher_logits) with the teacher's logits precomputed for the same x; given
    `teacher_logits` (one row per training example, in order), fit(x, y) pairs them with y.
    Predictions are the student's logits; `alpha` weights the hard-label term. `loss_fn`,
    a function of (labels, student_logits, teacher_logits) only, replaces kd_loss (e.g.
    losses.seed_kd_loss; bind any other argument with functools.partial); `temperature`
    and `alpha` then serve only the logged `hard_ce` / `soft_kl_t2` terms, for comparison.
    """

    has_own_loss = True

    def __init__(self, student: keras.Model, teacher: keras.Model, temperature: float = 4.0,
                 alpha: float = 0.1, loss_fn: Callable | None = None,
                 teacher_logits: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.student, self.teacher = check_model(student, "student"), check_model(teacher,
                                                                                   "teacher")
        self.teacher.trainable = False
        self.temperature = check_positive("temperature", temperature)
        self.alpha = check_fraction("alpha", alpha, include_high=True)
        self.loss_fn = None if loss_fn is None else check_callable("loss_fn", loss_fn)
        self.teacher_logits = None if teacher_logits is None else \
            _check_teacher_logits(teacher_logits)
        self.hard_tracker = keras.metrics.Mean(name="hard_ce")
        self.soft_tracker = keras.metrics.Mean(name="soft_kl_t2")

    def compile(self, optimizer="adam", metrics=None, **kwargs) -> None:
        """Compile with the distillation loss built in (do not pass `loss`)."""
        if kwargs.get("loss") is not None:
            raise ValueError("Distiller has its own loss; do not pass loss= to compile")
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def fit(self, x=None, y=None, **kwargs) -> keras.callbacks.History:
        """keras.Model.fit; with cached teacher_logits, the labels y become (y, teacher_logits)."""
        if self.teacher_logits is not None and not isinstance(y, tuple | list):
            if len(self.teacher_logits) != len(x):
                raise ValueError(f"teacher_logits must have one row per training example "
                                 f"({len(x)}), got shape {self.teacher_logits.shape}")
            y = (y, self.teacher_logits)
        return super().fit(x, y, **kwargs)

    def call(self, x, training=None):
        """The student's logits."""
        return self.student(x, training=training)

    def _split(self, x, y):
        """(labels, teacher logits) from y, running the frozen teacher if y holds labels only."""
        if isinstance(y, tuple | list):
            return y[0], y[1]
        return y, ops.stop_gradient(self.teacher(x, training=False))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """loss_fn(labels, student, teacher) if given, else alpha * CE + (1 - alpha) * T^2 * KL."""
        if sample_weight is not None:
            raise ValueError("Distiller does not support sample_weight (class_weight); "
                             "pass sample_weight=None")
        if y_pred is None:
            y_pred = self(x, training=training)
        labels, teacher_logits = self._split(x, y)
        hard, soft = kd_terms(labels, y_pred, teacher_logits, self.temperature)
        self.hard_tracker.update_state(hard)
        self.soft_tracker.update_state(soft)
        if self.loss_fn is not None:
            return self.loss_fn(labels, y_pred, teacher_logits)
        return ops.mean(self.alpha * hard + (1.0 - self.alpha) * soft)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Compiled metrics see the labels only, never the cached teacher logits."""
        labels = y[0] if isinstance(y, tuple | list) else y
        return super().compute_metrics(x, labels, y_pred, sample_weight)

    @property
    def metrics(self) -> list:
        """Keras's loss and compiled metrics plus the two loss terms."""
        return [*super().metrics, self.hard_tracker, self.soft_tracker]


def distill(student: keras.Model, teacher: keras.Model, data: tuple[np.ndarray, np.ndarray],
            epochs: int, temperature: float = 4.0, alpha: float = 0.1,
            teacher_logits: np.ndarray | None = None, batch_size: int = 128,
            learning_rate: float = 1e-3, schedule: str = "constant",
            validation_data: tuple[np.ndarray, np.ndarray] | None = None,
            callbacks: list | None = None, progress: bool = True,
            loss_fn: Callable | None = None) -> keras.callbacks.History:
    """Distil `teacher` into `student` on data = (x, y) with models.train (Adam, shuffled).

    `teacher_logits`, if given, are the teacher's logits for x, computed once beforehand.
    """
    distiller = Distiller(student, teacher, temperature, alpha, loss_fn, teacher_logits)
    return models.train(distiller, data, epochs, batch_size=batch_size,
                        learning_rate=learning_rate, schedule=schedule,
                        validation_data=validation_data, callbacks=callbacks, progress=progress)


def count_errors(model: keras.Model, data: tuple[np.ndarray, np.ndarray]) -> int:
    """Number of misclassified examples in data = (x, y) (Hinton et al. count test errors)."""
    x, y = check_labelled(data)
    logits = models.predict_logits(model, x)
    check_label_range(y, logits.shape[-1])
    return int(np.sum(logits.argmax(axis=1) != y))


def train_seeded(build: Callable[[], keras.Model], seed: int,
                 data: tuple[np.ndarray, np.ndarray], epochs: int,
                 teacher: keras.Model | None = None, teacher_logits: np.ndarray | None = None,
                 temperature: float = 20.0, alpha: float = 0.1, batch_size: int = 256,
                 learning_rate: float = 1e-3, progress: bool = False,
                 loss_fn: Callable | None = None) -> keras.Model:
    """Seed, build a fresh student with `build()`, and train it with cosine-decayed Adam.

    From scratch (plain cross-entropy) when `teacher` is None, else by distillation (with
    kd_loss, or `loss_fn(labels, student_logits, teacher_logits)` as in Distiller);
    both runs see the same seed, data order, optimizer and schedule.
    """
    check_callable("build", build)
    if teacher is not None:
        check_model(teacher, "teacher")
    config.set_seed(seed)
    student = build()
    if teacher is None:
        models.train(student, data, epochs, batch_size=batch_size, learning_rate=learning_rate,
                     schedule="cosine", progress=progress)
    else:
        distill(student, teacher, data, epochs, temperature, alpha, teacher_logits,
                batch_size=batch_size, learning_rate=learning_rate, schedule="cosine",
                progress=progress, loss_fn=loss_fn)
    return student


def student_run(cfg: dict, build: Callable[[], keras.Model], data: tuple[np.ndarray, np.ndarray],
                evals: dict[str, tuple[np.ndarray, np.ndarray]], teacher: keras.Model | None = None,
                teacher_logits: np.ndarray | None = None, logits: bool = False) -> dict:
    """One student of a sweep (compress_lib.sweep): train_seeded, then count errors per split.

    cfg holds "seed", "epochs", "loss" (one of STUDENT_LOSSES) and optionally "T", "alpha",
    "learning_rate"; "kd" and "seed_kd" need `teacher`. The row is cfg plus, for each name
    in `evals`, "<name>_errors" and "<name>_accuracy" (and "<name>_logits" if `logits`).
    Bind everything but cfg with functools.partial. Used by notebooks/03_distillation.ipynb.
    """
    loss = check_choice("cfg['loss']", cfg.get("loss"), STUDENT_LOSSES)
    if loss != "ce" and teacher is None:
        raise ValueError(f"loss {loss!r} distils: pass the teacher")
    if not isinstance(evals, dict) or not evals:
        raise TypeError(f"evals must be a non-empty dict of name -> (x, y), got {evals!r:.60}")
    evals = {name: check_labelled(split, f"evals[{name!r}]") for name, split in evals.items()}
    student = train_seeded(build, cfg["seed"], data, cfg["epochs"],
                           None if loss == "ce" else teacher, teacher_logits,
                           cfg.get("T", 20.0), cfg.get("alpha", 0.1),
                           learning_rate=cfg.get("learning_rate", 1e-3),
                           loss_fn=seed_kd_loss if loss == "seed_kd" else None)
    row = dict(cfg)
    for name, (x, y) in evals.items():
        z = models.predict_logits(student, x)
        check_label_range(y, z.shape[-1])
        right = z.argmax(axis=1) == y
        row[f"{name}_errors"], row[f"{name}_accuracy"] = int(np.sum(~right)), float(np.mean(right))
        if logits:
            row[f"{name}_logits"] = z
    return row
