"""Tests of compress_lib.pruning: masks, schedules (vs TF-MOT), callback, strip, structured.

Model-level functions are checked on Sequential, functional and nested (with_jitter) models.
"""

import os
from functools import partial

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from compress_lib import graph  # noqa: E402
from compress_lib import measure  # noqa: E402
from compress_lib import models  # noqa: E402
from compress_lib import pruning as P  # noqa: E402
from compress_lib.distillation import with_jitter  # noqa: E402
from compress_lib.sweep import SweepError  # noqa: E402
from compress_lib.sweep import sweep  # noqa: E402

SPARSITY = st.floats(0.0, 0.999, exclude_max=False)
ARRAYS = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                    elements=st.integers(-4, 4).map(float))  # small ints: many ties


# ---------------------------------------------------------------- masks

@settings(max_examples=200, deadline=None)
@given(w=ARRAYS, s=SPARSITY)
def test_magnitude_mask_exact_count_and_order(w, s):
    keep = P.magnitude_mask(w, s)
    assert keep.shape == w.shape
    assert int((~keep).sum()) == w.size - max(1, round(w.size * (1 - s)))
    if (~keep).any() and keep.any():
        assert np.abs(w[~keep]).max() <= np.abs(w[keep]).min()


@settings(max_examples=100, deadline=None)
@given(w=ARRAYS, s=SPARSITY)
def test_magnitude_mask_ties_prune_earlier_positions_first(w, s):
    keep = P.magnitude_mask(w, s).ravel()
    a = np.abs(w).ravel()
    if (~keep).any() and keep.any():
        t = a[~keep].max()
        tied = np.flatnonzero(a == t)
        # among weights tied at the threshold, the pruned ones come before the kept ones
        assert np.all(np.diff(keep[tied].astype(int)) >= 0)
    np.testing.assert_array_equal(P.magnitude_mask(w, s).ravel(), keep)


def test_magnitude_mask_small_example():
    w = np.array([0.5, -0.1, 0.3, -0.9, 0.1, 0.0])
    np.testing.assert_array_equal(P.magnitude_mask(w, 0.5), [1, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(P.magnitude_mask(w, 0.0), np.ones(6, bool))


@settings(max_examples=50, deadline=None)
@given(a=ARRAYS, b=ARRAYS, s=SPARSITY)
def test_global_masks_exact_total(a, b, s):
    masks = P.global_masks([a, b], s)
    total = a.size + b.size
    assert sum(int((~m).sum()) for m in masks) == total - max(1, round(total * (1 - s)))
    kept = np.concatenate([np.abs(w[m]) for w, m in zip([a, b], masks, strict=True)])
    pruned = np.concatenate([np.abs(w[~m]) for w, m in zip([a, b], masks, strict=True)])
    if kept.size and pruned.size:
        assert pruned.max() <= kept.min()


@settings(max_examples=50, deadline=None)
@given(w=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.sampled_from([4, 8, 12]),
                                          st.integers(1, 5)), elements=st.integers(-3, 3)))
def test_nm_mask_two_of_four(w):
    keep = P.nm_mask(w, 2, 4)
    groups = np.moveaxis(keep, -2, -1).reshape(-1, 4)
    assert np.all(groups.sum(axis=1) == 2)
    a = np.moveaxis(np.abs(w), -2, -1).reshape(-1, 4)
    for k, v in zip(groups, a, strict=True):
        assert v[~k].max() <= v[k].min()


def test_nm_mask_bad_input():
    with pytest.raises(ValueError, match="multiple of m=4"):
        P.nm_mask(np.ones((6, 3)), 2, 4)
    with pytest.raises(ValueError, match="0 < n < m"):
        P.nm_mask(np.ones((8, 3)), 4, 4)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_sparsity_out_of_range(bad):
    with pytest.raises(ValueError, match=r"sparsity must be a finite number in \[0, 1\)"):
        P.magnitude_mask(np.ones(4), bad)


