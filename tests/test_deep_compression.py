"""Tests for compress_lib.deep_compression: weight sharing, coding and decoding of real models.

compression_grid is tested with the compression explorer (tests/test_widgets.py); its and
search_codes' serial and Ray rows are compared in tests/test_sweep.py.
"""

import keras
import numpy as np
import pytest

from compress_lib import coding
from compress_lib import config
from compress_lib import deep_compression as dc
from compress_lib import graph
from compress_lib import models
from compress_lib import pruning

# Per-layer widths whose sorted order (3, 5, 6) is not the layer order: share_weights runs
# one k-means pass per width, so its books come out in another order than the layers.
BITS = {"fc1": 6, "fc2": 3, "logits": 5}


def _kernels(model: keras.Model) -> dict[str, np.ndarray]:
    """Every weighted layer's kernel, by name."""
    return {layer.name: np.asarray(layer.kernel) for layer in graph.select_layers(model)}


@pytest.fixture(scope="module")
def pruned(trained):
    """The trained 784-128-64-10 MLP with 80% of each kernel pruned, masks stripped."""
    copy = graph.copy_model(trained)
    pruning.prune(copy, 0.8)
    return pruning.strip(copy)


@pytest.fixture(scope="module")
def shared(pruned, mnist):
    """share_weights with BITS and one epoch of centroid fine-tuning on 512 images."""
    (x, y), _ = mnist
    keras.utils.set_random_seed(0)
    return dc.share_weights(pruned, BITS, (x[:512], y[:512]), epochs=1, progress=False)


# ---------------------------------------------------------------- share_weights

def test_share_weights_respects_per_layer_bits(pruned, shared):
    before = _kernels(pruned)
    model, books = shared
    assert set(books) == set(BITS)
    for name, kernel in _kernels(model).items():
        codebook, idx = books[name]
        assert codebook[0] == 0.0 and codebook.size <= 2 ** BITS[name]
        assert np.unique(kernel).size <= 2 ** BITS[name]
        np.testing.assert_array_equal(kernel, codebook[idx])
        np.testing.assert_array_equal(kernel == 0, before[name] == 0)  # zeros kept, none added
        np.testing.assert_array_equal(idx == 0, before[name] == 0)
    assert _kernels(pruned).keys() == before.keys()
    for name, kernel in _kernels(pruned).items():  # the pruned model is untouched
        np.testing.assert_array_equal(kernel, before[name])
    assert np.unique(before["fc2"]).size > 2 ** BITS["fc2"]


def test_share_weights_fine_tuning_moves_only_the_nonzero_centroids(pruned, shared):
    _, untrained = dc.share_weights(pruned, BITS, epochs=0)
    _, books = shared
    for name, (codebook, idx) in books.items():
        np.testing.assert_array_equal(idx, untrained[name][1])
        assert untrained[name][0][0] == codebook[0] == 0.0
        assert np.all(codebook[1:] != untrained[name][0][1:])


def test_share_weights_bad_input(pruned, mnist):
    (x, y), _ = mnist
    cases = [
        ({**BITS, "fc9": 4}, {}, ValueError, r"bits must name every weighted layer \['fc1', "
                                             r"'fc2', 'logits'\] exactly, got .*'fc9'"),
        ({"fc1": 6, "fc2": 3}, {}, ValueError, "bits must name every weighted layer"),
        ({}, {}, ValueError, "bits must name every weighted layer"),
        ({**BITS, "fc2": 1}, {}, ValueError, r"bits\['fc2'\] must be an int in \[2, 16\]"),
        ({**BITS, "fc2": 17}, {}, ValueError, r"bits\['fc2'\]"),
        ({**BITS, "fc2": True}, {}, TypeError, r"bits\['fc2'\]"),
        ([6, 3, 5], {}, TypeError, "bits must be a dict"),
        (BITS, {"epochs": 1}, ValueError, "data is needed to fine-tune"),
        (BITS, {"epochs": -1}, ValueError, "epochs"),
        (BITS, {"epochs": 1.0}, TypeError, "epochs"),
        (BITS, {"epochs": 1, "data": x[:8]}, TypeError, "data"),
    ]
    for bits, kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            dc.share_weights(pruned, bits, **kwargs)
    with pytest.raises(TypeError, match="model"):
        dc.share_weights(None, BITS)


