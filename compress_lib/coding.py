"""Storage formats with exact bit accounting.

Sparse storage of pruned weights: CSR (values, column indices, row pointers) and Deep
Compression's relative index format (Han, Mao & Dally, ICLR 2016): each stored value carries
the number of zeros skipped since the previous stored value in a fixed number of index bits;
when a gap is too long for those bits a filler zero is stored. Plus gzip and on-disk sizes,
so that a pruned model's real size is measured, not only its nonzero count.
Introduced in notebooks/04_pruning.ipynb.

Then Huffman coding (canonical codes, entropy as the lower bound) and Deep Compression's
per-layer code: codebook indices and relative gaps, each Huffman-coded, with the paper's
bit accounting (Tables 2 and 3) and a decoder that rebuilds the exact kernel from the
streams. Taught in notebooks/06_mnist_case_study.ipynb.
"""

from __future__ import annotations

import gzip
import heapq
import os
import tempfile
from dataclasses import dataclass

import keras
import numpy as np

from compress_lib import graph
from compress_lib._checks import check_array
from compress_lib._checks import check_int
from compress_lib._checks import check_int_array
from compress_lib._checks import check_model
from compress_lib._checks import check_numeric

__all__ = ["CSR", "Huffman", "LayerCode", "RelativeIndex", "address_bits", "compressed_size",
           "csr_bits", "csr_decode", "csr_encode", "decode_layer", "encode_layer", "entropy",
           "gzip_array_bytes", "gzip_size", "huffman_bits", "huffman_code", "huffman_decode",
           "huffman_encode", "keras_file_bytes", "layer_bits", "model_storage",
           "relative_bits", "relative_decode", "relative_encode", "sparse_storage",
           "storage_summary", "stream_entropy"]


def address_bits(n: int) -> int:
    """Bits of an unsigned index that can address n different values (at least 1)."""
    return max(1, (check_int("n", n, low=1) - 1).bit_length())


def _as_matrix(w: np.ndarray) -> np.ndarray:
    """A weight array as 2-D: (everything but the last axis, last axis)."""
    w = check_array("w", w, dtype=None)
    return w.reshape(1, -1) if w.ndim < 2 else w.reshape(-1, w.shape[-1])


def _check_code(name: str, value: object, cls: type,
                made_by: str = "csr_encode / relative_encode") -> None:
    """A CSR, RelativeIndex, Huffman or LayerCode made by its encoder."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__} (from {made_by}), "
                        f"got {type(value).__name__}")


@dataclass(frozen=True)
class CSR:
    """Compressed sparse row storage of a weight array viewed as a 2-D matrix."""

    values: np.ndarray
    col_index: np.ndarray
    row_ptr: np.ndarray
    shape: tuple[int, ...]


def csr_encode(w: np.ndarray) -> CSR:
    """CSR of w (kernels are viewed as (inputs..., outputs) matrices)."""
    mat = _as_matrix(w)
    rows, cols = np.nonzero(mat)
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=mat.shape[0]))])
    return CSR(mat[rows, cols], cols.astype(np.int64), row_ptr.astype(np.int64),
               tuple(np.shape(w)))


def csr_decode(csr: CSR) -> np.ndarray:
    """The dense array stored in a CSR."""
    _check_code("csr", csr, CSR)
    n_rows = csr.row_ptr.size - 1
    mat = np.zeros((n_rows, int(np.prod(csr.shape)) // n_rows), dtype=csr.values.dtype)
    mat[np.repeat(np.arange(n_rows), np.diff(csr.row_ptr)), csr.col_index] = csr.values
    return mat.reshape(csr.shape)


def csr_bits(csr: CSR, value_bits: int = 32) -> int:
    """Exact bits: nnz values, nnz column indices, rows+1 row pointers (each minimal width)."""
    _check_code("csr", csr, CSR)
    check_int("value_bits", value_bits, 1, 64)
    nnz, n_rows = csr.values.size, csr.row_ptr.size - 1
    n_cols = int(np.prod(csr.shape)) // n_rows
    return int(nnz * (value_bits + address_bits(n_cols)) + (n_rows + 1) * address_bits(nnz + 1))


@dataclass(frozen=True)
class RelativeIndex:
    """Deep Compression's format: per stored value, the zeros skipped before it (index_bits)."""

    gaps: np.ndarray
    values: np.ndarray
    shape: tuple[int, ...]
    index_bits: int

    @property
    def fillers(self) -> int:
        """Number of filler zeros stored because a gap exceeded 2**index_bits - 1."""
        return int(np.count_nonzero(self.values == 0))


