"""Cross-entropy and (temperature) softmax in NumPy; knowledge-distillation losses.

Every loss takes the labels first, like Keras's (y_true, y_pred): `loss(labels, logits)`,
and for distillation `loss(labels, student_logits, teacher_logits, ...)`. The NumPy part
imports without TensorFlow. The distillation losses at the end (kd_terms, kd_loss,
seed_kd_loss) use keras.ops (imported when called), so they are differentiable; they are
taught in notebooks/03_distillation.ipynb. Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import numpy as np

from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_int_array
from compress_lib._checks import check_numeric
from compress_lib._checks import check_positive
from compress_lib._checks import check_same_shape

__all__ = ["NUM_EPS", "cross_entropy", "entropy", "kd_loss", "kd_terms", "log_softmax",
           "logsumexp", "naive_softmax", "one_hot", "seed_cross_entropy", "seed_kd_loss",
           "softmax", "softmax_cross_entropy", "softmax_cross_entropy_grad"]

NUM_EPS = 1e-12


def naive_softmax(logits: np.ndarray) -> np.ndarray:
    """exp(z) / sum exp(z) exactly as written: overflows for logits above ~709."""
    z = check_numeric("logits", logits, min_ndim=1)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)


def logsumexp(logits: np.ndarray) -> np.ndarray:
    """log(sum(exp(z))) over the last axis, stable: max(z) + log(sum(exp(z - max(z))))."""
    z = check_numeric("logits", logits, min_ndim=1)
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """log softmax(z / T) over the last axis, computed stably."""
    temperature = check_positive("temperature", temperature)
    z = check_numeric("logits", logits, min_ndim=1) / temperature
    return z - logsumexp(z)[..., None]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T) over the last axis; T > 1 softens, T < 1 sharpens."""
    return np.exp(log_softmax(logits, temperature))


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels -> one-hot float rows."""
    num_classes = check_int("num_classes", num_classes, low=1)
    y = check_int_array("labels", labels, 0, num_classes - 1)
    return np.eye(num_classes)[y]


def cross_entropy(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The standard cross-entropy L = -sum_k y_k log p_k over classes, per example.

    `labels` are one-hot (or soft) target rows of the same shape as `probs` (clipped at
    1e-12). The article's formula 4.2.1 as printed is a different sum: seed_cross_entropy.
    """
    y = check_numeric("labels", labels, min_ndim=1)
    p = check_numeric("probs", probs, min_ndim=1)
    check_same_shape("labels", y, "probs", p)
    if np.any(y < 0) or np.any(y > 1):
        raise ValueError("labels must be one-hot or soft target rows with values in [0, 1]; "
                         "pass integer labels to softmax_cross_entropy instead")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probs must lie in [0, 1]; pass logits to softmax_cross_entropy instead")
    return -(y * np.log(np.clip(p, NUM_EPS, 1.0))).sum(axis=-1)


def seed_cross_entropy(labels: np.ndarray, probs: np.ndarray) -> float:
    """The article's formula 4.2.1 read literally: -(1/m) sum_i y_i log p(yhat_i | theta).

    y_i is sample i's integer label (a scalar), yhat_i = argmax_k probs[i, k] the model's
    prediction and p(yhat_i | theta) = max_k probs[i, k] its probability, as the article
    defines the symbols. It is not the standard cross-entropy (`cross_entropy`): class-0
    samples add nothing, label 9 weighs nine times label 1, and whether the prediction is
    right never enters. Taught in notebooks/01_losses.ipynb.
    """
    p = check_numeric("probs", probs, min_ndim=2)
    if p.ndim != 2 or np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"probs must be (samples, classes) probabilities in [0, 1], got shape "
                         f"{p.shape}, range [{p.min():g}, {p.max():g}]")
    y = check_int_array("labels", labels, 0, p.shape[1] - 1)
    if y.shape != p.shape[:1]:
        raise ValueError(f"labels must have shape {p.shape[:1]} (one integer per sample), "
                         f"got {y.shape}")
    return float((y * -np.log(np.clip(p.max(axis=1), NUM_EPS, 1.0))).mean())