@pytest.mark.parametrize("bad", [True, "0.5", None])
def test_sparsity_wrong_type(bad):
    with pytest.raises(TypeError, match="sparsity must be a number"):
        P.magnitude_mask(np.ones(4), bad)


def test_mask_arguments_type_vs_value():
    with pytest.raises(ValueError, match="non-empty"):
        P.magnitude_mask(np.array([]), 0.5)
    with pytest.raises(ValueError, match="finite"):
        P.magnitude_mask(np.array([1.0, np.nan]), 0.5)
    with pytest.raises(TypeError, match="n must be an int"):
        P.nm_mask(np.ones((8, 3)), 2.0, 4)
    with pytest.raises(ValueError, match="weights must be a non-empty list"):
        P.global_masks([], 0.5)
    with pytest.raises(TypeError, match="n_keep must be an int"):
        P.keep_units(np.ones((3, 4)), 2.5)
    with pytest.raises(ValueError, match=r"n_keep must be an int in \[1, 4\]"):
        P.keep_units(np.ones((3, 4)), 5)


# ---------------------------------------------------------------- schedules

def _formula(s_i, s_f, t0, t1, power, t):
    p = min(1.0, max(0.0, (t - t0) / (t1 - t0)))
    return s_f + (s_i - s_f) * (1 - p) ** power


SCHEDULE_ARGS = st.tuples(st.floats(0, 0.99), st.floats(0, 0.99), st.integers(0, 500),
                          st.integers(1, 2000), st.sampled_from([1, 2, 3, 4.5]),
                          st.integers(1, 200))


@settings(max_examples=200, deadline=None)
@given(args=SCHEDULE_ARGS, t=st.integers(0, 3000))
def test_polynomial_decay_formula(args, t):
    s_i, s_f, t0, n, power, freq = args
    sched = P.PolynomialDecay(s_i, s_f, t0, t0 + n, power=power, frequency=freq)
    assert sched.sparsity(t) == pytest.approx(_formula(s_i, s_f, t0, t0 + n, power, t), abs=1e-6)
    assert sched.should_prune(t) == (t0 <= t <= t0 + n and (t - t0) % freq == 0)
    assert sched(t) == (sched.should_prune(t), sched.sparsity(t))


@settings(max_examples=40, deadline=None)
@given(args=SCHEDULE_ARGS)
def test_polynomial_decay_equals_tfmot(args):
    tfmot = pytest.importorskip("tensorflow_model_optimization")
    import tensorflow as tf

    s_i, s_f, t0, n, power, freq = args
    ours = P.PolynomialDecay(s_i, s_f, t0, t0 + n, power=power, frequency=freq)
    ref = tfmot.sparsity.keras.PolynomialDecay(s_i, s_f, t0, t0 + n, power=power,
                                               frequency=freq)
    steps = sorted({0, t0, t0 + 1, t0 + n // 2, t0 + n, t0 + n + 1, t0 + 2 * n,
                    *np.random.default_rng(n).integers(0, t0 + 2 * n + 1, 10).tolist()})
    for t in steps:
        prune, sparsity = ref(tf.constant(t, tf.int64))
        assert ours.should_prune(t) == bool(prune), t
        assert ours.sparsity(t) == pytest.approx(float(sparsity), abs=1e-6), t


@settings(max_examples=20, deadline=None)
@given(s=st.floats(0, 0.99), t0=st.integers(0, 50), t1=st.sampled_from([-1, 60, 200]),
       freq=st.integers(1, 30))
def test_constant_sparsity_equals_tfmot(s, t0, t1, freq):
    tfmot = pytest.importorskip("tensorflow_model_optimization")
    import tensorflow as tf

    ours = P.ConstantSparsity(s, t0, t1, frequency=freq)
    ref = tfmot.sparsity.keras.ConstantSparsity(s, t0, t1, frequency=freq)
    for t in range(0, 260, 7):
        prune, sparsity = ref(tf.constant(t, tf.int64))
        assert ours(t) == (bool(prune), pytest.approx(float(sparsity), abs=1e-7))