def test_share_weights_refuses_a_fully_pruned_layer(pruned):
    """A layer with no weight left (global pruning can do this) is named, not a k-means error."""
    copy = graph.copy_model(pruned)
    copy.get_layer("fc2").kernel.assign(np.zeros((128, 64), np.float32))
    with pytest.raises(ValueError, match=r"model: layers \['fc2'\] are fully pruned"):
        dc.share_weights(copy, BITS, epochs=0)


# ---------------------------------------------------------------- encode / decode

def test_encode_decode_is_bit_exact(shared, mnist):
    _, (xt, _) = mnist
    model, books = shared
    codes = dc.encode(model, books, BITS)
    assert list(codes) == ["fc1", "fc2", "logits"]  # layer order, whatever the books' order
    assert [codes[n].weight_bits for n in codes] == [6, 3, 5]
    assert all(codes[n].index_bits == 5 for n in codes)
    rebuilt = dc.decode(models.seed_mlp, codes)
    for layer in graph.select_layers(model):
        new = rebuilt.get_layer(layer.name)
        assert new is not layer
        assert np.asarray(new.kernel).tobytes() == np.asarray(layer.kernel).tobytes()
        assert np.asarray(new.bias).tobytes() == np.asarray(layer.bias).tobytes()
    np.testing.assert_array_equal(models.predict_logits(rebuilt, xt),
                                  models.predict_logits(model, xt))
    kept = {n: int(np.count_nonzero(k)) for n, k in _kernels(model).items()}
    assert {n: c.n_kept for n, c in codes.items()} == kept


def test_encode_with_other_index_bits(shared):
    model, books = shared
    narrow = dc.encode(model, books, BITS, index_bits=2)
    wide = dc.encode(model, books, BITS)
    for name in BITS:  # shorter gaps need more fillers; both decode to the same kernel
        assert narrow[name].index_bits == 2
        assert narrow[name].n_entries > wide[name].n_entries
        np.testing.assert_array_equal(coding.decode_layer(narrow[name])[0],
                                      coding.decode_layer(wide[name])[0])


def test_encode_refuses_books_that_do_not_match(pruned, shared):
    model, books = shared
    _, untrained = dc.share_weights(pruned, BITS, epochs=0)  # the centroids before training
    with pytest.raises(ValueError, match="layer 'fc1': kernel differs from codebook"):
        dc.encode(model, untrained, BITS)
    with pytest.raises(ValueError, match=r"books must hold every weighted layer \['fc1', "
                                         r"'fc2', 'logits'\] .*got \['fc1', 'fc2'\]"):
        dc.encode(model, {n: books[n] for n in ("fc1", "fc2")}, BITS)
    with pytest.raises(TypeError, match="books must be the dict that share_weights returns"):
        dc.encode(model, list(books.values()), BITS)
    with pytest.raises(ValueError, match="bits must name every weighted layer"):
        dc.encode(model, books, {"fc1": 6, "fc2": 3})
    with pytest.raises(ValueError, match="codebook must have at most 2\\*\\*weight_bits = 8"):
        dc.encode(model, books, {**BITS, "fc1": 3})
    with pytest.raises(ValueError, match="index_bits"):
        dc.encode(model, books, BITS, index_bits=0)