def _logits_and_labels(labels: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checked logits (..., classes) and integer labels of shape logits.shape[:-1]."""
    z = check_numeric("logits", logits, min_ndim=2)
    y = np.asarray(labels)
    if y.shape != z.shape[:-1]:
        raise ValueError(f"labels shape {y.shape} must equal logits shape without the class axis "
                         f"{z.shape[:-1]}")
    return z, y


def softmax_cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Cross-entropy from integer labels and logits, via log-softmax (no overflow, no log 0)."""
    z, y = _logits_and_labels(labels, logits)
    return -(one_hot(y, z.shape[-1]) * log_softmax(z)).sum(axis=-1)


def softmax_cross_entropy_grad(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """d CE / d logits = softmax(z) - one_hot(y), per example."""
    z, y = _logits_and_labels(labels, logits)
    return softmax(z) - one_hot(y, z.shape[-1])


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats over the last axis."""
    p = check_numeric("probs", probs, min_ndim=1)
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probs must lie in [0, 1]; pass softmax(logits), not logits")
    return -(p * np.log(np.clip(p, NUM_EPS, 1.0))).sum(axis=-1)


# --- Knowledge distillation (notebooks/03_distillation.ipynb) --------------------------------
# These take tensors (or arrays) and are differentiable with keras.ops, so that the same
# function is used in a GradientTape demo, in the Distiller and in the tests.


def _check_kd_shapes(labels, student_logits, teacher_logits) -> None:
    """Student and teacher logits must have the same (batch, classes) shape; labels (batch,)."""
    s_shape, t_shape = tuple(student_logits.shape), tuple(teacher_logits.shape)
    if len(s_shape) != 2 or s_shape != t_shape:
        raise ValueError("student_logits and teacher_logits must both have shape (batch, classes), "
                         f"got {s_shape} and {t_shape}")
    if tuple(labels.shape) != s_shape[:1]:
        raise ValueError(f"labels must have shape {s_shape[:1]} (one integer per example), "
                         f"got {tuple(labels.shape)}")


def _concrete(value) -> np.ndarray | None:
    """value as a numpy array if it holds values now (numpy, lists, eager tensors), else None."""
    if isinstance(value, np.ndarray | np.generic | list | tuple | int | float):
        return np.asarray(value)
    if not hasattr(value, "numpy"):
        return None
    import tensorflow as tf

    return np.asarray(value.numpy()) if tf.executing_eagerly() else None


def _check_kd_values(labels, student_logits, teacher_logits) -> None:
    """Finite logits and integer labels in [0, classes), for concrete inputs only.

    Inside a traced train step (the Distiller's) the inputs are symbolic: nothing is checked.
    """
    named = (("student_logits", student_logits), ("teacher_logits", teacher_logits),
             ("labels", labels))
    for name, value in named:
        if value is None:
            raise TypeError(f"{name} must be an array or tensor, got None")
    zs, zt, y = (_concrete(value) for _, value in named)
    for name, z in (("student_logits", zs), ("teacher_logits", zt)):
        if z is not None:
            check_numeric(name, z, dtype=None)
    if y is not None:
        high = zs.shape[-1] - 1 if zs is not None and zs.ndim == 2 else None
        check_int_array("labels", y, 0, high)


def _kd_prepare(labels, student_logits, teacher_logits, temperature: float):
    """Validate KD arguments and convert them to int32 / float32 tensors."""
    from keras import ops

    check_positive("temperature", temperature)
    _check_kd_values(labels, student_logits, teacher_logits)
    y = ops.convert_to_tensor(labels, dtype="int32")
    zs = ops.convert_to_tensor(student_logits, dtype="float32")
    zt = ops.convert_to_tensor(teacher_logits, dtype="float32")
    _check_kd_shapes(y, zs, zt)
    return y, zs, zt


def kd_terms(labels, student_logits, teacher_logits, temperature: float):
    """Per-example (hard CE with labels at T=1, T^2 * KL(teacher_T || student_T))."""
    from keras import ops

    y, zs, zt = _kd_prepare(labels, student_logits, teacher_logits, temperature)
    hard = ops.sparse_categorical_crossentropy(y, zs, from_logits=True)
    # At high T the KL is a tiny difference of O(1) log-probabilities: take it in float64.
    log_ps = ops.log_softmax(ops.cast(zs, "float64") / temperature, axis=-1)
    log_pt = ops.log_softmax(ops.cast(zt, "float64") / temperature, axis=-1)
    kl = ops.sum(ops.exp(log_pt) * (log_pt - log_ps), axis=-1)
    return hard, ops.cast(temperature**2 * kl, "float32")


def kd_loss(labels, student_logits, teacher_logits, temperature: float = 4.0,
            alpha: float = 0.1):
    """Hinton et al. 2015: mean of alpha * CE(y, s) + (1 - alpha) * T^2 * KL(t_T || s_T)."""
    alpha = check_fraction("alpha", alpha, include_high=True)
    from keras import ops

    hard, soft = kd_terms(labels, student_logits, teacher_logits, temperature)
    return ops.mean(alpha * hard + (1.0 - alpha) * soft)


def seed_kd_loss(labels, student_logits, teacher_logits):
    """The source article's formula 4.2.3: -mean_i sum_j [y_ij log s_ij + (1-y_ij) log t_ij].

    ("seed" = the source article this workbook starts from.) As printed, the article's
    parenthesis opens before sum_j, which taken literally covers only the first term and
    leaves j undefined in the second; this reads the sum as covering both terms, the only
    reading in which the formula is defined. y is one-hot, s and t the student's and the
    teacher's softmax at T = 1; there is no temperature and no alpha. The second term holds
    only the teacher, so the gradient with respect to the student is plain cross-entropy's.
    """
    from keras import ops

    y, zs, zt = _kd_prepare(labels, student_logits, teacher_logits, 1.0)
    y_hot = ops.one_hot(y, ops.shape(zs)[-1])
    first = ops.sum(y_hot * ops.log_softmax(zs, axis=-1), axis=-1)
    second = ops.sum((1.0 - y_hot) * ops.log_softmax(zt, axis=-1), axis=-1)
    return -ops.mean(first + second)