def test_schedule_bad_input():
    with pytest.raises(ValueError, match="end_step must be -1 or >= begin_step"):
        P.PolynomialDecay(0.0, 0.5, 100, 50)
    with pytest.raises(ValueError, match="end_step must be > begin_step"):
        P.PolynomialDecay(0.0, 0.5, 100, 100)
    with pytest.raises(ValueError, match="begin_step must be an int >= 0"):
        P.ConstantSparsity(0.5, -1)
    with pytest.raises(ValueError, match="frequency must be an int >= 1"):
        P.ConstantSparsity(0.5, frequency=0)
    with pytest.raises(ValueError, match=r"final_sparsity must be a finite number in \[0, 1\)"):
        P.PolynomialDecay(0.0, 1.0, 0, 10)
    with pytest.raises(TypeError, match="begin_step must be an int"):
        P.ConstantSparsity(0.5, 1.5)
    with pytest.raises(TypeError, match="power must be a number"):
        P.PolynomialDecay(0.0, 0.5, 0, 10, power="cubic")
    with pytest.raises(ValueError, match="power must be a finite number > 0"):
        P.PolynomialDecay(0.0, 0.5, 0, 10, power=0)


# ---------------------------------------------------------------- training with pruning

@pytest.fixture(scope="module")
def mnist():
    from compress_lib.data import load_mnist

    return load_mnist(flatten=True, n_train=1024, n_test=256)


