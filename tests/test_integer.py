"""Tests for compress_lib.integer: fixed-point requantization and int8 inference vs LiteRT."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from compress_lib import export
from compress_lib import integer


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 0.999, allow_subnormal=False))
def test_quantize_multiplier_represents_m(m):
    """M0 in [2^30, 2^31) and M0 * 2^(shift - 31) equals M to 31-bit precision."""
    m0, shift = integer.quantize_multiplier(m)
    assert 2**30 <= int(m0) < 2**31
    assert int(m0) * 2.0 ** (int(shift) - 31) == pytest.approx(m, rel=2**-30)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**24), 2**24), st.floats(1e-4, 0.999, allow_subnormal=False))
def test_requantization_rounds_to_nearest(acc, m):
    """Both roundings are within one unit of acc * M and within one unit of each other."""
    m0, shift = integer.quantize_multiplier(m)
    single = int(integer.multiply_by_quantized_multiplier(np.array(acc), m0, shift, "single"))
    double = int(integer.multiply_by_quantized_multiplier(np.array(acc), m0, shift, "double"))
    exact = acc * int(m0) * 2.0 ** (int(shift) - 31)
    assert abs(single - exact) <= 0.5 + 1e-9 and abs(double - single) <= 1


def test_requantization_ties():
    """M = 1/4: single rounding breaks ties upwards; double rounding rounds 1.25 twice to 2."""
    m0, shift = integer.quantize_multiplier(0.25)
    assert (int(m0), int(shift)) == (2**30, -1)
    acc = np.array([6, -6, 5])  # exact: 1.5, -1.5, 1.25
    requantize = integer.multiply_by_quantized_multiplier
    np.testing.assert_array_equal(requantize(acc, m0, shift, "single"), [2, -1, 1])
    np.testing.assert_array_equal(requantize(acc, m0, shift, "double"), [2, -2, 2])



def test_integer_only_inference_matches_litert(trained, mnist):
    """Our numpy int8 pipeline equals LiteRT's reference kernels bit for bit, and our own
    quantizer reproduces the converter's parameters."""
    (x, _), (xt, _) = mnist
    buf = export.to_tflite(trained, "int8", representative=x[:200])
    layers = integer.int_network_from_tflite(buf)
    ours = integer.int_network_forward(layers, xt)
    np.testing.assert_array_equal(ours, export.predict_tflite(buf, xt, raw=True,
                                                              resolver="reference"))
    optimized = export.predict_tflite(buf, xt, raw=True, resolver="builtin")
    assert np.abs(integer.int_network_forward(layers, xt, "double").astype(int)
                  - optimized).max() <= 1
    own = integer.int_network_forward(integer.int_network_from_keras(trained, x[:200]), xt)
    assert np.abs(own.astype(int) - ours).max() <= 1
    assert np.mean(own.argmax(1) == ours.argmax(1)) > 0.99


@pytest.mark.parametrize("call, error, match", [
    (lambda: integer.multiply_by_quantized_multiplier(1, 1, 0, rounding="up"), ValueError,
     "rounding"),
    (lambda: integer.quantize_multiplier(-1.0), ValueError, "multipliers"),
    (lambda: integer.int_network_forward([], np.zeros((1, 2))), TypeError, "IntDense"),
])
def test_bad_input(call, error, match):
    """Bad roundings, multipliers and layer lists get clear errors."""
    with pytest.raises(error, match=match):
        call()
