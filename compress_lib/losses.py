"""Cross-entropy and (temperature) softmax in NumPy.

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import numpy as np

NUM_EPS = 1e-12


def _as_float_array(name: str, x: np.ndarray, min_ndim: int = 1) -> np.ndarray:
    """Convert to a finite float64 array with at least `min_ndim` dimensions."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim < min_ndim or a.size == 0:
        raise ValueError(f"{name} must be a non-empty array with ndim >= {min_ndim}, "
                         f"got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    return a


def _check_temperature(temperature: float) -> None:
    """Temperatures must be positive finite numbers."""
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")


def naive_softmax(logits: np.ndarray) -> np.ndarray:
    """exp(z) / sum exp(z) exactly as written: overflows for logits above ~709."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(np.asarray(logits, dtype=np.float64))
        return e / e.sum(axis=-1, keepdims=True)


def logsumexp(logits: np.ndarray) -> np.ndarray:
    """log(sum(exp(z))) over the last axis, stable: max(z) + log(sum(exp(z - max(z))))."""
    z = _as_float_array("logits", logits)
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """log softmax(z / T) over the last axis, computed stably."""
    _check_temperature(temperature)
    z = _as_float_array("logits", logits) / temperature
    return z - logsumexp(z)[..., None]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T) over the last axis; T > 1 softens, T < 1 sharpens."""
    return np.exp(log_softmax(logits, temperature))


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels -> one-hot float rows."""
    y = np.asarray(labels)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got range [{y.min()}, {y.max()}]")
    return np.eye(num_classes)[y]


def cross_entropy(y_true: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The article's formula 4.2.1, L = -sum_i y_i log p_i, per example (probs clipped at 1e-12)."""
    y = _as_float_array("y_true", y_true)
    p = _as_float_array("probs", probs)
    if y.shape != p.shape:
        raise ValueError(f"y_true and probs must have the same shape, got {y.shape} and {p.shape}")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("probs must lie in [0, 1]; pass logits to softmax_cross_entropy instead")
    return -(y * np.log(np.clip(p, NUM_EPS, 1.0))).sum(axis=-1)


def softmax_cross_entropy(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Cross-entropy from integer labels and logits, via log-softmax (no overflow, no log 0)."""
    z = _as_float_array("logits", logits, min_ndim=2)
    y = np.asarray(labels)
    if y.shape != z.shape[:-1]:
        raise ValueError(f"labels shape {y.shape} must equal logits shape without the class axis "
                         f"{z.shape[:-1]}")
    return -(one_hot(y, z.shape[-1]) * log_softmax(z)).sum(axis=-1)


def softmax_cross_entropy_grad(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """d CE / d logits = softmax(z) - one_hot(y), per example."""
    z = _as_float_array("logits", logits, min_ndim=2)
    return softmax(z) - one_hot(np.asarray(labels), z.shape[-1])


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats over the last axis."""
    p = _as_float_array("probs", probs)
    return -(p * np.log(np.clip(p, NUM_EPS, 1.0))).sum(axis=-1)