def _cnn() -> keras.Model:
    """A small functional CNN with every supported kind of layer plus BatchNormalization."""
    x = keras.Input((784,))
    h = keras.layers.Reshape((28, 28, 1))(x)
    h = keras.layers.Conv2D(8, 3, strides=2, name="conv")(h)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.DepthwiseConv2D(3, name="dw")(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(10, name="logits")(keras.layers.ReLU()(h))
    return keras.Model(x, out)


def _functional_mlp(hidden: tuple[int, ...] = (20, 12)) -> keras.Model:
    """models.mlp's layers as a functional model (with a Dropout in between)."""
    x = keras.Input((784,))
    h = x
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(width, activation="relu", name=f"fc{i + 1}")(h)
        h = keras.layers.Dropout(0.1)(h)
    return keras.Model(x, keras.layers.Dense(10, name="logits")(h), name="functional_mlp")


def _nested_cnn() -> keras.Model:
    """The functional CNN wrapped by distillation.with_jitter (a model inside a model)."""
    return with_jitter(_cnn(), 2, seed=0)


@pytest.mark.parametrize("build", [_cnn, _nested_cnn], ids=["functional", "nested"])
def test_callback_keeps_pruned_weights_zero(mnist, capsys, build):
    (x, y), _ = mnist
    keras.utils.set_random_seed(0)
    model = build()
    sched = P.PolynomialDecay(0.0, 0.75, 0, 4, frequency=2)
    cb = P.PruningCallback(sched)
    models.train(model, (x, y), 1, callbacks=[cb], progress=False)
    assert "skipped (not prunable): ['bn (BatchNormalization)']" in capsys.readouterr().out
    assert [t.name for t in cb.targets] == ["conv", "dw", "logits"]
    masks = P.get_masks(model)
    for layer in cb.targets:
        kernel, keep = np.asarray(layer.kernel), masks[layer.name]
        assert np.all(kernel[~keep] == 0)
        assert int((~keep).sum()) == P.n_pruned(kernel.size, 0.75)
    # later training steps (no more mask updates, a fresh optimizer) keep the zeros
    models.train(model, (x, y), 1, progress=False)
    for layer in cb.targets:
        assert np.all(np.asarray(layer.kernel)[~masks[layer.name]] == 0)
        assert np.count_nonzero(np.asarray(layer.kernel)[masks[layer.name]]) > 0


@pytest.mark.parametrize("build", [models.seed_mlp, _cnn, _nested_cnn],
                         ids=["sequential", "functional", "nested"])
def test_strip_gives_identical_predictions(mnist, build):
    (x, y), (xt, _) = mnist
    model = build()
    P.prune(model, 0.6, scope="global")
    models.train(model, (x, y), 1, batch_size=256, progress=False)
    plain = P.strip(model)
    assert not P.get_masks(plain) and not plain.compiled
    assert not any(isinstance(v.constraint, P.MaskConstraint) for v in plain.weights)
    np.testing.assert_array_equal(models.predict_logits(plain, xt),
                                  models.predict_logits(model, xt))
    assert measure.count_nonzero(plain) == measure.count_nonzero(model)
    assert P.sparsity_table(plain) == P.sparsity_table(model)


def test_prune_layer_and_nm_scopes():
    model = models.mlp((16, 8))
    masks = P.prune(model, {"fc1": 0.5, "fc2": 0.25, "logits": 0.0})
    assert [int((~m).sum()) for m in masks.values()] == [392 * 2 * 8, 32, 0]
    model = models.mlp((16, 8))
    P.prune(model, scope="2:4")
    rows = {r["layer"]: r["sparsity"] for r in P.sparsity_table(model)}
    assert rows == {"fc1": 0.5, "fc2": 0.5, "logits": 0.5}


def test_prune_and_sparsity_table_on_a_nested_model_by_regex():
    model = with_jitter(models.mlp((16, 8)), 2, seed=0)
    masks = P.prune(model, 0.5, layers="fc.*")
    assert list(masks) == ["fc1", "fc2"]
    table = P.sparsity_table(model)
    assert [(r["layer"], r["sparsity"]) for r in table] == [
        ("fc1", 0.5), ("fc2", 0.5), ("logits", 0.0)]
    assert table[0]["weights"] == 784 * 16 and table[0]["nonzero"] == 784 * 8


def test_bad_layer_and_scope():
    model = _cnn()
    with pytest.raises(ValueError, match="'bn' is a BatchNormalization; supported: Dense"):
        P.prune(model, 0.5, layers=["bn"])
    with pytest.raises(ValueError, match="no layer named or matching 'nope'"):
        P.prune(model, 0.5, layers=["nope"])
    with pytest.raises(ValueError, match="scope must be"):
        P.prune(model, 0.5, scope="channel")
    with pytest.raises(TypeError, match="scope must be a str"):
        P.prune(model, 0.5, scope=2)
    with pytest.raises(ValueError, match="sparsity: no value for layers"):
        P.prune(model, {"conv": 0.5})
    with pytest.raises(TypeError, match="one number when scope='global'"):
        P.prune(model, {"conv": 0.5}, scope="global")
    with pytest.raises(ValueError, match="sparsity is required"):
        P.prune(model)
    with pytest.raises(TypeError, match="schedule must be a Schedule"):
        P.PruningCallback(0.5)
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        P.prune("lenet", 0.5)
    with pytest.raises(ValueError, match=r"masks: no layers named \['nope'\]"):
        P.apply_masks(model, {"nope": np.ones((3, 3))})


def test_iterative_prune(mnist):
    (x, y), (xt, yt) = mnist
    model = models.mlp((32,))
    rows = P.iterative_prune(model, (x, y), [0.5, 0.8], epochs=1, validation_data=(xt, yt),
                             progress=False)
    assert [r["round"] for r in rows] == [1, 2]
    assert rows[-1]["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert 0.0 <= rows[-1]["accuracy"] <= 1.0
    with pytest.raises(ValueError, match="non-decreasing"):
        P.iterative_prune(model, (x, y), [0.8, 0.5], epochs=1, progress=False)
    with pytest.raises(ValueError, match="must not be empty"):
        P.iterative_prune(model, (x, y), [], epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"sparsities\[1\] must be a finite number"):
        P.iterative_prune(model, (x, y), [0.5, 1.0], epochs=1, progress=False)


def test_sensitivity_scan_restores_weights(mnist):
    _, (xt, yt) = mnist
    model = models.mlp((16,))
    before = [w.copy() for w in model.get_weights()]
    rows = P.sensitivity_scan(model, (xt, yt), [0.0, 0.9], progress=False)
    assert [(r["layer"], r["sparsity"]) for r in rows] == [
        ("fc1", 0.0), ("fc1", 0.9), ("logits", 0.0), ("logits", 0.9)]
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="integer class labels"):
        P.sensitivity_scan(model, (xt, yt.astype(float)), [0.5], progress=False)


def test_sensitivity_scan_rows_match_a_direct_prune_and_restore(mnist, capsys):
    _, test = mnist
    model = models.mlp((16, 8))
    rows = P.sensitivity_scan(model, test, [0.5, 0.9], layers="fc2", backend="serial")
    assert "layer x sparsity: 100%" in capsys.readouterr().out  # progress=True: a sweep's bar
    kernel = np.asarray(model.get_layer("fc2").kernel)
    for row, s in zip(rows, (0.5, 0.9), strict=True):
        copy = graph.copy_model(model)
        copy.get_layer("fc2").kernel.assign(kernel * P.magnitude_mask(kernel, s))
        assert row == {"layer": "fc2", "sparsity": s, "accuracy": models.accuracy(copy, test)}
    np.testing.assert_array_equal(np.asarray(model.get_layer("fc2").kernel), kernel)
    assert P.sensitivity_scan(model, test, [], progress=False) == []
    assert not capsys.readouterr().out  # progress=False: no bar
    with pytest.raises(TypeError, match="progress must be True or False"):
        P.sensitivity_scan(model, test, [0.5], progress=1)
    with pytest.raises(ValueError, match="backend must be one of"):
        P.sensitivity_scan(model, test, [0.5], backend="dask")


# ---------------------------------------------------------------- structured pruning

def _kill_units(model: keras.Model, dead: dict[str, list[int]]) -> None:
    """Zero the incoming weights and biases of the given output units (they output 0 + bias 0)."""
    layers = {layer.name: layer for layer in graph.leaf_layers(model)}
    for name, units in dead.items():
        kernel, bias = layers[name].get_weights()
        kernel[..., units], bias[:] = 0.0, 0.1
        bias[units] = 0.0
        layers[name].set_weights([kernel, bias])


@pytest.mark.parametrize("build", [
    lambda: models.mlp((20, 12)), _functional_mlp,
    lambda: with_jitter(models.mlp((20, 12)), 2, seed=0),
    lambda: with_jitter(_functional_mlp(), 2, seed=0)],
    ids=["sequential", "functional", "nested", "nested_functional"])
def test_structured_identical_when_removing_zero_units(mnist, build):
    _, (xt, _) = mnist
    keras.utils.set_random_seed(1)
    model = build()
    _kill_units(model, {"fc1": [0, 3, 4, 19], "fc2": [1, 2, 11]})
    small = P.structured_prune(model, {"fc1": 16, "fc2": 9}, norm="l2")
    assert [layer.units for layer in graph.select_layers(small)] == [16, 9, 10]
    assert small.name == f"{model.name}_structured"
    np.testing.assert_allclose(models.predict_logits(small, xt[:64]),
                               models.predict_logits(model, xt[:64]),
                               rtol=1e-5, atol=1e-5)


def test_structured_conv_through_pool_and_flatten(mnist):
    _, (xt, _) = mnist
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((784,)), keras.layers.Reshape((28, 28, 1)),
        keras.layers.Conv2D(6, 5, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2), keras.layers.BatchNormalization(name="bn"),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv2"),
        keras.layers.Flatten(), keras.layers.Dense(10, name="logits")])
    for name, dead in (("conv1", [1, 4]), ("conv2", [0, 5, 7])):
        kernel, bias = model.get_layer(name).get_weights()
        kernel[..., dead], bias[dead] = 0.0, 0.0
        model.get_layer(name).set_weights([kernel, bias])
    small = P.structured_prune(model, {"conv1": 4, "conv2": 5})
    assert measure.count_macs(small) < measure.count_macs(model)
    np.testing.assert_allclose(models.predict_logits(small, xt[:32]),
                               models.predict_logits(model, xt[:32]), rtol=1e-5, atol=1e-5)


