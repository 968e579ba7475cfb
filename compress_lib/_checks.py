"""Argument checks shared by every module (private: not for notebooks).

One rule: a value of the wrong *type* raises TypeError, a value of the right type but
outside its allowed range raises ValueError. Every message names the argument, says what
was expected and shows what was given. NumPy-only: importing it does not import TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np

_INT = (int, np.integer)
_NUMBER = (int, float, np.integer, np.floating)


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """'in [low, high)', '>= low', '> low' or '<= high' for an error message."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def _in_range(value: float, low: float | None, high: float | None, low_open: bool,
              high_open: bool) -> bool:
    """Whether value lies in the (half-)open or closed interval."""
    above = low is None or (value > low if low_open else value >= low)
    below = high is None or (value < high if high_open else value <= high)
    return above and below


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """`value` as a Python int in [low, high] (bools are not ints)."""
    if isinstance(value, bool) or not isinstance(value, _INT):
        what = f"an int {_range_text(low, high, False, False)}".rstrip()
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    if not _in_range(int(value), low, high, False, False):
        raise ValueError(f"{name} must be an int {_range_text(low, high, False, False)}, "
                         f"got {value!r}")
    return int(value)


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a finite float in the given interval (ints allowed, bools not)."""
    where = _range_text(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise TypeError(f"{name} must be a number {where}".rstrip()
                        + f", got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)) or not _in_range(float(value), low, high, low_open,
                                                        high_open):
        raise ValueError(f"{name} must be a finite number {where}".rstrip() + f", got {value!r}")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0 (learning rates, temperatures, multipliers)."""
    return check_number(name, value, low=0.0, low_open=True)


def check_fraction(name: str, value: Any, include_high: bool = False) -> float:
    """A number in [0, 1) (or [0, 1] with include_high): sparsities, rates, alphas."""
    return check_number(name, value, 0.0, 1.0, high_open=not include_high)


def check_choice(name: str, value: Any, choices: Collection) -> Any:
    """One of `choices` (ValueError otherwise; the wrong type is a wrong value here)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_model(value: Any, name: str = "model", built: bool = False):
    """A keras.Model (TypeError otherwise); with built, one whose shapes are known."""
    import keras

    if not isinstance(value, keras.Model):
        raise TypeError(f"{name} must be a keras.Model, got {type(value).__name__}")
    if built and not value.built:
        raise ValueError(f"{name} must be built (give it an Input or call it once)")
    return value


def check_array(name: str, value: Any, min_ndim: int = 0, finite: bool = True,
                dtype: Any = np.float64) -> np.ndarray:
    """A non-empty numeric (or bool) array, finite unless told otherwise, cast to dtype."""
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.size == 0 or arr.ndim < min_ndim:
        raise ValueError(f"{name} must be a non-empty array with ndim >= {min_ndim}, "
                         f"got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr if dtype is None else arr.astype(dtype, copy=False)


def check_labels(name: str, value: Any, n: int | None = None) -> np.ndarray:
    """Integer class labels of shape (n,): one label per example, not one-hot or (n, 1)."""
    y = np.asarray(value)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must be integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (n,) with one integer label per example, "
                         f"got shape {y.shape}; use y.ravel() for (n, 1) or y.argmax(1) for "
                         "one-hot labels")
    if n is not None and len(y) != n:
        raise ValueError(f"x and {name} must have the same length, got {n} and {len(y)}")
    return y


def check_bool(name: str, value: Any) -> bool:
    """A bool (numpy bools too); TypeError for anything else, 0 and 1 included."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_numeric(name: str, value: Any, min_ndim: int = 0, finite: bool = True,
                  dtype: Any = np.float64) -> np.ndarray:
    """check_array, except that booleans are not numbers (as in check_number)."""
    arr = np.asarray(value)
    if arr.dtype == bool:
        raise TypeError(f"{name} must be a numeric array, got dtype bool")
    return check_array(name, arr, min_ndim=min_ndim, finite=finite, dtype=dtype)


def check_int_array(name: str, value: Any, low: int | None = None,
                    high: int | None = None) -> np.ndarray:
    """A non-empty integer array (bools are not ints) with every value in [low, high]."""
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must be a non-empty array, got shape {arr.shape}")
    if (low is not None and arr.min() < low) or (high is not None and arr.max() > high):
        raise ValueError(f"{name} must hold ints {_range_text(low, high, False, False)}, "
                         f"got range [{arr.min()}, {arr.max()}]")
    return arr


def check_same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Two arrays of exactly the same shape (no broadcasting)."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} "
                         f"and {np.shape(b)}")


def check_labelled(data: Any, name: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """data = (x, y): non-empty finite inputs and labels >= 0 of shape (n,)."""
    if not isinstance(data, tuple | list) or len(data) != 2:
        what = f"{type(data).__name__} of length {len(data)}" if isinstance(
            data, tuple | list) else type(data).__name__
        raise TypeError(f"{name} must be a pair (x, y) of inputs and integer labels, got {what}")
    x_name, y_name = ("x", "y") if name == "data" else (f"{name}'s x", f"{name}'s y")
    x = check_array(x_name, data[0], min_ndim=1, dtype=None)
    y = check_labels(y_name, data[1], len(x))
    if y.min() < 0:
        raise ValueError(f"{y_name} must hold class labels >= 0, got {y.min()}")
    return x, y


def check_callable(name: str, value: Any) -> Any:
    """A callable (a function, class or object with __call__)."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__} {value!r}")
    return value


def check_label_range(y: np.ndarray, num_classes: int, name: str = "y") -> np.ndarray:
    """Integer labels all below num_classes (the model's number of outputs)."""
    if np.max(y) >= num_classes:
        raise ValueError(f"{name} must hold class labels in [0, {num_classes}) for a model with "
                         f"{num_classes} outputs, got a label {np.max(y)}")
    return y


# a model point of the workbook-wide Pareto figure (results.model_points, tables.pareto_front)
POINT_KEYS = ("notebook", "table", "model", "accuracy", "bytes", "latency_ms", "source")
POINT_SOURCES = ("measured", "paper", "article")


def check_point(name: str, point: Any) -> dict:
    """A model point: a dict with POINT_KEYS, an accuracy in [0, 1], bytes/latency > 0 or None."""
    if not isinstance(point, dict):
        raise TypeError(f"{name} must be a dict with keys {POINT_KEYS} (a model point), "
                        f"got {type(point).__name__}")
    missing = [k for k in POINT_KEYS if k not in point]
    if missing:
        raise ValueError(f"{name} lacks the keys {missing} (a model point has {POINT_KEYS})")
    check_number(f"{name}'s accuracy", point["accuracy"], 0.0, 1.0)
    for key in ("bytes", "latency_ms"):
        if point[key] is not None:
            check_number(f"{name}'s {key}", point[key], 0.0, low_open=True)
    check_choice(f"{name}'s source", point["source"], POINT_SOURCES)
    return point
