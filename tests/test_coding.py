"""Tests of compress_lib.coding's sparse storage: round trips and exact bit counts."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from compress_lib import coding as C  # noqa: E402

SPARSE = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=12),
                    elements=st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.0, 1.5, -2.25, 3e-3]))


@settings(max_examples=200, deadline=None)
@given(w=SPARSE, bits=st.integers(1, 8))
def test_relative_roundtrip_and_bits(w, bits):
    code = C.relative_encode(w, bits)
    np.testing.assert_array_equal(C.relative_decode(code), w)
    assert code.gaps.max(initial=0) <= 2 ** bits - 1
    nnz = np.count_nonzero(w)
    assert code.values.size == nnz + code.fillers
    assert C.relative_bits(code, 32) == (nnz + code.fillers) * (bits + 32)


def _encode_by_loop(w: np.ndarray, bits: int) -> tuple[list[int], list[float]]:
    """Independent reference: walk the array, storing a filler zero when a gap is full."""
    gaps, values, run = [], [], 0
    for v in w.ravel():
        if v != 0:
            gaps.append(run)
            values.append(float(v))
            run = 0
        elif run == 2 ** bits - 1:
            gaps.append(run)
            values.append(0.0)
            run = 0
        else:
            run += 1
    while values and values[-1] == 0.0:  # fillers after the last nonzero are not stored
        gaps.pop()
        values.pop()
    return gaps, values


@settings(max_examples=200, deadline=None)
@given(w=SPARSE, bits=st.integers(1, 5))
def test_relative_matches_loop_reference(w, bits):
    code = C.relative_encode(w, bits)
    gaps, values = _encode_by_loop(w, bits)
    assert code.gaps.tolist() == gaps
    assert code.values.tolist() == values


def test_relative_small_example():
    # positions 0, 3, 20, 39 in 40 slots, 3-bit gaps (at most 7 zeros per entry)
    w = np.zeros(40, np.float32)
    w[[0, 3, 20, 39]] = [1, 2, 3, 4]
    code = C.relative_encode(w, 3)
    np.testing.assert_array_equal(code.gaps, [0, 2, 7, 7, 0, 7, 7, 2])
    np.testing.assert_array_equal(code.values, [1, 2, 0, 0, 3, 0, 0, 4])
    assert code.fillers == 4
    assert C.relative_bits(code, value_bits=8) == 8 * 11


def test_relative_trailing_zeros_and_empty():
    code = C.relative_encode(np.zeros((3, 5)), 2)
    assert code.values.size == 0 and C.relative_bits(code) == 0
    np.testing.assert_array_equal(C.relative_decode(code), np.zeros((3, 5)))
    w = np.zeros(100)
    w[0] = 1.0
    assert C.relative_encode(w, 2).values.size == 1  # trailing zeros cost nothing


@settings(max_examples=200, deadline=None)
@given(w=SPARSE, value_bits=st.integers(1, 32))
def test_csr_roundtrip_and_bits(w, value_bits):
    csr = C.csr_encode(w)
    np.testing.assert_array_equal(C.csr_decode(csr), w)
    rows = 1 if w.ndim < 2 else int(np.prod(w.shape[:-1]))
    cols = w.size // rows
    nnz = np.count_nonzero(w)
    assert csr.row_ptr.size == rows + 1 and csr.values.size == nnz
    expected = (nnz * (value_bits + max(1, int(np.ceil(np.log2(cols)))))
                + (rows + 1) * max(1, int(np.ceil(np.log2(nnz + 1)))))
    assert C.csr_bits(csr, value_bits) == expected


def test_csr_small_example():
    w = np.array([[0, 5, 0], [0, 0, 0], [7, 0, 8]], np.float32)
    csr = C.csr_encode(w)
    np.testing.assert_array_equal(csr.values, [5, 7, 8])
    np.testing.assert_array_equal(csr.col_index, [1, 0, 2])
    np.testing.assert_array_equal(csr.row_ptr, [0, 1, 1, 3])
    assert C.csr_bits(csr, 32) == 3 * (32 + 2) + 4 * 2


@pytest.mark.parametrize(("n", "bits"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (256, 8),
                                         (257, 9)])
def test_address_bits(n, bits):
    assert C.address_bits(n) == bits


def test_sparse_storage_row():
    rng = np.random.default_rng(0)
    w = (rng.normal(size=(300, 100)) * (rng.random((300, 100)) < 0.08)).astype(np.float32)
    row = C.sparse_storage(w, index_bits=5)
    assert row["weights"] == 30000 and row["dense_bits"] == 30000 * 32
    assert row["nonzero"] == np.count_nonzero(w)
    assert row["relative_bits"] < row["csr_bits"] < row["dense_bits"]
    assert row["gzip_bytes"] < row["dense_bits"] // 8


def test_model_storage_and_file_bytes():
    from compress_lib import models

    model = models.mlp((8,))
    rows = C.model_storage(model)
    assert rows[-1]["weight"] == "total"
    assert rows[-1]["weights"] == sum(r["weights"] for r in rows[:-1]) == model.count_params()
    raw, zipped = C.keras_file_bytes(model)
    assert raw > 4 * model.count_params() and zipped > 0
    models.train(model, (np.zeros((4, 784)), np.zeros(4, int)), 1, progress=False)  # Adam slots
    assert C.keras_file_bytes(model)[0] < raw + 4 * model.count_params()  # no optimizer state


def test_bad_input():
    with pytest.raises(ValueError, match=r"index_bits must be an int in \[1, 32\]"):
        C.relative_encode(np.ones(3), 0)
    with pytest.raises(ValueError, match="value_bits"):
        C.relative_bits(C.relative_encode(np.ones(3)), 0)
    with pytest.raises(ValueError, match="w must be a non-empty array"):
        C.csr_encode(np.array([]))
    with pytest.raises(TypeError, match="index_bits must be an int"):
        C.relative_encode(np.ones(3), 2.0)
    with pytest.raises(TypeError, match="n must be an int"):
        C.address_bits(3.0)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        C.address_bits(0)
    with pytest.raises(ValueError, match=r"level must be an int in \[0, 9\]"):
        C.gzip_size(b"abc", 10)
    with pytest.raises(TypeError, match="keras.Model"):
        C.model_storage(np.ones(3))
    with pytest.raises(TypeError, match="data must be bytes"):
        C.gzip_size(np.ones(3))


def test_gzip_sizes():
    zeros = np.zeros(10000, np.float32)
    assert C.gzip_array_bytes(zeros) == C.gzip_size(zeros.tobytes()) < 200
    noise = np.random.default_rng(0).random(10000).astype(np.float32)
    assert C.gzip_array_bytes(noise) > 30000


def test_storage_summary_in_kilobytes():
    from compress_lib import models

    model = models.mlp((8,))
    row = C.storage_summary(model, b"\0" * 4000)
    assert row["float32_kB"] == 4 * model.count_params() / 1e3
    assert row["tflite_kB"] == 4.0 and row["tflite_gzip_kB"] < 0.1
    assert row["nonzero"] == C.model_storage(model)[-1]["nonzero"]
    assert row["keras_file_kB"] > row["float32_kB"]
    with pytest.raises(TypeError, match="tflite must be bytes"):
        C.storage_summary(model, "model.tflite")