def test_structured_halves_units_and_macs():
    model = models.lenet_300_100()
    small = P.structured_prune(model, 0.5)
    assert [layer.units for layer in small.layers] == [150, 50, 10]
    assert measure.count_macs(small) == 784 * 150 + 150 * 50 + 50 * 10


def _branching() -> keras.Model:
    x = keras.Input((784,))
    h = keras.layers.Dense(16, name="fc1")(x)
    skip = keras.layers.Dense(16, name="skip")(x)
    out = keras.layers.Dense(10, name="logits")(keras.layers.Add(name="add")([h, skip]))
    return keras.Model(x, out)


def test_structured_bad_input():
    with pytest.raises(ValueError, match="'logits' is not a hidden Dense/Conv2D layer"):
        P.structured_prune(models.lenet_300_100(), {"logits": 5})
    with pytest.raises(ValueError, match=r"keep\['fc1'\] must be a finite number in \(0, 1\]"):
        P.structured_prune(models.lenet_300_100(), 1.5)
    with pytest.raises(ValueError, match=r"keep\['fc1'\] must be an int in \[1, 300\]"):
        P.structured_prune(models.lenet_300_100(), {"fc1": 301})
    with pytest.raises(TypeError, match=r"keep\['fc1'\] must be a number"):
        P.structured_prune(models.lenet_300_100(), "half")
    with pytest.raises(ValueError, match="needs a chain of layers.*'skip' .Dense."):
        P.structured_prune(_branching(), 0.5)
    x = keras.Input((784,))
    functional_in_functional = keras.Model(x, _functional_mlp()(keras.layers.Identity()(x)))
    with pytest.raises(ValueError, match="nested inside a functional model; nest it in a "
                                         "Sequential"):
        P.structured_prune(functional_in_functional, 0.5)
    with pytest.raises(ValueError, match="cannot remove inputs of DepthwiseConv2D|"
                                         "depth_multiplier must be 1"):
        P.structured_prune(keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="c"),
            keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw"),
            keras.layers.Flatten(), keras.layers.Dense(2)]), 0.5)
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        P.structured_prune("lenet", 0.5)
    with pytest.raises(ValueError, match="norm must be one of"):
        P.unit_scores(np.ones((3, 2)), "l3")
    with pytest.raises(ValueError, match="norm must be one of"):
        P.structured_prune(models.lenet_300_100(), 0.5, norm="l3")


