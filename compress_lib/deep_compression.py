"""Deep Compression (Han, Mao & Dally, ICLR 2016) end to end: prune, share weights, Huffman-code.

The three stages live in their own modules: pruning (`pruning.gradual_prune`,
`pruning.iterative_prune`), k-means weight sharing with centroid fine-tuning (`ptq`,
`quantization.kmeans_quantize` with `keep_zeros`) and the storage format with exact bit
accounting (`coding.encode_layer`, `coding.compressed_size`). This module chains them: it
shares each layer's weights with its own bit width, encodes a Keras model layer by layer,
and rebuilds a fresh model from the code alone; its grids of independent runs
(`search_codes`, `compression_grid`) go through `sweep.sweep`, serially or on Ray. Taught in
notebooks/06_mnist_case_study.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from functools import partial

import keras
import numpy as np

from compress_lib import coding
from compress_lib import graph
from compress_lib import models
from compress_lib import pruning
from compress_lib import ptq
from compress_lib import sweep
from compress_lib._checks import check_callable
from compress_lib._checks import check_fraction
from compress_lib._checks import check_int
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model
from compress_lib._checks import check_number

__all__ = ["beside_paper", "compression_grid", "decode", "encode", "one_shot", "ramp",
           "search_codes", "share_weights"]


def _check_bits(model: keras.Model, bits: dict[str, int]) -> list[str]:
    """Every weighted layer of model named in bits (a dict of layer name -> 2..16)."""
    if not isinstance(bits, dict):
        raise TypeError(f"bits must be a dict of layer name -> bits, got {type(bits).__name__}")
    names = [layer.name for layer in graph.select_layers(model)]
    if set(bits) != set(names):
        raise ValueError(f"bits must name every weighted layer {names} exactly, got {sorted(bits)}")
    for name, b in bits.items():
        check_int(f"bits[{name!r}]", b, 2, 16)
    return names


def share_weights(model: keras.Model, bits: dict[str, int],
                  data: tuple[np.ndarray, np.ndarray] | None = None, epochs: int = 1,
                  learning_rate: float = 1e-4, progress: bool = True
                  ) -> tuple[keras.Model, ptq.Books]:
    """Stage 2: k-means sharing per layer (its own bits; zeros keep index 0), then centroid
    fine-tuning on data for `epochs` (0: none); (shared copy, books)."""
    _check_bits(check_model(model, built=True), bits)
    epochs = check_int("epochs", epochs, low=0)
    if epochs and data is None:
        raise ValueError("data is needed to fine-tune the centroids (epochs > 0)")
    empty = [layer.name for layer in graph.select_layers(model)
             if not np.any(np.asarray(layer.kernel))]
    if empty:
        raise ValueError(f"model: layers {empty} are fully pruned; k-means sharing with a "
                         "reserved zero needs at least one nonzero weight per layer")
    shared, books = model, {}
    for b in sorted(set(bits.values())):
        shared, found = ptq.kmeans_model(shared, b, layers=[n for n in bits if bits[n] == b],
                                         keep_zeros=True)
        books.update(found)
    if epochs:
        books = ptq.finetune_kmeans(shared, books, check_labelled(data), epochs,
                                    learning_rate=learning_rate, progress=progress,
                                    keep_zeros=True)
    return shared, books


def encode(model: keras.Model, books: ptq.Books, bits: dict[str, int], index_bits: int = 5
           ) -> dict[str, coding.LayerCode]:
    """Stage 3: every weighted layer as a coding.LayerCode (Huffman-coded indices and gaps)."""
    names = _check_bits(check_model(model, built=True), bits)
    if not isinstance(books, dict):
        raise TypeError(f"books must be the dict that share_weights returns, got "
                        f"{type(books).__name__}")
    if set(books) != set(names):
        raise ValueError(f"books must hold every weighted layer {names} (from share_weights), "
                         f"got {sorted(books)}")
    codes = {}
    for layer in graph.select_layers(model):
        codebook, indices = books[layer.name]
        if not np.array_equal(np.asarray(layer.kernel), np.asarray(codebook)[indices]):
            raise ValueError(f"layer {layer.name!r}: kernel differs from codebook[indices]; "
                             "pass the model and books that share_weights returned")
        bias = np.asarray(layer.bias) if layer.use_bias else None
        codes[layer.name] = coding.encode_layer(codebook, indices, bias, bits[layer.name],
                                                index_bits)
    return codes


def decode(build: Callable[[], keras.Model], codes: dict[str, coding.LayerCode]) -> keras.Model:
    """A fresh build() whose every weighted layer is rebuilt from its code alone."""
    model = check_model(check_callable("build", build)(), "build()", built=True)
    names = [layer.name for layer in graph.select_layers(model)]
    if not isinstance(codes, dict):
        raise TypeError(f"codes must be the dict that encode returns, got {type(codes).__name__}")
    if set(codes) != set(names):
        raise ValueError(f"codes must hold every weighted layer {names} of build(), got "
                         f"{sorted(codes)}")
    for name, code in codes.items():
        if not isinstance(code, coding.LayerCode):
            raise TypeError(f"codes[{name!r}] must be a coding.LayerCode (from encode), got "
                            f"{type(code).__name__}")
    for layer in graph.select_layers(model):
        kernel, bias = coding.decode_layer(codes[layer.name])
        weights = [kernel, bias] if layer.use_bias else [kernel]
        shapes = [tuple(v.shape) for v in layer.weights]
        if [w.shape for w in weights] != shapes:
            raise ValueError(f"codes[{layer.name!r}] holds weights of shapes "
                             f"{[w.shape for w in weights]}, build()'s layer needs {shapes}")
        layer.set_weights(weights)
    return model


# The columns of Han, Mao & Dally's Tables 2 and 3, and the compressed_size field of each.
PAPER_COLUMNS = {"weights": "weights", "kept %": "kept_pct", "w bits": "weight_bits",
                 "w bits (H)": "weight_bits_huffman", "idx bits": "index_bits",
                 "idx bits (H)": "index_bits_huffman", "rate %": "rate_pqh_pct"}


def beside_paper(size_rows: list[dict], paper: dict[str, tuple]) -> list[dict]:
    """Our coding.compressed_size rows interleaved with the paper's, in its columns.

    `paper` maps the paper's layer names, in order and ending with "total", to a tuple in
    PAPER_COLUMNS order; rows pair up by position.
    """
    if not isinstance(size_rows, list) or not all(isinstance(r, dict) for r in size_rows):
        raise TypeError("size_rows must be compressed_size's list of dicts")
    if not isinstance(paper, dict):
        raise TypeError(f"paper must be a dict of layer name -> tuple, got {type(paper).__name__}")
    for name, values in paper.items():
        if not isinstance(values, tuple):
            raise TypeError(f"paper[{name!r}] must be a tuple, got {type(values).__name__}")
        if len(values) != len(PAPER_COLUMNS):
            raise ValueError(f"paper[{name!r}] must hold {len(PAPER_COLUMNS)} values "
                             f"({list(PAPER_COLUMNS)}), got {len(values)}")
    if not size_rows or len(size_rows) != len(paper) or size_rows[-1].get("layer") != "total":
        raise ValueError(f"size_rows ({len(size_rows)} rows ending in 'total') and paper "
                         f"({len(paper)} layers) must pair up, got "
                         f"{[r.get('layer') for r in size_rows]} and {list(paper)}")
    rows = []
    for ours, (name, values) in zip(size_rows, paper.items(), strict=True):
        rows.append({"layer": ours["layer"], "source": "ours",
                     **{col: ours[key] for col, key in PAPER_COLUMNS.items()}})
        rows.append({"layer": name, "source": "paper",
                     **dict(zip(PAPER_COLUMNS, values, strict=True))})
    return rows


def _code_option(cfg: dict, pruned: keras.Model, index_bits: Sequence[int],
                 data: tuple[np.ndarray, np.ndarray] | None,
                 test_data: tuple[np.ndarray, np.ndarray], epochs: int = 1) -> dict:
    """One bits option of search_codes (a sweep configuration {"bits": layer name -> bits}).

    Shares and fine-tunes a copy of `pruned` once (no bar), then encodes it at every index width:
    {"rows": one row per width, as search_codes returns them}.
    """
    bits = cfg["bits"]
    shared, books = share_weights(pruned, bits, data, epochs, progress=False)
    error = 100 * (1 - models.accuracy(shared, test_data))
    rows = []
    for width in index_bits:
        codes = encode(shared, books, bits, width)
        total = coding.compressed_size(codes)[-1]
        rows.append({"bits": dict(bits), "index_bits": width, "error_pct": error,
                     "compressed_bytes": total["compressed_bytes"], "ratio": total["ratio"],
                     "shared": shared, "codes": codes})
    return {"rows": rows}


def search_codes(pruned: keras.Model, bits_options: Sequence[dict[str, int]],
                 index_bits: Sequence[int], data: tuple[np.ndarray, np.ndarray],
                 test_data: tuple[np.ndarray, np.ndarray], epochs: int = 1, progress: bool = True,
                 backend: str | None = None) -> list[dict]:
    """Stages 2-3 for every bits option (shared and fine-tuned once) and index width.

    Rows {"bits", "index_bits", "error_pct" (on test_data), "compressed_bytes", "ratio",
    "shared", "codes"}, bits-option-major; each option is one sweep.sweep configuration
    (seed 0, `backend`; `progress`: a bar over the options). Used to choose the code of
    notebooks/06_mnist_case_study.ipynb.
    """
    check_model(pruned, built=True)
    if not isinstance(bits_options, list | tuple) or not bits_options:
        raise ValueError("bits_options must be a non-empty list of dicts (layer name -> bits)")
    for bits in bits_options:
        _check_bits(pruned, bits)
    widths = [check_int(f"index_bits[{i}]", b, 1, 16) for i, b in enumerate(index_bits)]
    if not widths:
        raise ValueError("index_bits must hold at least one width")
    epochs = check_int("epochs", epochs, low=0)
    data = check_labelled(data) if epochs else data
    run = partial(_code_option, pruned=pruned, index_bits=widths, data=data,
                  test_data=check_labelled(test_data, "test_data"), epochs=epochs)
    options = sweep.sweep(run, [{"bits": dict(bits)} for bits in bits_options], backend,
                          desc="codebook widths" if progress else None)
    return [row for option in options for row in option["rows"]]


def ramp(target: dict[str, float], steps: int) -> list[dict[str, float]]:
    """Per-layer sparsities rising linearly to `target` in `steps` rounds (iterative pruning)."""
    if not isinstance(target, dict):
        raise TypeError(f"target must be a dict of layer name -> sparsity, got {target!r}")
    if not target:
        raise ValueError("target must name at least one layer, got an empty dict")
    for name, s in target.items():
        check_fraction(f"target[{name!r}]", s)
    steps = check_int("steps", steps, low=1)
    return [{n: round(s * (i + 1) / steps, 6) for n, s in target.items()}
            for i in range(steps - 1)] + [{n: float(s) for n, s in target.items()}]


def one_shot(model: keras.Model, sparsity: float, bits: int, index_bits: int = 5
             ) -> tuple[keras.Model, dict[str, coding.LayerCode]]:
    """Global magnitude pruning and k-means sharing without retraining: (model, codes).

    The quick what-if behind the sparsity x bits explorer of notebooks/06.
    """
    pruned = graph.copy_model(check_model(model, built=True))
    # sparsity 0 would leave every gap 0: an index stream of one symbol, which no Huffman code needs
    sparsity = check_number("sparsity", sparsity, 0.0, 1.0, low_open=True, high_open=True)
    pruning.prune(pruned, sparsity, scope="global")
    pruned = pruning.strip(pruned)
    per_layer = dict.fromkeys([layer.name for layer in graph.select_layers(pruned)],
                              check_int("bits", bits, 2, 16))
    shared, books = share_weights(pruned, per_layer, epochs=0)
    return shared, encode(shared, books, per_layer, index_bits)


def _grid_axis(name: str, values: Sequence, check: Callable) -> list:
    """A non-empty list or tuple of distinct values, each passing check(f"{name}[i]", v)."""
    if not isinstance(values, list | tuple):
        raise TypeError(f"{name} must be a list or tuple, got {type(values).__name__}")
    if not values:
        raise ValueError(f"{name} must be non-empty")
    checked = [check(f"{name}[{i}]", v) for i, v in enumerate(values)]
    if len(set(checked)) != len(checked):
        raise ValueError(f"{name} must hold distinct values, got {list(values)}")
    return checked


def _grid_point(cfg: dict, model: keras.Model, data: tuple[np.ndarray, np.ndarray],
               index_bits: int = 5) -> dict:
    """One compression_grid row: one_shot at cfg's "sparsity" and "bits", accuracy and size."""
    shared, codes = one_shot(model, cfg["sparsity"], cfg["bits"], index_bits)
    total = coding.compressed_size(codes)[-1]
    return {"sparsity": cfg["sparsity"], "bits": cfg["bits"],
            "accuracy": models.accuracy(shared, data),
            "compressed_bytes": total["compressed_bytes"],
            "original_bytes": total["original_bytes"], "ratio": total["ratio"]}


def compression_grid(model: keras.Model, data: tuple[np.ndarray, np.ndarray],
                     sparsities: Sequence[float], bits: Sequence[int], index_bits: int = 5,
                     backend: str | None = None) -> list[dict]:
    """one_shot at every (sparsity, bits): test accuracy and P+Q+H size, one row per pair.

    Rows {"sparsity", "bits", "accuracy", "compressed_bytes", "original_bytes", "ratio"} in
    sparsity-major order (coding.compressed_size's total row), each pair a sweep.sweep
    configuration run by `backend`; the static view beside the sparsity x bits
    explorer of notebooks/06_mnist_case_study.ipynb (plots.compression_grid).
    """
    check_model(model, built=True)
    data = check_labelled(data)
    sparsities = _grid_axis("sparsities", sparsities, check_fraction)
    bits = _grid_axis("bits", bits, lambda name, b: check_int(name, b, 2, 16))
    index_bits = check_int("index_bits", index_bits, 1, 16)
    run = partial(_grid_point, model=model, data=data, index_bits=index_bits)
    return sweep.sweep(run, [{"sparsity": s, "bits": b} for s in sparsities for b in bits],
                       backend, desc="sparsity x bits")