def test_decode_refuses_codes_that_do_not_match(shared):
    model, books = shared
    codes = dc.encode(model, books, BITS)
    with pytest.raises(ValueError, match=r"codes must hold every weighted layer \['fc1', 'fc2', "
                                         r"'logits'\] of build\(\), got \['fc1', 'logits'\]"):
        dc.decode(models.seed_mlp, {n: codes[n] for n in ("fc1", "logits")})
    with pytest.raises(TypeError, match="codes must be the dict that encode returns"):
        dc.decode(models.seed_mlp, list(codes.values()))
    with pytest.raises(TypeError, match="build must be callable"):
        dc.decode("seed_mlp", codes)
    with pytest.raises(TypeError, match=r"build\(\) must be a keras.Model"):
        dc.decode(lambda: None, codes)
    with pytest.raises(ValueError, match=r"codes\['fc1'\] holds weights of shapes "
                                         r"\[\(784, 128\), \(128,\)\], build\(\)'s layer needs "
                                         r"\[\(784, 32\), \(32,\)\]"):
        dc.decode(lambda: models.mlp((32, 64)), codes)


# ---------------------------------------------------------------- search_codes

def test_search_codes_shares_once_per_bits_option_and_encodes_every_width(pruned, mnist):
    (x, y), (xt, yt) = mnist
    other = {**BITS, "fc1": 2}
    rows = dc.search_codes(pruned, [BITS, other], [4, 6], (x[:64], y[:64]), (xt, yt), epochs=0,
                           progress=False)
    assert [(r["bits"], r["index_bits"]) for r in rows] == [(BITS, 4), (BITS, 6), (other, 4),
                                                            (other, 6)]
    assert rows[0]["shared"] is rows[1]["shared"] and rows[0]["shared"] is not rows[2]["shared"]
    reference, books = dc.share_weights(pruned, BITS, epochs=0)
    for row in rows[:2]:
        expected = dc.encode(reference, books, BITS, row["index_bits"])
        assert coding.compressed_size(row["codes"]) == coding.compressed_size(expected)
    for row in rows:
        total = coding.compressed_size(row["codes"])[-1]
        assert row["compressed_bytes"] == total["compressed_bytes"]
        assert row["ratio"] == total["ratio"]
        assert row["error_pct"] == 100 * (1 - models.accuracy(row["shared"], (xt, yt)))
        for name, kernel in _kernels(row["shared"]).items():
            np.testing.assert_array_equal(coding.decode_layer(row["codes"][name])[0], kernel)
    with pytest.raises(ValueError, match="bits_options"):
        dc.search_codes(pruned, [], [5], (x, y), (xt, yt))
    with pytest.raises(ValueError, match="index_bits"):
        dc.search_codes(pruned, [BITS], [], (x, y), (xt, yt))
    with pytest.raises(ValueError, match="index_bits"):
        dc.search_codes(pruned, [BITS], [0], (x, y), (xt, yt))
    with pytest.raises(ValueError, match="bits must name every weighted layer"):
        dc.search_codes(pruned, [BITS, {"fc1": 4}], [5], (x, y), (xt, yt))  # checked up front
    with pytest.raises(ValueError, match="backend must be one of"):
        dc.search_codes(pruned, [BITS], [5], (x, y), (xt, yt), epochs=0, backend="threads")


def test_search_codes_seeds_each_option_with_seed_0(pruned, mnist):
    (x, y), (xt, yt) = mnist
    train = (x[:256], y[:256])
    rows = dc.search_codes(pruned, [BITS, BITS], [5], train, (xt, yt), epochs=1, progress=False,
                           backend="serial")
    config.set_seed(0)  # what the sweep does before each option
    model, books = dc.share_weights(pruned, BITS, train, epochs=1, progress=False)
    expected = coding.compressed_size(dc.encode(model, books, BITS, 5))
    for row in rows:  # fine-tuning shuffles: same seed, same centroids, whatever ran before
        assert row["error_pct"] == 100 * (1 - models.accuracy(model, (xt, yt)))
        assert coding.compressed_size(row["codes"]) == expected
        np.testing.assert_array_equal(models.predict_logits(row["shared"], xt),
                                      models.predict_logits(model, xt))