def test_add_l2_penalty_on_kernels_not_carried_by_copies():
    model = models.add_l2(models.mlp((8,)), 1e-3)
    kernels = [np.asarray(layer.kernel) for layer in graph.select_layers(model)]
    expected = 1e-3 * sum(float((k.astype(np.float64) ** 2).sum()) for k in kernels)
    assert float(sum(np.asarray(loss) for loss in model.losses)) == pytest.approx(expected,
                                                                                 rel=1e-5)
    assert not graph.copy_model(model).losses  # copies need add_l2 again (notebook 04)
    with pytest.raises(ValueError, match="l2 must be a finite number > 0"):
        models.add_l2(models.mlp((8,)), 0.0)


# ---------------------------------------------------------------- notebook 04's experiments

def test_han_baseline_is_seeded_and_penalised(mnist):
    (x, y), _ = mnist
    a = P.han_baseline((x, y), (1, 1), 1e-4, seed=3)
    b = P.han_baseline((x, y), (1, 0), 1e-4, seed=3)
    c = P.han_baseline((x, y), (1, 0), 1e-4, seed=3)
    assert [layer.units for layer in c.layers] == [300, 100, 10] and c.losses  # L2 attached
    for wb, wc in zip(b.get_weights(), c.get_weights(), strict=True):
        np.testing.assert_array_equal(wb, wc)  # the same seed gives the same network
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])  # the second stage trains
    with pytest.raises(TypeError, match="epochs must be a pair"):
        P.han_baseline((x, y), 2, 1e-4)
    with pytest.raises(ValueError, match=r"epochs\[0\] must be an int >= 1"):
        P.han_baseline((x, y), (0, 1), 1e-4)
    with pytest.raises(ValueError, match="l2 must be a finite number > 0"):
        P.han_baseline((x, y), (1, 0), 0.0)