def relative_encode(w: np.ndarray, index_bits: int = 5) -> RelativeIndex:
    """Encode the nonzeros of w in flat order with fixed-width gaps and filler zeros."""
    bits = check_int("index_bits", index_bits, 1, 32)
    w = check_array("w", w, dtype=None)
    flat = w.ravel()
    pos = np.flatnonzero(flat)
    gaps = np.diff(pos, prepend=-1) - 1
    span = 2 ** bits  # a filler covers 2**bits - 1 zeros plus its own (zero) slot
    n_fill = gaps // span
    ends = np.cumsum(n_fill + 1) - 1
    out_gaps = np.full(int(ends[-1]) + 1 if pos.size else 0, span - 1, dtype=np.int64)
    out_values = np.zeros(out_gaps.size, dtype=flat.dtype)
    out_gaps[ends] = gaps - n_fill * span
    out_values[ends] = flat[pos]
    return RelativeIndex(out_gaps, out_values, tuple(w.shape), bits)


def relative_decode(code: RelativeIndex) -> np.ndarray:
    """The dense array stored in a RelativeIndex."""
    _check_code("code", code, RelativeIndex)
    flat = np.zeros(int(np.prod(code.shape)), dtype=code.values.dtype)
    flat[np.cumsum(code.gaps + 1) - 1] = code.values
    return flat.reshape(code.shape)


def relative_bits(code: RelativeIndex, value_bits: int = 32) -> int:
    """Exact bits: every stored entry (fillers included) has index_bits + value_bits."""
    _check_code("code", code, RelativeIndex)
    check_int("value_bits", value_bits, 1, 64)
    return int(code.values.size * (code.index_bits + value_bits))


