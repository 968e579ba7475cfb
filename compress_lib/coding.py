"""Storage formats with exact bit accounting.

Sparse storage of pruned weights: CSR (values, column indices, row pointers) and Deep
Compression's relative index format (Han et al. 2016): each stored value carries the number
of zeros skipped since the previous stored value in a fixed number of index bits; when a gap
is too long for those bits a filler zero is stored. Plus gzip and on-disk sizes, so that a
pruned model's real size is measured, not only its nonzero count.
Introduced in notebooks/04_pruning.ipynb.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from dataclasses import dataclass

import keras
import numpy as np

from compress_lib import graph
from compress_lib._checks import check_array
from compress_lib._checks import check_int
from compress_lib._checks import check_model

__all__ = ["CSR", "RelativeIndex", "address_bits", "csr_bits", "csr_decode", "csr_encode",
           "gzip_array_bytes", "gzip_size", "keras_file_bytes", "model_storage",
           "relative_bits", "relative_decode", "relative_encode", "sparse_storage",
           "storage_summary"]


def address_bits(n: int) -> int:
    """Bits of an unsigned index that can address n different values (at least 1)."""
    return max(1, (check_int("n", n, low=1) - 1).bit_length())


def _as_matrix(w: np.ndarray) -> np.ndarray:
    """A weight array as 2-D: (everything but the last axis, last axis)."""
    w = check_array("w", w, dtype=None)
    return w.reshape(1, -1) if w.ndim < 2 else w.reshape(-1, w.shape[-1])


def _check_code(name: str, value: object, cls: type) -> None:
    """A CSR or RelativeIndex made by its encoder."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__} (from csr_encode / relative_encode), "
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