def test_gradual_prune_reaches_the_exact_sparsity_and_strips(mnist, capsys):
    (x, y), _ = mnist
    keras.utils.set_random_seed(0)
    model = models.mlp((32,))
    pruned = P.gradual_prune(model, (x, y), 0.75, (2, 1), frequency=2, ramp=0.5)
    assert "pruning ['fc1', 'logits']" in capsys.readouterr().out
    assert not P.get_masks(pruned)  # stripped: a plain model
    table = P.sparsity_table(pruned)
    kept = sum(r["nonzero"] for r in table) / sum(r["weights"] for r in table)
    assert kept == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(ValueError, match="ramp must be a finite number in"):
        P.gradual_prune(models.mlp((8,)), (x, y), 0.5, (1, 0), ramp=0.0)
    with pytest.raises(ValueError, match="sparsity must be a finite number in"):
        P.gradual_prune(models.mlp((8,)), (x, y), 1.0, (1, 0))
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        P.gradual_prune("lenet", (x, y), 0.5, (1, 0))


def test_allocation_curve_rows_and_fresh_copies(mnist):
    (x, y), (xt, yt) = mnist
    keras.utils.set_random_seed(0)
    trained = models.mlp((32, 16))
    models.train(trained, (x, y), 1, progress=False)
    weights = [w.copy() for w in trained.get_weights()]
    rows = P.allocation_curve(lambda: graph.copy_model(trained), (x, y), (xt, yt), [0.5, 0.9],
                              epochs=1, progress=False)
    assert [(r["scope"], r["sparsity"]) for r in rows] == [
        ("layer", 0.5), ("layer", 0.9), ("global", 0.5), ("global", 0.9)]
    assert all(0.0 <= r["accuracy_before"] <= 1.0 and 0.0 <= r["accuracy_after"] <= 1.0
               and r["retrain_epochs"] == 1 for r in rows)
    for w, w0 in zip(trained.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(w, w0)  # the original is never pruned
    copy = graph.copy_model(trained)
    P.prune(copy, 0.9, "global")
    same = P.allocation_curve(lambda: graph.copy_model(trained), (x, y), (xt, yt), [0.9],
                              epochs=0, scopes=("global",), progress=False)
    assert same[0]["accuracy_before"] == same[0]["accuracy_after"] == models.accuracy(
        copy, (xt, yt))  # no retraining: before == after == a one-shot prune
    with pytest.raises(ValueError, match=r"scopes\[0\] must be one of"):
        P.allocation_curve(lambda: trained, (x, y), (xt, yt), [0.5], 0, scopes=("2:4",))
    with pytest.raises(ValueError, match="sparsities must not be empty"):
        P.allocation_curve(lambda: trained, (x, y), (xt, yt), [], 0)
    with pytest.raises(TypeError, match="make_model must be callable"):
        P.allocation_curve("lenet", (x, y), (xt, yt), [0.5], 0)
    with pytest.raises(SweepError, match=r"make_model\(\) must be a keras.Model"):
        P.allocation_curve(lambda: "net", (x, y), (xt, yt), [0.5], 0, progress=False)
    with pytest.raises(ValueError, match="backend must be one of"):
        P.allocation_curve(lambda: trained, (x, y), (xt, yt), [0.5], 0, backend="dask")


def test_allocation_curve_points_are_seeded_and_take_a_partial(mnist):
    (x, y), test = mnist
    trained = models.mlp((16,))
    make = partial(P.copy_with_l2, trained, 1e-4)
    rows = [P.allocation_curve(make, (x, y), test, [0.8], 1, scopes=("global",), progress=False)
            for _ in range(2)]
    assert rows[0] == rows[1]  # each point is seeded with 0 by the sweep


def test_copy_with_l2_and_kept_fraction():
    model = models.mlp((8,))
    copy = P.copy_with_l2(model, 1e-3)
    assert copy is not model and copy.losses and not model.losses
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert P.kept_fraction(copy) == 1.0
    P.prune(copy, 0.75, "global")
    assert P.kept_fraction(copy) == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(ValueError, match="l2 must be a finite number > 0"):
        P.copy_with_l2(model, 0.0)
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        P.copy_with_l2("net", 1e-3)


def _method_configs(epochs: int = 2) -> list[dict]:
    """One configuration per method of method_run, to 80% sparsity."""
    configs = [{"method": m, "sparsity": 0.8, "epochs": epochs, "seed": 0} for m in P.METHODS]
    configs[-1]["levels"] = [0.5, 0.8][-epochs:]
    return configs


def test_method_run_rows_and_exact_sparsity(mnist):
    train, test = mnist
    keras.utils.set_random_seed(0)
    dense = models.mlp((32,))
    weights = [w.copy() for w in dense.get_weights()]
    run = partial(P.method_run, dense=dense, data=train, test_data=test, l2=1e-4, frequency=2)
    rows = sweep(run, _method_configs())
    assert [r["method"] for r in rows] == list(P.METHODS)
    for r in rows:
        assert set(r) == {"method", "sparsity", "retrain_epochs", "accuracy_before_retraining",
                          "test_accuracy", "weights_kept", "kept_per_layer"}
        assert r["sparsity"] == 0.8 and r["retrain_epochs"] == 2
        assert r["weights_kept"] == pytest.approx(0.2, abs=1e-3)  # global: exact overall
        assert set(r["kept_per_layer"]) == {"fc1", "logits"}
        assert 0.0 <= r["test_accuracy"] <= 1.0
    assert rows[0]["accuracy_before_retraining"] is not None
    assert rows[1]["accuracy_before_retraining"] is None is rows[2]["accuracy_before_retraining"]
    assert sweep(run, _method_configs()) == rows  # seeded from the configuration
    for w, w0 in zip(dense.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(w, w0)  # the bound dense network is never changed
    bad = _method_configs()[-1]
    with pytest.raises(ValueError, match=r"cfg\['levels'\] must hold epochs=2 sparsities"):
        run({**bad, "levels": [0.8]})
    with pytest.raises(ValueError, match=r"cfg\['levels'\] must hold epochs=2 sparsities"):
        run({**bad, "levels": [0.5, 0.7]})
    with pytest.raises(ValueError, match=r"cfg\['method'\] must be one of"):
        run({**bad, "method": "random"})
    with pytest.raises(ValueError, match=r"cfg\['epochs'\] must be an int >= 1"):
        run({**bad, "epochs": 0})


def test_han_run_is_han_baseline_then_gradual_prune(mnist, capsys):
    train, test = mnist
    run = partial(P.han_run, data=train, test_data=test, base_epochs=(1, 0), epochs=(1, 0),
                  l2=1e-4, sparsity=0.9, frequency=2)
    [row] = sweep(run, [{"seed": 4}], desc=None)
    assert not capsys.readouterr().out  # no epoch bars inside a sweep
    dense = P.han_baseline(train, (1, 0), 1e-4, seed=4)
    pruned = P.gradual_prune(P.copy_with_l2(dense, 1e-4), train, 0.9, (1, 0), frequency=2)
    assert row == {"seed": 4, "dense_accuracy": models.accuracy(dense, test),
                   "pruned_accuracy": models.accuracy(pruned, test),
                   "weights_kept": P.kept_fraction(pruned)}
    assert row["weights_kept"] == pytest.approx(0.1, abs=1e-3)
    with pytest.raises(TypeError, match=r"cfg\['seed'\] must be an int"):
        run({"seed": None})