def gzip_size(data: bytes, level: int = 9) -> int:
    """Bytes of `data` after gzip (e.g. a .tflite buffer shipped compressed)."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    level = check_int("level", level, 0, 9)
    return len(gzip.compress(data, compresslevel=level, mtime=0))


def gzip_array_bytes(w: np.ndarray, level: int = 9) -> int:
    """Bytes of w stored densely as float32 and then gzip-compressed."""
    w = check_array("w", w, dtype=np.float32)
    return gzip_size(w.tobytes(), level)


def sparse_storage(w: np.ndarray, index_bits: int = 5, value_bits: int = 32) -> dict:
    """Dense, CSR, relative-index and gzip sizes of one weight array (bits and bytes)."""
    w = check_array("w", w, dtype=None)
    check_int("value_bits", value_bits, 1, 64)
    code = relative_encode(w, index_bits)
    return {"weights": int(w.size), "nonzero": int(np.count_nonzero(w)),
            "dense_bits": int(w.size * value_bits),
            "csr_bits": csr_bits(csr_encode(w), value_bits),
            "relative_bits": relative_bits(code, value_bits), "fillers": code.fillers,
            "gzip_bytes": gzip_array_bytes(w)}


def model_storage(model: keras.Model, index_bits: int = 5, value_bits: int = 32) -> list[dict]:
    """sparse_storage of every weight array of a model, one row each, plus a 'total' row."""
    rows = [{"weight": v.path, **sparse_storage(np.asarray(v), index_bits, value_bits)}
            for v in check_model(model).weights]
    if not rows:
        raise ValueError(f"model must have weights, got none in {model.name!r}")
    total = {key: sum(r[key] for r in rows) for key in rows[0] if key != "weight"}
    return [*rows, {"weight": "total", **total}]


def keras_file_bytes(model: keras.Model) -> tuple[int, int]:
    """(bytes of the model saved as a .keras file, bytes of that file gzip-compressed).

    A compiled model is saved without its optimizer state (Adam would triple the size).
    """
    if getattr(check_model(model), "optimizer", None) is not None:
        model = graph.copy_model(model)  # uncompiled: no optimizer state in the file
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as f:
            data = f.read()
    return len(data), gzip_size(data)


def storage_summary(model: keras.Model, tflite: bytes, index_bits: int = 5) -> dict:
    """Every size of one model in kB: float32, CSR, relative index, gzip, .keras and .tflite.

    `tflite` is the model's .tflite buffer (export.to_tflite). Taught in
    notebooks/04_pruning.ipynb.
    """
    if not isinstance(tflite, bytes | bytearray):
        raise TypeError(f"tflite must be bytes (a .tflite model), got {type(tflite).__name__}")
    total = model_storage(model, index_bits=index_bits)[-1]
    keras_raw, keras_gz = keras_file_bytes(model)
    return {"nonzero": total["nonzero"], "float32_kB": total["dense_bits"] / 8e3,
            "csr_kB": total["csr_bits"] / 8e3, "relative_index_kB": total["relative_bits"] / 8e3,
            "gzip_weights_kB": total["gzip_bytes"] / 1e3, "keras_file_kB": keras_raw / 1e3,
            "keras_file_gzip_kB": keras_gz / 1e3, "tflite_kB": len(tflite) / 1e3,
            "tflite_gzip_kB": gzip_size(tflite) / 1e3}


# ---- Huffman coding and Deep Compression's per-layer code (notebooks/06_mnist_case_study.ipynb)

_MAX_CODE_BITS = 64  # codes are stored as uint64


@dataclass(frozen=True)
class Huffman:
    """A canonical Huffman code over symbols 0..n-1."""

    lengths: np.ndarray  # int64: code length in bits of each symbol (0 = symbol never occurs)
    codes: np.ndarray  # uint64: canonical code of each symbol (meaningful where lengths > 0)

    def table_bits(self) -> int:
        """Bits to store the code: one length field of address_bits(max length + 1) per symbol."""
        return int(self.lengths.size * address_bits(int(self.lengths.max()) + 1))


def _check_counts(counts: np.ndarray) -> np.ndarray:
    """A non-empty 1-D histogram of non-negative integer counts, as int64."""
    arr = check_int_array("counts", counts, low=0)
    if arr.ndim != 1:
        raise ValueError(f"counts must be 1-D (one count per symbol), got shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


def _check_huffman(code: object) -> Huffman:
    """A Huffman made by huffman_code (TypeError otherwise)."""
    _check_code("code", code, Huffman, "huffman_code")
    return code


def _huffman_lengths(weights: np.ndarray) -> np.ndarray:
    """Optimal code lengths for positive weights (heapq merge; parents built after children)."""
    m = weights.size
    heap = [(int(w), i) for i, w in enumerate(weights)]
    heapq.heapify(heap)
    parent = [0] * (2 * m - 1)
    for node in range(m, 2 * m - 1):  # each merge makes the next internal node
        (w1, a), (w2, b) = heapq.heappop(heap), heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (w1 + w2, node))
    depth = [0] * (2 * m - 1)  # the root, 2m - 2, has depth 0
    for node in range(2 * m - 3, -1, -1):
        depth[node] = depth[parent[node]] + 1
    return np.array(depth[:m], dtype=np.int64)


def _canonical(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(symbols by (length, symbol), their lengths, codes left-aligned to max length, lmax)."""
    # Left-aligned canonical codes increase in that order: a window of max-length bits is
    # decoded by a binary search among them (huffman_decode).
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    lmax = int(lengths.max())
    ls = lengths[order].astype(np.uint64)
    units = np.uint64(1) << (np.uint64(lmax) - ls)  # share of the code space, in 2**-lmax
    return order, ls, np.cumsum(units) - units, lmax  # modular uint64: exact up to 64 bits


def huffman_code(counts: np.ndarray) -> Huffman:
    """The optimal prefix code for a histogram (counts[i] = occurrences of symbol i), canonical."""
    counts = _check_counts(counts)
    used = np.flatnonzero(counts)
    if used.size < 2:
        raise ValueError("counts must have at least two symbols that occur (a code needs a "
                         f"choice), got {used.size} nonzero count(s) among {counts.size} symbols")
    lengths = np.zeros(counts.size, np.int64)
    lengths[used] = _huffman_lengths(counts[used])
    if lengths.max() > _MAX_CODE_BITS:
        raise ValueError(f"counts give a code of {lengths.max()} bits, more than the "
                         f"{_MAX_CODE_BITS} that a uint64 code holds")
    order, ls, starts, lmax = _canonical(lengths)
    codes = np.zeros(counts.size, np.uint64)
    codes[order] = starts >> (np.uint64(lmax) - ls)
    return Huffman(lengths, codes)


