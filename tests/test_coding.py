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


# ---- Huffman coding and Deep Compression's per-layer code

import heapq  # noqa: E402
from fractions import Fraction  # noqa: E402

SYMBOLS = hnp.arrays(np.int64, st.integers(2, 400),
                     elements=st.one_of(st.integers(0, 3), st.integers(0, 40)))
COUNTS = st.lists(st.one_of(st.just(0), st.integers(1, 5), st.integers(1, 10 ** 6)),
                  min_size=2, max_size=60).filter(lambda c: sum(x > 0 for x in c) >= 2)


def _reference_cost(counts) -> int:
    """Optimal total code length, independently: the sum of every merged weight (heapq)."""
    heap = [int(c) for c in counts if c > 0]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def _code_strings(code: C.Huffman) -> dict[int, str]:
    """Each coded symbol's code as a string of bits."""
    return {s: format(int(code.codes[s]), f"0{code.lengths[s]}b")
            for s in np.flatnonzero(code.lengths)}


@settings(max_examples=200, deadline=None)
@given(symbols=SYMBOLS)
def test_huffman_roundtrip(symbols):
    counts = np.bincount(symbols)
    if np.count_nonzero(counts) < 2:
        with pytest.raises(ValueError, match="counts must have at least two symbols that occur"):
            C.huffman_code(counts)
        return
    code = C.huffman_code(counts)
    data, n_bits = C.huffman_encode(symbols, code)
    assert n_bits == C.huffman_bits(counts, code) == int(np.sum(code.lengths[symbols]))
    assert len(data) == -(-n_bits // 8)
    np.testing.assert_array_equal(C.huffman_decode(data, symbols.size, code), symbols)
    np.testing.assert_array_equal(C.huffman_decode(data, 1, code), symbols[:1])  # a prefix
    with pytest.raises(ValueError, match="data is truncated"):
        C.huffman_decode(data[:-1], symbols.size, code)


@settings(max_examples=200, deadline=None)
@given(counts=COUNTS)
def test_huffman_is_prefix_free_complete_and_optimal(counts):
    counts = np.array(counts)
    code = C.huffman_code(counts)
    assert np.array_equal(code.lengths > 0, counts > 0)  # a code for exactly the symbols seen
    words = _code_strings(code)
    assert not any(a != b and wb.startswith(wa) for a, wa in words.items()
                   for b, wb in words.items())
    assert sum(Fraction(1, 2 ** int(n)) for n in code.lengths[code.lengths > 0]) == 1  # Kraft
    total = C.huffman_bits(counts, code)
    assert total == _reference_cost(counts)
    h, average = C.entropy(counts), total / counts.sum()
    assert h - 1e-9 <= average < h + 1


def test_huffman_canonical_codes_by_hand():
    # counts 5, 2, 1, 1: merge 1+1 -> 2, then 2+2 -> 4, then 4+5 -> 9: lengths 1, 2, 3, 3.
    # Canonical codes in order of (length, symbol): 0, 10, 110, 111. Cost 5*1+2*2+1*3+1*3 = 15.
    code = C.huffman_code(np.array([5, 2, 1, 1]))
    np.testing.assert_array_equal(code.lengths, [1, 2, 3, 3])
    assert _code_strings(code) == {0: "0", 1: "10", 2: "110", 3: "111"}
    assert C.huffman_bits(np.array([5, 2, 1, 1]), code) == 15
    assert code.table_bits() == 4 * 2  # lengths 0..3 need 2 bits, one field per symbol
    # 0 0 1 2 3 0 -> 0 0 10 110 111 0 = 00101101 110 -> bytes 0x2d, 0xc0 (zero-padded)
    assert C.huffman_encode(np.array([0, 0, 1, 2, 3, 0]), code) == (b"\x2d\xc0", 11)
    assert C.entropy(np.array([1, 1, 1, 1])) == 2.0 and C.entropy(np.array([0, 7])) == 0.0


def test_huffman_codes_up_to_64_bits():
    fib = [1, 1]
    while len(fib) < 66:
        fib.append(fib[-1] + fib[-2])
    code = C.huffman_code(np.array(fib[:65]))  # Fibonacci counts: the longest codes, 64 bits
    assert code.lengths.max() == 64
    symbols = np.array([0, 1, 64, 2, 1, 0])
    data, n_bits = C.huffman_encode(symbols, code)
    assert n_bits == 64 + 64 + 1 + 63 + 64 + 64
    np.testing.assert_array_equal(C.huffman_decode(data, symbols.size, code), symbols)
    with pytest.raises(ValueError, match="code of 65 bits, more than the 64"):
        C.huffman_code(np.array(fib))


@st.composite
def _sparse_indices(draw) -> np.ndarray:
    """Codebook indices of a pruned kernel (0 = pruned) at a drawn density: long zero runs."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=12))
    density = draw(st.sampled_from([0.01, 0.05, 0.1, 0.3, 0.8]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    return np.where(rng.random(shape) < density, rng.choice([1, 2, 3, 5], shape), 0)


INDICES = _sparse_indices()


@settings(max_examples=200, deadline=None)
@given(indices=INDICES, index_bits=st.integers(1, 5), bias_size=st.integers(0, 4))
def test_layer_roundtrip_is_bit_exact(indices, index_bits, bias_size):
    codebook = np.array([0.0, -0.5, 0.1, 3e-3, 7.0, -1e-7], np.float32)
    bias = np.linspace(-1, 1, bias_size)
    rel = C.relative_encode(indices, index_bits)
    for stream, name in ((rel.values, "weight"), (rel.gaps, "index")):
        if np.unique(stream).size < 2:  # one distinct symbol: no Huffman code, and it says so
            with pytest.raises(ValueError, match=f"the {name} .* stream cannot be Huffman"):
                C.encode_layer(codebook, indices, bias, 3, index_bits)
            return
    code = C.encode_layer(codebook, indices, bias, 3, index_bits)
    kernel, b = C.decode_layer(code)
    assert kernel.dtype == np.float32 and kernel.shape == indices.shape
    assert kernel.tobytes() == codebook[indices].tobytes()  # bit-exact
    np.testing.assert_array_equal(b, bias.astype(np.float32))
    bits = C.layer_bits(code)
    assert bits["kept"] == np.count_nonzero(indices) and bits["fillers"] == rel.fillers
    assert bits["entries"] == code.n_entries == rel.values.size
    assert bits["weight_bits_huffman"] == C.huffman_bits(np.bincount(rel.values, minlength=6),
                                                         code.weight_code)


def test_layer_hand_count():
    # Kernel 1x10, codebook [0, -0.5, 0.75] (index 0 = zero), weight_bits 2, index_bits 2
    # (a gap holds 0..3 zeros). Indices by position: 0 1 0 0 0 0 0 2 1 0.
    # Stored entries (gap, codebook index): (1, 1) for position 1; position 7 is 5 zeros
    # later, more than 3: a filler (3, 0) at position 5, then (1, 2); then (0, 1) for
    # position 8. The trailing zero is not stored. 4 entries: 3 kept + 1 filler.
    # Weight stream 1 0 2 1: counts [1, 2, 1] -> lengths [2, 1, 2]; canonical codes
    # symbol 1 = "0", 0 = "10", 2 = "11"; stream "0 10 11 0" = 6 bits (0x58 padded).
    # Index stream 1 3 1 0: counts [1, 2, 0, 1] -> lengths [2, 1, 0, 2]; codes 1 = "0",
    # 0 = "10", 3 = "11"; stream "0 11 0 10" = 6 bits (0x68 padded).
    # Tables: lengths 0..2 need 2 bits; 3 weight symbols + 4 gap symbols = 14 bits.
    # Codebook 3 x 32 = 96 bits, one bias 32 bits. Original 32 x (10 + 1) = 352 bits.
    # P+Q: 4x2 + 4x2 + 96 + 32 = 144 bits; P+Q+H: 6 + 6 + 96 + 32 + 14 = 154 bits.
    indices = np.array([[0, 1, 0, 0, 0, 0, 0, 2, 1, 0]])
    code = C.encode_layer(np.array([0.0, -0.5, 0.75]), indices, np.array([0.25]), 2, 2)
    assert _code_strings(code.weight_code) == {1: "0", 0: "10", 2: "11"}
    assert _code_strings(code.index_code) == {1: "0", 0: "10", 3: "11"}
    assert (code.weight_stream, code.index_stream) == (b"\x58", b"\x68")
    assert C.layer_bits(code) == {
        "weights": 10, "biases": 1, "kept": 3, "fillers": 1, "entries": 4,
        "weight_bits_fixed": 8, "weight_bits_huffman": 6, "index_bits_fixed": 8,
        "index_bits_huffman": 6, "codebook_bits": 96, "bias_bits": 32, "table_bits": 14,
        "original_bits": 352, "fixed_bits": 144, "huffman_bits": 154}
    layer, total = C.compressed_size({"fc": code})
    assert layer["layer"] == "fc" and total["layer"] == "total"
    assert layer["kept_pct"] == 30.0 and layer["weight_bits"] == layer["index_bits"] == 2
    assert layer["weight_bits_huffman"] == layer["index_bits_huffman"] == 6 / 4
    assert layer["rate_pq_pct"] == 100 * 144 / 352 and layer["rate_pqh_pct"] == 100 * 154 / 352
    assert (layer["original_bytes"], layer["compressed_bytes"]) == (44, 20)  # 154 / 8 = 19.25
    assert layer["ratio"] == 352 / 154
    assert layer["weight_stream_bits"] == layer["index_stream_bits"] == 6
    assert {k: v for k, v in total.items() if k != "layer"} == {
        k: v for k, v in layer.items() if k != "layer"}


def test_compressed_size_total_row_weights_by_entries():
    rng = np.random.default_rng(1)
    conv = np.where(rng.random((5, 5, 1, 6)) < 0.5, rng.integers(1, 200, (5, 5, 1, 6)), 0)
    fc = np.where(rng.random((300, 100)) < 0.08, rng.integers(1, 32, (300, 100)), 0)
    codes = {"conv": C.encode_layer(np.arange(200.0), conv, np.zeros(6), 8),
             "fc": C.encode_layer(np.arange(32.0), fc, np.zeros(100), 5)}
    rows = C.compressed_size(codes)
    assert [r["layer"] for r in rows] == ["conv", "fc", "total"]
    n = [codes["conv"].n_entries, codes["fc"].n_entries]
    total = rows[-1]
    assert total["weight_bits"] == pytest.approx((8 * n[0] + 5 * n[1]) / sum(n))
    assert total["weight_bits_huffman"] == pytest.approx(
        (codes["conv"].weight_stream_bits + codes["fc"].weight_stream_bits) / sum(n))
    bits = [C.layer_bits(c) for c in codes.values()]
    for key in bits[0]:
        name = {"weight_bits_huffman": "weight_stream_bits",
                "index_bits_huffman": "index_stream_bits"}.get(key, key)
        assert total[name] == bits[0][key] + bits[1][key]
    assert total["rate_pqh_pct"] == 100 * total["huffman_bits"] / total["original_bits"]
    assert total["ratio"] == pytest.approx(100 / total["rate_pqh_pct"])
    assert rows[1]["weight_bits_huffman"] < 5 and rows[1]["index_bits_huffman"] < 5


def test_layer_of_lenet_300_100_size_is_fast():
    import time

    rng = np.random.default_rng(0)
    indices = np.where(rng.random((784, 300)) < 0.08, rng.integers(1, 32, (784, 300)), 0)
    codebook = np.concatenate([[0.0], rng.normal(size=31)]).astype(np.float32)
    start = time.perf_counter()
    kernel, _ = C.decode_layer(C.encode_layer(codebook, indices, np.zeros(300), 5))
    assert time.perf_counter() - start < 2.0  # about 0.01 s on one core
    assert np.array_equal(kernel, codebook[indices])


def test_coding_bad_input():
    book, idx = np.array([0.0, 1.0, 2.0]), np.array([[0, 1, 2, 0, 1]])
    cases = [
        (lambda: C.huffman_code(np.array([], np.int64)), ValueError, "counts must be a non-empty"),
        (lambda: C.huffman_code(np.array([5])), ValueError, "at least two symbols that occur"),
        (lambda: C.huffman_code(np.array([0, 9, 0])), ValueError, "at least two symbols"),
        (lambda: C.huffman_code(np.array([-1, 2])), ValueError, "counts must hold ints >= 0"),
        (lambda: C.huffman_code(np.array([1.0, np.nan])), TypeError, "counts must be an integer"),
        (lambda: C.huffman_code(np.ones((2, 2), int)), ValueError, "counts must be 1-D"),
        (lambda: C.entropy(np.zeros(3, int)), ValueError, "counts must have at least one"),
        (lambda: C.encode_layer(book, idx, None, 0), ValueError, "weight_bits must be an int"),
        (lambda: C.encode_layer(book, idx, None, 17), ValueError, "weight_bits must be an int"),
        (lambda: C.encode_layer(book, idx, None, True), TypeError, "weight_bits must be an int"),
        (lambda: C.encode_layer(book, idx, None, 2, 0), ValueError, "index_bits must be an int"),
        (lambda: C.encode_layer(book, idx, None, 2, 17), ValueError, "index_bits must be an int"),
        (lambda: C.encode_layer(book, idx, None, 2, False), TypeError, "index_bits must be"),
        (lambda: C.encode_layer(book, idx + 1, None, 2), ValueError, r"indices must hold ints in"),
        (lambda: C.encode_layer(book, idx[:, :0], None, 2), ValueError, "indices must be a non-"),
        (lambda: C.encode_layer(book, idx * 1.0, None, 2), TypeError, "indices must be an integer"),
        (lambda: C.encode_layer(book + 1, idx, None, 2), ValueError, r"codebook\[0\] must be 0"),
        (lambda: C.encode_layer(np.zeros(0), idx, None, 2), ValueError, "codebook must be a non-"),
        (lambda: C.encode_layer([0, np.nan], idx % 2, None, 2), ValueError, "codebook must cont"),
        (lambda: C.encode_layer(book, idx, None, 1), ValueError, "codebook must have at most 2"),
        (lambda: C.encode_layer(book, idx, [np.inf], 2), ValueError, "bias must contain only"),
        (lambda: C.encode_layer(book, np.ones((3, 3), int), None, 2), ValueError,
         r"the weight \(codebook index\) stream cannot be Huffman-coded: counts must have at"),
        (lambda: C.encode_layer(book, np.array([1, 2, 1, 2]), None, 2), ValueError,
         r"the index \(relative gap\) stream cannot be Huffman-coded"),
        (lambda: C.huffman_encode(np.array([0, 4]), C.huffman_code(np.array([1, 1, 0, 1]))),
         ValueError, "symbols must all have a code .* got symbol 4"),
        (lambda: C.huffman_encode(np.array([2]), C.huffman_code(np.array([1, 1, 0]))),
         ValueError, "got symbol 2, which has none"),
        (lambda: C.huffman_encode(np.array([0]), "code"), TypeError, "code must be a Huffman"),
        (lambda: C.huffman_decode("01", 1, C.huffman_code(np.array([1, 1]))), TypeError, "data"),
        (lambda: C.huffman_decode(b"", 1, C.huffman_code(np.array([1, 1]))), ValueError,
         "data is truncated"),
        (lambda: C.huffman_decode(b"\0", -1, C.huffman_code(np.array([1, 1]))), ValueError,
         "n_symbols must be an int >= 0"),
        (lambda: C.huffman_bits(np.array([1, 1, 1]), C.huffman_code(np.array([1, 1]))),
         ValueError, r"counts must have one count per symbol of code \(2\)"),
        (lambda: C.huffman_bits(np.array([1, 1, 1]), C.huffman_code(np.array([1, 1, 0]))),
         ValueError, "counts must be zero for symbols without a code, got 1 for symbol 2"),
        (lambda: C.decode_layer(idx), TypeError, "code must be a LayerCode"),
        (lambda: C.layer_bits(None), TypeError, "code must be a LayerCode"),
        (lambda: C.compressed_size({}), ValueError, "codes must hold at least one layer"),
        (lambda: C.compressed_size([1]), TypeError, "codes must be a dict"),
        (lambda: C.compressed_size({"fc": 1}), TypeError, r"codes\['fc'\] must be a LayerCode"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()


def test_decode_layer_refuses_a_truncated_stream():
    from dataclasses import replace

    code = C.encode_layer(np.array([0.0, 1.0, 2.0]), np.array([[0, 1, 2, 0, 1, 0, 0, 2]]),
                          None, 2, 1)
    assert C.decode_layer(code)[1].shape == (0,)
    with pytest.raises(ValueError, match="address 8 slots, more than the kernel's 6"):
        C.decode_layer(replace(code, shape=(2, 3)))
    with pytest.raises(ValueError, match="data is truncated"):
        C.decode_layer(replace(code, index_stream=code.index_stream[:-1]))


def test_stream_entropy_hand_count_and_bounds():
    # test_layer_hand_count's layer: weight stream 1 0 2 1 and gap stream 1 3 1 0, both with
    # counts {2, 1, 1}: entropy 0.5 * 1 + 2 * 0.25 * 2 = 1.5 bits, Huffman 6 bits / 4 = 1.5.
    indices = np.array([[0, 1, 0, 0, 0, 0, 0, 2, 1, 0]])
    hand = C.encode_layer(np.array([0.0, -0.5, 0.75]), indices, np.array([0.25]), 2, 2)
    rng = np.random.default_rng(3)
    fc = np.where(rng.random((300, 100)) < 0.08, rng.integers(1, 32, (300, 100)), 0)
    big = C.encode_layer(np.arange(32.0), fc, None, 5)
    rows = C.stream_entropy({"hand": hand, "fc": big})
    assert rows[:2] == [
        {"layer": "hand", "stream": "weights", "entries": 4, "entropy_bits": 1.5,
         "huffman_bits": 1.5, "fixed_bits": 2},
        {"layer": "hand", "stream": "index", "entries": 4, "entropy_bits": 1.5,
         "huffman_bits": 1.5, "fixed_bits": 2}]
    assert [(r["layer"], r["stream"]) for r in rows[2:]] == [("fc", "weights"), ("fc", "index")]
    rel = C.relative_encode(fc, 5)
    for row, stream, width in zip(rows[2:], (rel.values, rel.gaps), (5, 5), strict=True):
        assert row["entries"] == big.n_entries == stream.size and row["fixed_bits"] == width
        assert row["entropy_bits"] == pytest.approx(C.entropy(np.bincount(stream)), abs=1e-12)
        assert row["entropy_bits"] <= row["huffman_bits"] < row["entropy_bits"] + 1
    assert rows[2]["huffman_bits"] == big.weight_stream_bits / big.n_entries
    assert rows[3]["huffman_bits"] == big.index_stream_bits / big.n_entries


def test_stream_entropy_bad_input():
    with pytest.raises(ValueError, match="codes must hold at least one layer"):
        C.stream_entropy({})
    with pytest.raises(TypeError, match="codes must be a dict"):
        C.stream_entropy([1])
    with pytest.raises(TypeError, match=r"codes\['fc'\] must be a LayerCode"):
        C.stream_entropy({"fc": np.zeros(3)})