# ---------------------------------------------------------------- beside_paper

PAPER = {"ip1": ("235K", 8, 6, 4.4, 5, 3.7, 2.32), "ip2": ("30K", 9, 6, 4.4, 5, 4.3, 3.04),
         "ip3": ("1K", 26, 6, 4.3, 5, 3.2, 12.70), "total": ("266K", 8, 6, 5.1, 5, 3.7, 2.49)}


def test_beside_paper_interleaves_rows(shared):
    model, books = shared
    size = coding.compressed_size(dc.encode(model, books, BITS))
    rows = dc.beside_paper(size, PAPER)
    assert [(r["layer"], r["source"]) for r in rows] == [
        ("fc1", "ours"), ("ip1", "paper"), ("fc2", "ours"), ("ip2", "paper"),
        ("logits", "ours"), ("ip3", "paper"), ("total", "ours"), ("total", "paper")]
    columns = ["layer", "source", "weights", "kept %", "w bits", "w bits (H)", "idx bits",
               "idx bits (H)", "rate %"]
    assert all(list(r) == columns for r in rows)
    for ours, row in zip(size, rows[::2], strict=True):
        assert row == {"layer": ours["layer"], "source": "ours", "weights": ours["weights"],
                       "kept %": ours["kept_pct"], "w bits": ours["weight_bits"],
                       "w bits (H)": ours["weight_bits_huffman"],
                       "idx bits": ours["index_bits"],
                       "idx bits (H)": ours["index_bits_huffman"],
                       "rate %": ours["rate_pqh_pct"]}
    assert rows[1] == {"layer": "ip1", "source": "paper", "weights": "235K", "kept %": 8,
                       "w bits": 6, "w bits (H)": 4.4, "idx bits": 5, "idx bits (H)": 3.7,
                       "rate %": 2.32}
    assert [r["w bits"] for r in rows[:6:2]] == [6, 3, 5]


def test_beside_paper_refuses_rows_that_do_not_pair_up(shared):
    model, books = shared
    size = coding.compressed_size(dc.encode(model, books, BITS))
    three = dict(list(PAPER.items())[1:])
    cases = [
        (size, three, ValueError, r"size_rows \(4 rows ending in 'total'\) and paper \(3 layers\)"),
        (size[:-1], three, ValueError, "must pair up, got \\['fc1', 'fc2', 'logits'\\]"),
        ([], {}, ValueError, r"size_rows \(0 rows"),
        (tuple(size), PAPER, TypeError, "size_rows must be compressed_size's list"),
        ([*size[:-1], "total"], PAPER, TypeError, "size_rows must be compressed_size's list"),
        (size, list(PAPER.items()), TypeError, "paper must be a dict"),
        (size, {**PAPER, "ip2": PAPER["ip2"][:-1]}, ValueError,
         r"paper\['ip2'\] must hold 7 values .* got 6"),
        (size, {**PAPER, "ip2": list(PAPER["ip2"])}, TypeError, r"paper\['ip2'\] must be a tuple"),
    ]
    for rows, paper, error, match in cases:
        with pytest.raises(error, match=match):
            dc.beside_paper(rows, paper)


# ---------------------------------------------------------------- ramp

def test_ramp_is_linear_and_ends_at_the_target():
    assert dc.ramp({"fc1": 0.9, "fc2": 0.6}, 3) == [
        {"fc1": 0.3, "fc2": 0.2}, {"fc1": 0.6, "fc2": 0.4}, {"fc1": 0.9, "fc2": 0.6}]
    assert dc.ramp({"a": 0.5}, 1) == [{"a": 0.5}]
    target = {"conv1": 1 - 0.66, "conv2": 0.88, "fc1": 0.92, "logits": 0.0, "x": 0.1234567}
    steps = dc.ramp(target, 7)
    assert len(steps) == 7 and steps[-1] == target  # exactly, unrounded
    for name, s in target.items():
        values = np.array([0.0] + [step[name] for step in steps])
        np.testing.assert_allclose(np.diff(values), s / 7, atol=1e-6)  # equal increments