def huffman_encode(symbols: np.ndarray, code: Huffman) -> tuple[bytes, int]:
    """(the symbols' codes concatenated and packed MSB-first into bytes, the exact bit count)."""
    flat = check_int_array("symbols", symbols).ravel()
    code = _check_huffman(code)
    n = code.lengths.size
    bad = (flat < 0) | (flat >= n)
    bad[~bad] = code.lengths[flat[~bad]] == 0
    if bad.any():
        raise ValueError(f"symbols must all have a code (symbols 0..{n - 1} with a nonzero "
                         f"count), got symbol {flat[bad][0]}, which has none")
    lengths, codes = code.lengths[flat], code.codes[flat]
    total = int(lengths.sum())
    owner = np.repeat(np.arange(flat.size), lengths)  # the symbol each output bit belongs to
    offset = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    shift = (lengths[owner] - 1 - offset).astype(np.uint64)
    bits = ((codes[owner] >> shift) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bits).tobytes(), total


def _windows(data: bytes, lmax: int) -> np.ndarray:
    """For every bit position of data, the next lmax bits as an integer (zeros past the end)."""
    bits = np.unpackbits(np.frombuffer(bytes(data), np.uint8)).astype(np.uint64)
    padded = np.concatenate([bits, np.zeros(lmax, np.uint64)])
    window = np.zeros(bits.size, np.uint64)
    for k in range(lmax):  # lmax vectorised passes, not a loop over the data
        window = (window << np.uint64(1)) | padded[k:k + bits.size]
    return window


