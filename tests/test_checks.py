"""_checks: one rule, TypeError for the wrong type and ValueError for the wrong value."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compress_lib import _checks as c


@pytest.mark.parametrize("value", [1.5, "3", True, None, [1]])
def test_int_of_wrong_type_is_a_type_error(value):
    with pytest.raises(TypeError, match="epochs must be an int >= 1"):
        c.check_int("epochs", value, low=1)


@pytest.mark.parametrize("value", [0, -3, 11])
def test_int_out_of_range_is_a_value_error(value):
    with pytest.raises(ValueError, match=r"bits must be an int in \[1, 10\], got"):
        c.check_int("bits", value, 1, 10)


@given(st.integers(-1000, 1000))
def test_int_in_range_comes_back_as_python_int(value):
    low, high = -10, 10
    if low <= value <= high:
        assert c.check_int("n", np.int64(value), low, high) == value
        assert type(c.check_int("n", np.int64(value), low, high)) is int
    else:
        with pytest.raises(ValueError):
            c.check_int("n", value, low, high)


@pytest.mark.parametrize("value", ["0.5", True, None, np.array([0.5])])
def test_number_of_wrong_type_is_a_type_error(value):
    with pytest.raises(TypeError, match="sparsity must be a number"):
        c.check_fraction("sparsity", value)


@pytest.mark.parametrize("value", [1.0, -0.1, float("nan"), float("inf")])
def test_fraction_out_of_range_is_a_value_error(value):
    with pytest.raises(ValueError, match=r"sparsity must be a finite number in \[0, 1\)"):
        c.check_fraction("sparsity", value)
    assert c.check_fraction("alpha", 1, include_high=True) == 1.0


def test_positive_and_choice():
    assert c.check_positive("learning_rate", 1e-3) == 1e-3
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        c.check_positive("learning_rate", 0.0)
    with pytest.raises(ValueError, match="norm must be one of"):
        c.check_choice("norm", "l3", ("l1", "l2"))


def test_arrays_and_labels():
    with pytest.raises(TypeError, match="numeric array"):
        c.check_array("w", np.array(["a"]))
    with pytest.raises(ValueError, match="non-empty"):
        c.check_array("w", [])
    with pytest.raises(ValueError, match="finite"):
        c.check_array("w", [1.0, np.nan])
    assert c.check_array("w", [np.inf], finite=False).dtype == np.float64
    with pytest.raises(ValueError, match=r"shape \(n,\).*y.ravel\(\)"):
        c.check_labels("y", np.zeros((4, 1), int))
    with pytest.raises(ValueError, match="argmax"):
        c.check_labels("y", np.eye(4, dtype=int))
    with pytest.raises(TypeError, match="integer class labels"):
        c.check_labels("y", np.zeros(4))
    with pytest.raises(ValueError, match="same length"):
        c.check_labelled((np.zeros((3, 2)), np.zeros(4, int)))
    with pytest.raises(ValueError, match="finite"):
        c.check_labelled((np.full((2, 2), np.nan), np.zeros(2, int)))


def test_model():
    with pytest.raises(TypeError, match="model must be a keras.Model, got str"):
        c.check_model("mlp")