def test_ramp_bad_input():
    cases = [
        (lambda: dc.ramp({}, 3), ValueError, "target must name at least one layer"),
        (lambda: dc.ramp([0.5], 3), TypeError, "target must be a dict"),
        (lambda: dc.ramp({"fc1": 1.0}, 3), ValueError, r"target\['fc1'\] must be a finite number"),
        (lambda: dc.ramp({"fc1": -0.1}, 3), ValueError, r"target\['fc1'\]"),
        (lambda: dc.ramp({"fc1": float("nan")}, 3), ValueError, r"target\['fc1'\]"),
        (lambda: dc.ramp({"fc1": "0.5"}, 3), TypeError, r"target\['fc1'\]"),
        (lambda: dc.ramp({"fc1": 0.5}, 0), ValueError, "steps must be an int >= 1"),
        (lambda: dc.ramp({"fc1": 0.5}, 2.0), TypeError, "steps"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match):
            call()


# ---------------------------------------------------------------- one_shot

@pytest.mark.parametrize(("sparsity", "bits"), [(0.5, 2), (0.9, 4), (0.95, 5)])
def test_one_shot_gives_the_requested_global_sparsity(trained, sparsity, bits):
    before = _kernels(trained)
    model, codes = dc.one_shot(trained, sparsity, bits)
    kernels = _kernels(model)
    total = sum(k.size for k in kernels.values())
    zeros = sum(int(np.sum(k == 0)) for k in kernels.values())
    assert zeros == pruning.n_pruned(total, sparsity)  # exactly, counted over every kernel
    assert len({round(float(np.mean(k == 0)), 2) for k in kernels.values()}) > 1  # global
    for name, kernel in kernels.items():
        code = codes[name]
        assert code.codebook[0] == 0.0 and code.codebook.size <= 2 ** bits
        assert code.weight_bits == bits and code.n_kept == np.count_nonzero(kernel)
        np.testing.assert_array_equal(coding.decode_layer(code)[0], kernel)
        np.testing.assert_array_equal(_kernels(trained)[name], before[name])  # untouched
    assert all(np.all(k != 0) for k in before.values())


def test_one_shot_bad_input(trained):
    cases = [
        (lambda: dc.one_shot(trained, 1.0, 4), ValueError, "sparsity"),
        (lambda: dc.one_shot(trained, True, 4), TypeError, "sparsity"),
        (lambda: dc.one_shot(trained, 0.9, 1), ValueError, "bits must be an int in"),
        (lambda: dc.one_shot(trained, 0.9, 4.0), TypeError, "bits"),
        (lambda: dc.one_shot(trained, 0.9, 4, index_bits=0), ValueError, "index_bits"),
        (lambda: dc.one_shot(None, 0.9, 4), TypeError, "model"),
        (lambda: dc.one_shot(keras.Sequential([keras.layers.Dense(2)]), 0.9, 4), ValueError,
         "model must be built"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match):
            call()


# ---------------------------------------------------------------- compression_grid

def test_compression_grid_backend_argument(trained, mnist):
    _, test = mnist
    rows = dc.compression_grid(trained, test, [0.7], [3, 5], index_bits=6, backend="serial")
    assert rows == dc.compression_grid(trained, test, [0.7], [3, 5], index_bits=6)
    shared, codes = dc.one_shot(trained, 0.7, 5, index_bits=6)
    assert rows[1]["accuracy"] == models.accuracy(shared, test)
    assert rows[1]["compressed_bytes"] == coding.compressed_size(codes)[-1]["compressed_bytes"]
    with pytest.raises(ValueError, match="backend must be one of"):
        dc.compression_grid(trained, test, [0.7], [3], backend="threads")
    with pytest.raises(TypeError, match="backend must be a str"):
        dc.compression_grid(trained, test, [0.7], [3], backend=1)