def huffman_decode(data: bytes, n_symbols: int, code: Huffman) -> np.ndarray:
    """The first n_symbols symbols (int64) of a huffman_encode stream."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data must be bytes (from huffman_encode), got {type(data).__name__}")
    n_symbols = check_int("n_symbols", n_symbols, low=0)
    order, ls, starts, lmax = _canonical(_check_huffman(code).lengths)
    rank = np.searchsorted(starts, _windows(data, lmax), side="right") - 1
    symbol_at, length_at = order[rank].tolist(), ls[rank].astype(np.int64).tolist()
    out, pos = [0] * n_symbols, 0
    try:
        for i in range(n_symbols):  # the one sequential walk: each code starts where one ends
            out[i] = symbol_at[pos]
            pos += length_at[pos]
    except IndexError:
        pos = len(symbol_at) + 1
    if pos > len(symbol_at):
        raise ValueError(f"data is truncated: {len(data)} bytes hold fewer than the "
                         f"{n_symbols} symbols asked for")
    return np.array(out, dtype=np.int64)


def huffman_bits(counts: np.ndarray, code: Huffman) -> int:
    """Exact bits of a stream with this histogram under this code: sum(counts * lengths)."""
    counts = _check_counts(counts)
    lengths = _check_huffman(code).lengths
    if counts.size != lengths.size:
        raise ValueError(f"counts must have one count per symbol of code ({lengths.size}), "
                         f"got {counts.size}")
    missing = np.flatnonzero((counts > 0) & (lengths == 0))
    if missing.size:
        raise ValueError(f"counts must be zero for symbols without a code, got "
                         f"{counts[missing[0]]} for symbol {missing[0]}")
    return int(np.dot(counts, lengths))


def entropy(counts: np.ndarray) -> float:
    """Shannon entropy of a histogram in bits per symbol: the bound no prefix code beats."""
    counts = _check_counts(counts)
    if counts.sum() == 0:
        raise ValueError("counts must have at least one nonzero count, got all zeros")
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log2(p)) + 0.0)  # + 0.0: no -0.0 for a single symbol


@dataclass(frozen=True)
class LayerCode:
    """One layer stored the Deep Compression way: Huffman-coded codebook indices and gaps."""

    shape: tuple[int, ...]  # kernel shape
    codebook: np.ndarray  # float32, codebook[0] == 0
    bias: np.ndarray  # float32 (may be empty, shape (0,))
    weight_bits: int  # fixed width of one codebook index (codebook.size <= 2**weight_bits)
    index_bits: int  # fixed width of one relative gap
    n_entries: int  # stored entries (kept weights + fillers)
    n_kept: int  # nonzero weights
    weight_code: Huffman
    weight_stream: bytes
    weight_stream_bits: int
    index_code: Huffman
    index_stream: bytes
    index_stream_bits: int


def _check_codebook(codebook: np.ndarray, weight_bits: int) -> np.ndarray:
    """A 1-D finite float32 codebook with codebook[0] == 0 and at most 2**weight_bits entries."""
    book = check_numeric("codebook", codebook, min_ndim=1, dtype=np.float32)
    if book.ndim != 1:
        raise ValueError(f"codebook must be 1-D, got shape {book.shape}")
    if book[0] != 0:
        raise ValueError("codebook[0] must be 0.0 (index 0 is reserved for pruned weights and "
                         f"fillers), got {book[0]}")
    if book.size > 2 ** weight_bits:
        raise ValueError(f"codebook must have at most 2**weight_bits = {2 ** weight_bits} "
                         f"entries, got {book.size}")
    return book


def _check_bias(bias: np.ndarray | None) -> np.ndarray:
    """Finite biases as a float32 copy; None or an empty array means no biases."""
    if bias is None or np.size(bias) == 0:
        return np.zeros(0, np.float32)
    return check_numeric("bias", bias, dtype=np.float32).copy()


def _stream_code(name: str, stream: np.ndarray, n: int) -> tuple[Huffman, bytes, int]:
    """Huffman code, packed bytes and bit count of one stream over symbols 0..n-1."""
    try:
        code = huffman_code(np.bincount(stream, minlength=n))
    except ValueError as err:
        raise ValueError(f"the {name} stream cannot be Huffman-coded: {err}") from None
    return (code, *huffman_encode(stream, code))


def encode_layer(codebook: np.ndarray, indices: np.ndarray, bias: np.ndarray | None,
                 weight_bits: int, index_bits: int = 5) -> LayerCode:
    """Store a shared-weight kernel (codebook[indices], 0 = pruned) as two Huffman streams."""
    weight_bits = check_int("weight_bits", weight_bits, 1, 16)
    index_bits = check_int("index_bits", index_bits, 1, 16)
    book = _check_codebook(codebook, weight_bits)
    idx = check_int_array("indices", indices, 0, book.size - 1)
    rel = relative_encode(idx, index_bits)  # fillers carry codebook index 0
    weight_code, weight_stream, weight_stream_bits = _stream_code(
        "weight (codebook index)", rel.values.astype(np.int64), book.size)
    index_code, index_stream, index_stream_bits = _stream_code(
        "index (relative gap)", rel.gaps, 2 ** index_bits)
    return LayerCode(tuple(idx.shape), book.copy(), _check_bias(bias), weight_bits, index_bits,
                     int(rel.values.size), int(np.count_nonzero(idx)), weight_code,
                     weight_stream, weight_stream_bits, index_code, index_stream,
                     index_stream_bits)


def decode_layer(code: LayerCode) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) rebuilt from the two Huffman streams, the codebook and the biases only."""
    _check_code("code", code, LayerCode, "encode_layer")
    values = huffman_decode(code.weight_stream, code.n_entries, code.weight_code)
    gaps = huffman_decode(code.index_stream, code.n_entries, code.index_code)
    size = int(np.prod(code.shape))
    if int(np.sum(gaps + 1)) > size:
        raise ValueError(f"code's gaps address {int(np.sum(gaps + 1))} slots, more than the "
                         f"kernel's {size}: the streams are corrupt")
    indices = relative_decode(RelativeIndex(gaps, values, code.shape, code.index_bits))
    return code.codebook[indices], code.bias.copy()


def layer_bits(code: LayerCode) -> dict:
    """Exact bit counts of one layer: fixed-width and Huffman streams, codebook, biases, tables."""
    _check_code("code", code, LayerCode, "encode_layer")
    weights, biases = int(np.prod(code.shape)), int(code.bias.size)
    row = {"weights": weights, "biases": biases, "kept": code.n_kept,
           "fillers": code.n_entries - code.n_kept, "entries": code.n_entries,
           "weight_bits_fixed": code.n_entries * code.weight_bits,
           "weight_bits_huffman": code.weight_stream_bits,
           "index_bits_fixed": code.n_entries * code.index_bits,
           "index_bits_huffman": code.index_stream_bits,
           "codebook_bits": 32 * int(code.codebook.size), "bias_bits": 32 * biases,
           "table_bits": code.weight_code.table_bits() + code.index_code.table_bits(),
           "original_bits": 32 * (weights + biases)}
    stored = row["codebook_bits"] + row["bias_bits"]
    row["fixed_bits"] = row["weight_bits_fixed"] + row["index_bits_fixed"] + stored
    row["huffman_bits"] = (row["weight_bits_huffman"] + row["index_bits_huffman"] + stored
                           + row["table_bits"])
    return row


def _size_row(layer: str, bits: dict) -> dict:
    """One row of compressed_size from a layer_bits dict (or the sum of several)."""
    entries = bits["entries"]
    raw = {("weight_stream_bits" if k == "weight_bits_huffman" else "index_stream_bits"
            if k == "index_bits_huffman" else k): v for k, v in bits.items()}
    return {"layer": layer, "weights": bits["weights"],
            "kept_pct": 100 * bits["kept"] / bits["weights"],
            "weight_bits": bits["weight_bits_fixed"] / entries,
            "weight_bits_huffman": bits["weight_bits_huffman"] / entries,
            "index_bits": bits["index_bits_fixed"] / entries,
            "index_bits_huffman": bits["index_bits_huffman"] / entries,
            "rate_pq_pct": 100 * bits["fixed_bits"] / bits["original_bits"],
            "rate_pqh_pct": 100 * bits["huffman_bits"] / bits["original_bits"],
            "original_bytes": bits["original_bits"] // 8,
            "compressed_bytes": -(-bits["huffman_bits"] // 8),
            "ratio": bits["original_bits"] / bits["huffman_bits"], **raw}


def compressed_size(codes: dict[str, LayerCode]) -> list[dict]:
    """Deep Compression's Tables 2/3: one row per layer (dict order) and a 'total' row.

    Counted, in bits: per stored entry (kept weight or filler zero) a codebook index and a
    relative gap, at fixed width (weight_bits, index_bits: "P+Q") or Huffman-coded ("P+Q+H");
    the codebook at 32 bits per entry (the reserved zero included); the biases at 32 bits;
    and, for P+Q+H only, both Huffman tables (Huffman.table_bits). Han, Mao & Dally (ICLR
    2016) do not say whether they count the tables; we do. Rates are compressed bits over
    the original 32-bit weights and biases, in %; ratio is original / P+Q+H bits (so
    ratio == 100 / rate_pqh_pct). weight_bits, index_bits and their _huffman averages are
    bits per stored entry: the total row weights them by entries and sums every bit count.
    Each row also holds layer_bits' fields, its Huffman stream totals renamed
    weight_stream_bits and index_stream_bits (the _huffman names hold the averages here).
    """
    if not isinstance(codes, dict):
        raise TypeError(f"codes must be a dict of layer name -> LayerCode, got "
                        f"{type(codes).__name__}")
    if not codes:
        raise ValueError("codes must hold at least one layer, got an empty dict")
    for name, code in codes.items():
        _check_code(f"codes[{name!r}]", code, LayerCode, "encode_layer")
    layers = {name: layer_bits(code) for name, code in codes.items()}
    rows = [_size_row(name, bits) for name, bits in layers.items()]
    total = {key: sum(b[key] for b in layers.values()) for key in next(iter(layers.values()))}
    for row, code in zip(rows, codes.values(), strict=True):  # each layer's own widths, as ints
        row["weight_bits"], row["index_bits"] = code.weight_bits, code.index_bits
    return [*rows, _size_row("total", total)]


def stream_entropy(codes: dict[str, LayerCode]) -> list[dict]:
    """Per layer and stream: Huffman bits per entry beside the entropy bound and the fixed width.

    The symbols are decoded from each stream, so the bound is that of what was stored.
    Taught in notebooks/06_mnist_case_study.ipynb.
    """
    if not isinstance(codes, dict):
        raise TypeError(f"codes must be a dict of layer name -> LayerCode, got "
                        f"{type(codes).__name__}")
    if not codes:
        raise ValueError("codes must hold at least one layer, got an empty dict")
    rows = []
    for name, code in codes.items():
        _check_code(f"codes[{name!r}]", code, LayerCode, "encode_layer")
        for stream, data, huff, bits, width in (
                ("weights", code.weight_stream, code.weight_code, code.weight_stream_bits,
                 code.weight_bits),
                ("index", code.index_stream, code.index_code, code.index_stream_bits,
                 code.index_bits)):
            symbols = huffman_decode(data, code.n_entries, huff)
            rows.append({"layer": name, "stream": stream, "entries": code.n_entries,
                         "entropy_bits": entropy(np.bincount(symbols)),
                         "huffman_bits": bits / code.n_entries, "fixed_bits": width})
    return rows
