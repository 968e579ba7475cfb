"""Probes: every public function of the model modules with bad input.

Modules: measure, pruning, ptq, qat, export, graph, blocks, reference, widgets, plots,
deep_compression, case_study.
Each case calls one function with one bad argument (wrong shape or dtype, NaN/inf, empty,
out of range, None, a bool for a number, an unsupported or nested layer) and asserts the
exception type and that the message names the argument (or the offending layer).
A few cases check what used to be a silent wrong answer and is now a warning.
"""

import inspect
import warnings

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from compress_lib import blocks  # noqa: E402
from compress_lib import case_study  # noqa: E402
from compress_lib import deep_compression  # noqa: E402
from compress_lib import distillation  # noqa: E402
from compress_lib import export  # noqa: E402
from compress_lib import graph  # noqa: E402
from compress_lib import measure  # noqa: E402
from compress_lib import models  # noqa: E402
from compress_lib import plots  # noqa: E402
from compress_lib import pruning  # noqa: E402
from compress_lib import ptq  # noqa: E402
from compress_lib import qat  # noqa: E402
from compress_lib import reference  # noqa: E402
from compress_lib import widgets  # noqa: E402

NAN = float("nan")


def _mlp(name: str = "mlp") -> keras.Model:
    """8 -> 6 -> 3 Dense model with named layers."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8,)),
                             keras.layers.Dense(6, activation="relu", name="fc1"),
                             keras.layers.Dropout(0.1, name="drop"),
                             keras.layers.Dense(3, name="logits")], name=name)


def _with(layer: keras.layers.Layer, shape: tuple) -> keras.Model:
    """A model with one layer of interest, then a Dense classifier."""
    x = keras.Input(shape)
    h = layer(x)
    h = h if len(h.shape) == 2 else keras.layers.Flatten()(h)
    return keras.Model(x, keras.layers.Dense(3, name="out")(h))


@pytest.fixture(scope="module")
def ctx():
    """Tiny models, data and one .tflite buffer shared by the probes."""
    mlp = _mlp()
    rng = np.random.default_rng(0)
    x = rng.random((20, 8), dtype=np.float32)
    y = rng.integers(0, 3, 20)
    q = qat.quantize_model(_mlp("mlp2"))
    flat784 = keras.Sequential([keras.Input((784,)), keras.layers.Dense(4, name="fc1"),
                                keras.layers.Dense(3, name="logits")], name="flat")
    return {
        "mlp": mlp, "x": x, "y": y, "kernel": rng.normal(size=(8, 6)),
        "conv1d": _with(keras.layers.Conv1D(2, 3, name="c1d"), (10, 4)),
        "lstm": _with(keras.layers.LSTM(4, name="lstm"), (5, 3)),
        "convT": _with(keras.layers.Conv2DTranspose(2, 3, name="convT"), (6, 6, 1)),
        "sep": _with(keras.layers.SeparableConv2D(2, 3, name="sep"), (6, 6, 1)),
        "attention": _attention(),
        "open": _open_model(),
        "nested_conv1d": keras.Sequential([keras.Input((10, 4)), _with(
            keras.layers.Conv1D(2, 3, name="inner_c1d"), (10, 4))], name="outer"),
        "jitter": distillation.with_jitter(flat784),
        "qat": q, "buffer": export.to_tflite(mlp, "float32"),
        "unbuilt": keras.Sequential([keras.layers.Dense(2)]),
        "img": keras.Input((8, 8, 4)),
    }


def _open_model() -> keras.Model:
    """A conv model whose image size is unknown (None x None)."""
    x = keras.Input((None, None, 1))
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, name="c2d")(x))
    return keras.Model(x, keras.layers.Dense(3, name="out")(h))


def _attention() -> keras.Model:
    """A functional model with a MultiHeadAttention layer."""
    x = keras.Input((4, 6))
    h = keras.layers.MultiHeadAttention(2, 3, name="attn")(x, x)
    return keras.Model(x, keras.layers.Dense(3, name="out")(keras.layers.Flatten()(h)))


def _fn_count():
    """A trivial no-argument function."""
    return None


BITS = {"fc1": 3, "logits": 3}  # deep_compression bits for _mlp's weighted layers


def _zeroed(name: str) -> keras.Model:
    """_mlp() with the kernel of layer `name` all zero (a fully pruned layer)."""
    model = _mlp()
    layer = model.get_layer(name)
    layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
    return model


# (id, call(ctx), exception type, regex the message must match)
CASES = [
    # ---------------------------------------------------------------- measure
    ("weight_arrays-None", lambda c: measure.weight_arrays(None), TypeError, "model"),
    ("weight_arrays-unbuilt", lambda c: measure.weight_arrays(c["unbuilt"]), ValueError,
     "model must be built"),
    ("count_params-str", lambda c: measure.count_params("mlp"), TypeError, "model"),
    ("count_nonzero-array", lambda c: measure.count_nonzero(np.zeros(3)), TypeError, "model"),
    ("count_macs-conv1d", lambda c: measure.count_macs(c["conv1d"]), TypeError,
     "'c1d' of type Conv1D is not supported; supported"),
    ("count_macs-lstm", lambda c: measure.count_macs(c["lstm"]), TypeError, "'lstm' of type LSTM"),
    ("count_macs-convT", lambda c: measure.count_macs(c["convT"]), TypeError, "Conv2DTranspose"),
    ("count_macs-attention", lambda c: measure.count_macs(c["attention"]), TypeError,
     "'attn' of type MultiHeadAttention"),
    ("count_macs-nested", lambda c: measure.count_macs(c["nested_conv1d"]), TypeError,
     "'inner_c1d'"),
    ("count_macs-unknown-dims", lambda c: measure.count_macs(c["open"]), ValueError,
     "'c2d' .*unknown input dimension"),
    ("count_macs-strict-int", lambda c: measure.count_macs(c["mlp"], strict=1), TypeError,
     "strict"),
    ("count_macs-None", lambda c: measure.count_macs(None), TypeError, "model"),
    ("count_mac_params-lstm", lambda c: measure.count_mac_params(c["lstm"]), TypeError, "'lstm'"),
    ("layer_costs-conv1d", lambda c: measure.layer_costs(c["conv1d"]), TypeError, "'c1d'"),
    ("layer_costs-unknown-dims", lambda c: measure.layer_costs(c["open"]), ValueError,
     "'c2d'"),
    ("layer_macs-str", lambda c: measure.layer_macs("fc1"), TypeError, "layer"),
    ("layer_macs-lstm", lambda c: measure.layer_macs(c["lstm"].get_layer("lstm")), TypeError,
     "'lstm'"),
    ("layer_ops-None", lambda c: measure.layer_ops(None), TypeError, "layer"),
    ("layer_ops-convT", lambda c: measure.layer_ops(c["convT"].get_layer("convT")), TypeError,
     "'convT'"),
    ("float32_bytes-None", lambda c: measure.float32_bytes(None), TypeError, "model"),
    ("gzip_bytes-level-bool", lambda c: measure.gzip_bytes(c["mlp"], level=True), TypeError,
     "level"),
    ("gzip_bytes-level-10", lambda c: measure.gzip_bytes(c["mlp"], level=10), ValueError,
     "level"),
    ("tflite_bytes-str", lambda c: measure.tflite_bytes("abc"), TypeError, "buffer"),
    ("tflite_bytes-empty", lambda c: measure.tflite_bytes(b""), ValueError, "buffer"),
    ("time_fn-None", lambda c: measure.time_fn(None), TypeError, "fn"),
    ("time_fn-repeats-0", lambda c: measure.time_fn(_fn_count, repeats=0), ValueError,
     "repeats"),
    ("time_fn-repeats-bool", lambda c: measure.time_fn(_fn_count, repeats=True), TypeError,
     "repeats"),
    ("time_fn-warmup-neg", lambda c: measure.time_fn(_fn_count, warmup=-1), ValueError,
     "warmup"),
    ("compare_fns-list", lambda c: measure.compare_fns([_fn_count]), TypeError, "fns"),
    ("compare_fns-empty", lambda c: measure.compare_fns({}), ValueError, "fns"),
    ("compare_fns-rounds", lambda c: measure.compare_fns({"a": _fn_count}, repeats=2, rounds=3),
     ValueError, "rounds"),
    ("keras_latency-empty", lambda c: measure.keras_latency({}), ValueError, "models"),
    ("keras_latency-None-model", lambda c: measure.keras_latency({"a": None}), TypeError,
     r"models\['a'\]"),
    ("keras_latency-batch-0", lambda c: measure.keras_latency({"a": c["mlp"]}, batch_size=0),
     ValueError, "batch_size"),
    ("keras_latency-unknown-dims", lambda c: measure.keras_latency({"a": c["open"]}), ValueError,
     r"models\['a'\] has an unknown input size"),
    # ---------------------------------------------------------------- graph
    ("leaf_layers-None", lambda c: graph.leaf_layers(None), TypeError, "model"),
    ("select_layers-None", lambda c: graph.select_layers(None), TypeError, "model"),
    ("select_layers-misspelt", lambda c: graph.select_layers(c["mlp"], "fc9"), ValueError,
     "layers: no layer named or matching 'fc9'"),
    ("select_layers-int", lambda c: graph.select_layers(c["mlp"], [3]), TypeError, "layers"),
    ("select_layers-dropout", lambda c: graph.select_layers(c["mlp"], "drop"), ValueError,
     "layers: 'drop' is a Dropout"),
    ("select_layers-types", lambda c: graph.select_layers(c["mlp"], types="Dense"), TypeError,
     "types"),
    ("select_layers-nested-lstm", lambda c: graph.select_layers(c["lstm"], "lstm"), ValueError,
     "'lstm' is a LSTM"),
    ("skipped_layers-None", lambda c: graph.skipped_layers(None, []), TypeError, "model"),
    ("unsupported_layers-None", lambda c: graph.unsupported_layers(None, graph.KERNEL_LAYERS),
     TypeError, "model"),
    ("check_coverage-conv1d", lambda c: graph.check_coverage(c["conv1d"], graph.KERNEL_LAYERS,
                                                             True, "pruning"),
     ValueError, r"c1d \(Conv1D\)"),
    ("check_coverage-strict-str", lambda c: graph.check_coverage(c["mlp"], graph.KERNEL_LAYERS,
                                                                 "yes", "x"),
     TypeError, "strict"),
    ("copy_model-None", lambda c: graph.copy_model(None), TypeError, "model"),
    ("copy_model-unbuilt", lambda c: graph.copy_model(c["unbuilt"]), ValueError, "built"),
    ("copy_model-name-int", lambda c: graph.copy_model(c["mlp"], name=3), TypeError, "name"),
    ("rewrite-clone-int", lambda c: graph.rewrite(c["mlp"], clone=3), TypeError, "clone"),
    ("rewrite-weights-str", lambda c: graph.rewrite(c["mlp"], weights="w"), TypeError,
     "weights"),
    ("rewrite-insert-int", lambda c: graph.rewrite(c["mlp"], insert_after=1), TypeError,
     "insert_after"),
    # ---------------------------------------------------------------- pruning
    ("n_pruned-size-0", lambda c: pruning.n_pruned(0, 0.5), ValueError, "size"),
    ("n_pruned-sparsity-bool", lambda c: pruning.n_pruned(10, True), TypeError, "sparsity"),
    ("n_pruned-sparsity-nan", lambda c: pruning.n_pruned(10, NAN), ValueError, "sparsity"),
    ("magnitude_mask-nan", lambda c: pruning.magnitude_mask([1.0, NAN], 0.5), ValueError, "w"),
    ("magnitude_mask-inf", lambda c: pruning.magnitude_mask([1.0, np.inf], 0.5), ValueError,
     "w"),
    ("magnitude_mask-empty", lambda c: pruning.magnitude_mask([], 0.5), ValueError, "w"),
    ("magnitude_mask-str", lambda c: pruning.magnitude_mask(["a"], 0.5), TypeError, "w"),
    ("magnitude_mask-sparsity-1", lambda c: pruning.magnitude_mask([1.0, 2.0], 1.0), ValueError,
     "sparsity"),
    ("magnitude_mask-bool-array", lambda c: pruning.magnitude_mask(np.ones(4, bool), 0.5),
     TypeError, "w must be a numeric array"),
    ("unit_scores-bool-array", lambda c: pruning.unit_scores(np.ones((2, 2), bool)), TypeError,
     "kernel"),
    ("global_masks-empty", lambda c: pruning.global_masks([], 0.5), ValueError, "weights"),
    ("global_masks-nan", lambda c: pruning.global_masks([[1.0], [NAN]], 0.5), ValueError,
     r"weights\[1\]"),
    ("nm_mask-n-ge-m", lambda c: pruning.nm_mask(np.ones((8, 2)), 4, 2), ValueError, "n=4"),
    ("nm_mask-not-multiple", lambda c: pruning.nm_mask(np.ones((6, 2)), 2, 4), ValueError,
     "m=4"),
    ("nm_mask-n-bool", lambda c: pruning.nm_mask(np.ones((8, 2)), True, 4), TypeError, "n"),
    ("nm_mask-axis-float", lambda c: pruning.nm_mask(np.ones((8, 2)), axis=0.5), TypeError,
     "axis"),
    ("Schedule-begin-neg", lambda c: pruning.Schedule(begin_step=-1), ValueError, "begin_step"),
    ("Latency-nan", lambda c: measure.Latency(NAN, 1.0, 2.0, 5), ValueError, "median_ms"),
    ("Latency-order", lambda c: measure.Latency(1.0, 2.0, 3.0, 5), ValueError, "p10_ms"),
    ("Latency-repeats-0", lambda c: measure.Latency(1.0, 1.0, 1.0, 0), ValueError, "repeats"),
    ("Schedule-step-neg", lambda c: pruning.Schedule().should_prune(-1), ValueError, "step"),
    ("Schedule-step-float", lambda c: pruning.Schedule()(1.5), TypeError, "step"),
    ("ConstantSparsity-step-neg", lambda c: pruning.ConstantSparsity(0.5).sparsity(-3),
     ValueError, "step"),
    ("PolynomialDecay-step-float", lambda c: pruning.PolynomialDecay(0.0, 0.5, 0, 10).sparsity(
        2.5), TypeError, "step"),
    ("Schedule-end-before-begin", lambda c: pruning.Schedule(5, 2), ValueError, "end_step"),
    ("Schedule-frequency-0", lambda c: pruning.Schedule(frequency=0), ValueError, "frequency"),
    ("ConstantSparsity-1", lambda c: pruning.ConstantSparsity(1.0), ValueError,
     "target_sparsity"),
    ("ConstantSparsity-bool", lambda c: pruning.ConstantSparsity(True), TypeError,
     "target_sparsity"),
    ("PolynomialDecay-end", lambda c: pruning.PolynomialDecay(0.0, 0.5, 10, 10), ValueError,
     "end_step"),
    ("PolynomialDecay-power-0", lambda c: pruning.PolynomialDecay(0.0, 0.5, 0, 10, power=0),
     ValueError, "power"),
    ("PolynomialDecay-final-nan", lambda c: pruning.PolynomialDecay(0.0, NAN, 0, 10),
     ValueError, "final_sparsity"),
    ("MaskConstraint-str", lambda c: pruning.MaskConstraint(["a"]), TypeError, "mask"),
    ("MaskConstraint-half", lambda c: pruning.MaskConstraint([0.5, 1.0]), ValueError, "mask"),
    ("compute_masks-model", lambda c: pruning.compute_masks(c["mlp"], 0.5), TypeError, "layers"),
    ("han_baseline-epochs-int", lambda c: pruning.han_baseline((c["x"], c["y"]), 2, 1e-4),
     TypeError, "epochs"),
    ("han_baseline-epochs-0", lambda c: pruning.han_baseline((c["x"], c["y"]), (0, 1), 1e-4),
     ValueError, "epochs"),
    ("han_baseline-labels-2d", lambda c: pruning.han_baseline((c["x"], c["y"][:, None]), (1, 0),
                                                              1e-4), ValueError, "labels"),
    ("gradual_prune-sparsity", lambda c: pruning.gradual_prune(_mlp(), (c["x"], c["y"]), 1.0,
                                                               (1, 0)), ValueError, "sparsity"),
    ("gradual_prune-ramp", lambda c: pruning.gradual_prune(_mlp(), (c["x"], c["y"]), 0.5, (1, 0),
                                                           ramp=0.0), ValueError, "ramp"),
    ("gradual_prune-unbuilt", lambda c: pruning.gradual_prune(c["unbuilt"], (c["x"], c["y"]),
                                                              0.5, (1, 0)), ValueError, "built"),
    ("allocation_curve-scopes-str", lambda c: pruning.allocation_curve(
        _mlp, (c["x"], c["y"]), (c["x"], c["y"]), [0.5], 0, scopes="global"), TypeError, "scopes"),
    ("allocation_curve-sparsities-empty", lambda c: pruning.allocation_curve(
        _mlp, (c["x"], c["y"]), (c["x"], c["y"]), [], 0), ValueError, "sparsities"),
    ("allocation_curve-scope", lambda c: pruning.allocation_curve(
        _mlp, (c["x"], c["y"]), (c["x"], c["y"]), [0.5], 0, scopes=["row"]), ValueError, "scope"),
    ("allocation_curve-make_model", lambda c: pruning.allocation_curve(
        c["mlp"], (c["x"], c["y"]), (c["x"], c["y"]), [0.5], 0), TypeError, "make_model"),
    ("compute_masks-empty", lambda c: pruning.compute_masks([], 0.5), ValueError, "layers"),
    ("compute_masks-dropout", lambda c: pruning.compute_masks([c["mlp"].get_layer("drop")], 0.5),
     TypeError, r"layers\[0\]"),
    ("compute_masks-misspelt", lambda c: pruning.compute_masks(
        graph.select_layers(c["mlp"]), {"fc1": 0.5, "logitz": 0.5}), ValueError,
     r"no prunable layer named \['logitz'\]; valid names: \['fc1', 'logits'\]"),
    ("compute_masks-scope", lambda c: pruning.compute_masks(graph.select_layers(c["mlp"]), 0.5,
                                                            "layers"), ValueError, "scope"),
    ("compute_masks-global-dict", lambda c: pruning.compute_masks(
        graph.select_layers(c["mlp"]), {"fc1": 0.5}, "global"), TypeError, "sparsity"),
    ("set_mask-shape", lambda c: pruning.set_mask(c["mlp"].get_layer("fc1"), np.ones((6, 8))),
     ValueError, "mask shape"),
    ("set_mask-half", lambda c: pruning.set_mask(c["mlp"].get_layer("fc1"),
                                                 np.full((8, 6), 0.5)), ValueError, "mask"),
    ("set_mask-nan", lambda c: pruning.set_mask(c["mlp"].get_layer("fc1"),
                                                np.full((8, 6), NAN)), ValueError, "mask"),
    ("set_mask-layer-str", lambda c: pruning.set_mask("fc1", np.ones((8, 6))), TypeError,
     "layer"),
    ("apply_masks-list", lambda c: pruning.apply_masks(c["mlp"], [np.ones((8, 6))]), TypeError,
     "masks"),
    ("apply_masks-unknown", lambda c: pruning.apply_masks(c["mlp"], {"fc9": np.ones((8, 6))}),
     ValueError, "masks"),
    ("get_masks-None", lambda c: pruning.get_masks(None), TypeError, "model"),
    ("prune-misspelt", lambda c: pruning.prune(_mlp(), {"fc1": 0.5, "logitz": 0.5}),
     ValueError, "valid names"),
    ("prune-missing", lambda c: pruning.prune(_mlp(), {"fc1": 0.5}), ValueError,
     r"sparsity: no value for layers \['logits'\]"),
    ("prune-conv1d", lambda c: pruning.prune(c["conv1d"], 0.5), ValueError,
     r"pruning supports Dense, Conv2D, DepthwiseConv2D layers only; .*c1d \(Conv1D\)"),
    ("prune-lstm", lambda c: pruning.prune(c["lstm"], 0.5), ValueError, r"lstm \(LSTM\)"),
    ("prune-convT", lambda c: pruning.prune(c["convT"], 0.5), ValueError, "Conv2DTranspose"),
    ("prune-separable", lambda c: pruning.prune(c["sep"], 0.5), ValueError, "SeparableConv2D"),
    ("prune-attention", lambda c: pruning.prune(c["attention"], 0.5), ValueError,
     "MultiHeadAttention"),
    ("prune-nested-conv1d", lambda c: pruning.prune(c["nested_conv1d"], 0.5), ValueError,
     "inner_c1d"),
    ("prune-None-sparsity", lambda c: pruning.prune(_mlp(), None), ValueError, "sparsity"),
    ("prune-bool-sparsity", lambda c: pruning.prune(_mlp(), True), TypeError, "sparsity"),
    ("prune-scope-int", lambda c: pruning.prune(_mlp(), 0.5, scope=3), TypeError, "scope"),
    ("prune-strict-str", lambda c: pruning.prune(_mlp(), 0.5, strict="no"), TypeError, "strict"),
    ("prune-None-model", lambda c: pruning.prune(None, 0.5), TypeError, "model"),
    ("strip-None", lambda c: pruning.strip(None), TypeError, "model"),
    ("sparsity_table-None", lambda c: pruning.sparsity_table(None), TypeError, "model"),
    ("PruningCallback-schedule", lambda c: pruning.PruningCallback(0.5), TypeError, "schedule"),
    ("PruningCallback-scope", lambda c: pruning.PruningCallback(
        pruning.ConstantSparsity(0.5), scope="all"), ValueError, "scope"),
    ("PruningCallback-strict", lambda c: pruning.PruningCallback(
        pruning.ConstantSparsity(0.5), strict=1), TypeError, "strict"),
    ("iterative_prune-empty", lambda c: pruning.iterative_prune(_mlp(), (c["x"], c["y"]), [], 1),
     ValueError, "sparsities"),
    ("iterative_prune-decreasing", lambda c: pruning.iterative_prune(
        _mlp(), (c["x"], c["y"]), [0.5, 0.2], 1), ValueError, "non-decreasing"),
    ("iterative_prune-labels-2d", lambda c: pruning.iterative_prune(
        _mlp(), (c["x"], c["y"][:, None]), [0.5], 1), ValueError, r"y must have shape \(n,\)"),
    ("iterative_prune-epochs-0", lambda c: pruning.iterative_prune(
        _mlp(), (c["x"], c["y"]), [0.5], 0), ValueError, "epochs"),
    ("iterative_prune-validation", lambda c: pruning.iterative_prune(
        _mlp(), (c["x"], c["y"]), [0.5], 1, validation_data=c["x"]), TypeError,
     "validation_data"),
    ("copy_with_l2-model", lambda c: pruning.copy_with_l2("x", 1e-4), TypeError, "model"),
    ("copy_with_l2-l2", lambda c: pruning.copy_with_l2(c["mlp"], -1.0), ValueError, "l2"),
    ("kept_fraction-model", lambda c: pruning.kept_fraction(None), TypeError, "model"),
    ("method_run-method", lambda c: pruning.method_run(
        {"method": "random", "sparsity": 0.9, "epochs": 1}, c["mlp"], (c["x"], c["y"]),
        (c["x"], c["y"]), 1e-4), ValueError, r"cfg\['method'\]"),
    ("method_run-levels", lambda c: pruning.method_run(
        {"method": "iterative", "sparsity": 0.9, "epochs": 1}, c["mlp"], (c["x"], c["y"]),
        (c["x"], c["y"]), 1e-4), ValueError, r"cfg\['levels'\]"),
    ("method_run-test-data-x", lambda c: pruning.method_run(
        {"method": "gradual", "sparsity": 0.9, "epochs": 1}, c["mlp"], (c["x"], c["y"]), c["x"],
        1e-4), TypeError, "test_data"),
    ("han_run-seed", lambda c: pruning.han_run({"seed": -1}, (c["x"], c["y"]), (c["x"], c["y"]),
                                               (1, 0), (1, 0), 1e-4), ValueError, r"cfg\['seed'\]"),
    ("han_run-test-data-x", lambda c: pruning.han_run(
        {"seed": 0}, (c["x"], c["y"]), c["x"], (1, 0), (1, 0), 1e-4), TypeError, "test_data"),
    ("sensitivity_scan-onehot", lambda c: pruning.sensitivity_scan(
        c["mlp"], (c["x"], np.eye(3)[c["y"]]), [0.5]), TypeError, "y must be integer"),
    ("sensitivity_scan-sparsity", lambda c: pruning.sensitivity_scan(
        c["mlp"], (c["x"], c["y"]), [1.0]), ValueError, r"sparsities\[0\]"),
    ("sensitivity_scan-conv1d", lambda c: pruning.sensitivity_scan(
        c["conv1d"], (np.zeros((2, 10, 4)), np.zeros(2, int)), [0.5]), ValueError, "c1d"),
    ("sensitivity_scan-data-x", lambda c: pruning.sensitivity_scan(c["mlp"], c["x"], [0.5]),
     TypeError, "data"),
    ("unit_scores-norm", lambda c: pruning.unit_scores(c["kernel"], "l3"), ValueError, "norm"),
    ("unit_scores-1d", lambda c: pruning.unit_scores(np.ones(4)), ValueError, "kernel"),
    ("unit_scores-nan", lambda c: pruning.unit_scores(np.full((2, 2), NAN)), ValueError,
     "kernel"),
    ("keep_units-0", lambda c: pruning.keep_units(c["kernel"], 0), ValueError, "n_keep"),
    ("keep_units-too-many", lambda c: pruning.keep_units(c["kernel"], 7), ValueError, "n_keep"),
    ("keep_units-bool", lambda c: pruning.keep_units(c["kernel"], True), TypeError, "n_keep"),
    ("structured_prune-keep-0", lambda c: pruning.structured_prune(c["mlp"], 0), ValueError,
     r"keep\['fc1'\]"),
    ("structured_prune-keep-1.5", lambda c: pruning.structured_prune(c["mlp"], 1.5), ValueError,
     r"keep\['fc1'\]"),
    ("structured_prune-keep-bool", lambda c: pruning.structured_prune(c["mlp"], True), TypeError,
     r"keep\['fc1'\]"),
    ("structured_prune-keep-nan", lambda c: pruning.structured_prune(c["mlp"], NAN), ValueError,
     r"keep\['fc1'\]"),
    ("structured_prune-misspelt", lambda c: pruning.structured_prune(c["mlp"], {"fc2": 0.5}),
     ValueError, r"keep: 'fc2' is not a hidden Dense/Conv2D layer; choose from \['fc1'\]"),
    ("structured_prune-norm", lambda c: pruning.structured_prune(c["mlp"], norm="l0"),
     ValueError, "norm"),
    ("structured_prune-conv1d", lambda c: pruning.structured_prune(c["conv1d"]), ValueError,
     r"structured_prune supports .*c1d \(Conv1D\)"),
    ("structured_prune-lstm", lambda c: pruning.structured_prune(c["lstm"]), ValueError, "LSTM"),
    ("structured_prune-strict", lambda c: pruning.structured_prune(c["mlp"], strict=None),
     TypeError, "strict"),
    # ---------------------------------------------------------------- ptq
    ("map_weights-fn", lambda c: ptq.map_weights(c["mlp"], 3), TypeError, "fn"),
    ("map_weights-fn-shape", lambda c: ptq.map_weights(c["mlp"], lambda w: w[:1]), ValueError,
     "fn must return .*'fc1'"),
    ("map_weights-fn-nan", lambda c: ptq.map_weights(c["mlp"], lambda w: w * NAN), ValueError,
     "fn must return a finite array"),
    ("map_weights-conv1d", lambda c: ptq.map_weights(c["conv1d"], np.sign), ValueError, "c1d"),
    ("map_weights-None", lambda c: ptq.map_weights(None, np.sign), TypeError, "model"),
    ("quantize_weights-bits-0", lambda c: ptq.quantize_weights(c["mlp"], 0), ValueError, "bits"),
    ("quantize_weights-bits-bool", lambda c: ptq.quantize_weights(c["mlp"], True), TypeError,
     "bits"),
    ("quantize_weights-symmetric", lambda c: ptq.quantize_weights(c["mlp"], 8, symmetric="yes"),
     TypeError, "symmetric"),
    ("quantize_weights-per_channel", lambda c: ptq.quantize_weights(c["mlp"], 8, per_channel=0),
     TypeError, "per_channel"),
    ("quantize_weights-method", lambda c: ptq.quantize_weights(c["mlp"], 8, method="max"),
     ValueError, "method"),
    ("quantize_weights-misspelt", lambda c: ptq.quantize_weights(c["mlp"], 8, layers="fc9"),
     ValueError, "fc9"),
    ("quantize_weights-conv1d", lambda c: ptq.quantize_weights(c["conv1d"], 8), ValueError,
     r"quantize_weights supports .*c1d \(Conv1D\)"),
    ("quantize_weights-lstm", lambda c: ptq.quantize_weights(c["lstm"], 8), ValueError, "LSTM"),
    ("quantize_weights-convT", lambda c: ptq.quantize_weights(c["convT"], 8), ValueError,
     "Conv2DTranspose"),
    ("quantize_weights-separable", lambda c: ptq.quantize_weights(c["sep"], 8), ValueError,
     "SeparableConv2D"),
    ("quantize_weights-nested", lambda c: ptq.quantize_weights(c["nested_conv1d"], 8),
     ValueError, "inner_c1d"),
    ("quantize_weights-unbuilt", lambda c: ptq.quantize_weights(c["unbuilt"], 8), ValueError,
     "built"),
    ("kmeans_model-bits-0", lambda c: ptq.kmeans_model(c["mlp"], 0), ValueError, "bits"),
    ("kmeans_model-conv1d", lambda c: ptq.kmeans_model(c["conv1d"], 2), ValueError, "c1d"),
    ("kmeans_model-strict", lambda c: ptq.kmeans_model(c["mlp"], 2, strict="no"), TypeError,
     "strict"),
    ("finetune_kmeans-books-list", lambda c: ptq.finetune_kmeans(c["mlp"], [], (c["x"], c["y"])),
     TypeError, "books"),
    ("finetune_kmeans-books-shape", lambda c: ptq.finetune_kmeans(
        c["mlp"], {"fc1": (np.zeros(4), np.zeros((6, 8), int))}, (c["x"], c["y"])), ValueError,
     r"books\['fc1'\]"),
    ("finetune_kmeans-books-index", lambda c: ptq.finetune_kmeans(
        c["mlp"], {"fc1": (np.zeros(4), np.full((8, 6), 4))}, (c["x"], c["y"])), ValueError,
     r"books\['fc1'\]"),
    ("finetune_kmeans-books-name", lambda c: ptq.finetune_kmeans(
        c["mlp"], {"fc9": (np.zeros(4), np.zeros((8, 6), int))}, (c["x"], c["y"])), ValueError,
     "fc9"),
    ("finetune_kmeans-labels", lambda c: ptq.finetune_kmeans(
        _mlp(), ptq.kmeans_model(_mlp(), 2)[1], (c["x"], c["y"][:, None])), ValueError,
     r"shape \(n,\)"),
    # ---------------------------------------------------------------- qat
    ("channel_axes-dropout", lambda c: qat.channel_axes(c["mlp"].get_layer("drop")), TypeError,
     "layer"),
    ("fake_quant_weight-bits-1", lambda c: qat.fake_quant_weight(np.ones((2, 2)), 1, (0,)),
     ValueError, "bits"),
    ("fake_quant_activation-bits-bool", lambda c: qat.fake_quant_activation(
        np.ones(2), -1.0, 1.0, True), TypeError, "bits"),
    ("fake_quant_activation-range", lambda c: qat.fake_quant_activation(np.ones(2), 1.0, 2.0, 8),
     ValueError, "lo and hi"),
    ("QuantDense-bits", lambda c: qat.QuantDense(3, weight_bits=1), ValueError, "weight_bits"),
    ("QuantConv2D-bits-bool", lambda c: qat.QuantConv2D(3, 3, weight_bits=True), TypeError,
     "weight_bits"),
    ("QuantDepthwiseConv2D-bits", lambda c: qat.QuantDepthwiseConv2D(3, weight_bits=64),
     ValueError, "weight_bits"),
    ("ActivationQuantizer-bits", lambda c: qat.ActivationQuantizer(bits=0), ValueError, "bits"),
    ("ActivationQuantizer-momentum", lambda c: qat.ActivationQuantizer(momentum=1.0), ValueError,
     "momentum"),
    ("FixedFakeQuant-range", lambda c: qat.FixedFakeQuant(1.0, 2.0), ValueError, "range"),
    ("FixedFakeQuant-str", lambda c: qat.FixedFakeQuant("a", 1.0), TypeError, "range_min"),
    ("FixedFakeQuant-nan", lambda c: qat.FixedFakeQuant(-1.0, NAN), ValueError, "range_max"),
    ("quantize_model-None", lambda c: qat.quantize_model(None), TypeError, "model"),
    ("quantize_model-bits", lambda c: qat.quantize_model(c["mlp"], weight_bits=1), ValueError,
     "weight_bits"),
    ("quantize_model-act-bits", lambda c: qat.quantize_model(c["mlp"], activation_bits=False),
     TypeError, "activation_bits"),
    ("quantize_model-conv1d", lambda c: qat.quantize_model(c["conv1d"]), ValueError,
     r"QAT supports .*c1d \(Conv1D\)"),
    ("quantize_model-lstm", lambda c: qat.quantize_model(c["lstm"]), ValueError, "LSTM"),
    ("quantize_model-separable", lambda c: qat.quantize_model(c["sep"]), ValueError,
     "SeparableConv2D"),
    ("quantize_model-strict", lambda c: qat.quantize_model(c["mlp"], strict=0), TypeError,
     "strict"),
    ("calibrate-nan", lambda c: qat.calibrate_activations(c["qat"], np.full((2, 8), NAN)),
     ValueError, "x"),
    ("calibrate-1d", lambda c: qat.calibrate_activations(c["qat"], np.ones(8)), ValueError, "x"),
    ("calibrate-features", lambda c: qat.calibrate_activations(c["qat"], np.ones((2, 9))),
     ValueError, r"x must have per-example shape \(8,\)"),
    ("calibrate-bool", lambda c: qat.calibrate_activations(c["qat"], np.ones((2, 8), bool)),
     TypeError, "x"),
    ("calibrate-None", lambda c: qat.calibrate_activations(None, c["x"]), TypeError, "model"),
    ("activation_ranges-None", lambda c: qat.activation_ranges(None), TypeError, "model"),
    ("qat-strip-keep-int", lambda c: qat.strip(c["qat"], keep_ranges=1), TypeError,
     "keep_ranges"),
    ("qat-strip-uncalibrated", lambda c: qat.strip(c["qat"], keep_ranges=True), ValueError,
     "'input_quant' has no range yet"),
    ("qat-predict-uncalibrated", lambda c: models.accuracy(c["qat"], (c["x"], c["y"])),
     ValueError, "has no range yet.*calibrate_activations"),
    ("qat-call-uncalibrated", lambda c: c["qat"](c["x"]), ValueError, "has no range yet"),
    # ---------------------------------------------------------------- export
    ("to_tflite-None", lambda c: export.to_tflite(None), TypeError, "model"),
    ("to_tflite-mode", lambda c: export.to_tflite(c["mlp"], "int4"), ValueError, "mode"),
    ("to_tflite-int8-no-rep", lambda c: export.to_tflite(c["mlp"], "int8"), ValueError,
     "representative"),
    ("to_tflite-rep-nan", lambda c: export.to_tflite(c["mlp"], "int8", np.full((2, 8), NAN)),
     ValueError, "representative"),
    ("to_tflite-rep-1d", lambda c: export.to_tflite(c["mlp"], "int8", np.ones(8)), ValueError,
     "representative"),
    ("to_tflite-rep-empty", lambda c: export.to_tflite(c["mlp"], "int8", np.ones((0, 8))),
     ValueError, "representative"),
    ("to_tflite-rep-bool", lambda c: export.to_tflite(c["mlp"], "int8", np.ones((2, 8), bool)),
     TypeError, "representative"),
    ("to_tflite-per_channel", lambda c: export.to_tflite(c["mlp"], per_channel="no"), TypeError,
     "per_channel"),
    ("to_tflite-range-order", lambda c: export.to_tflite(c["mlp"], expected_range=(1, 0)),
     ValueError, "expected_range"),
    ("to_tflite-range-str", lambda c: export.to_tflite(c["mlp"], expected_range="0..1"),
     TypeError, "expected_range"),
    ("to_tflite-range-nan", lambda c: export.to_tflite(c["mlp"], expected_range=(0, NAN)),
     ValueError, r"expected_range\[1\]"),
    ("interpreter-empty", lambda c: export.interpreter(b""), ValueError, "buffer"),
    ("interpreter-str", lambda c: export.interpreter("model.tflite"), TypeError, "buffer"),
    ("interpreter-resolver", lambda c: export.interpreter(c["buffer"], resolver="fast"),
     ValueError, "resolver"),
    ("interpreter-threads", lambda c: export.interpreter(c["buffer"], num_threads=0), ValueError,
     "num_threads"),
    ("interpreter-threads-bool", lambda c: export.interpreter(c["buffer"], num_threads=True),
     TypeError, "num_threads"),
    ("quantize_input-detail", lambda c: export.quantize_input(c["x"], {}), TypeError, "detail"),
    ("quantize_input-scale-0", lambda c: export.quantize_input(
        c["x"], {"dtype": np.int8, "quantization": (0.0, 0)}), ValueError, "detail"),
    ("quantize_input-nan", lambda c: export.quantize_input(
        np.full(3, NAN), {"dtype": np.int8, "quantization": (0.1, 0)}), ValueError, "x"),
    ("dequantize_output-detail", lambda c: export.dequantize_output(np.ones(3, np.int8), "int8"),
     TypeError, "detail"),
    ("dequantize_output-empty", lambda c: export.dequantize_output(
        np.ones(0, np.int8), {"dtype": np.int8, "quantization": (0.1, 0)}), ValueError, "q"),
    ("predict_tflite-features", lambda c: export.predict_tflite(c["buffer"], np.ones((2, 9))),
     ValueError, r"x must have per-example shape \(8,\)"),
    ("predict_tflite-nan", lambda c: export.predict_tflite(c["buffer"], np.full((2, 8), NAN)),
     ValueError, "x"),
    ("predict_tflite-batch-0", lambda c: export.predict_tflite(c["buffer"], c["x"], 0),
     ValueError, "batch_size"),
    ("predict_tflite-raw", lambda c: export.predict_tflite(c["buffer"], c["x"], raw=1),
     TypeError, "raw"),
    ("predict_tflite-resolver", lambda c: export.predict_tflite(c["buffer"], c["x"],
                                                                resolver="x"),
     ValueError, "resolver"),
    ("evaluate_tflite-labels-n1", lambda c: export.evaluate_tflite(c["buffer"],
                                                                   (c["x"], c["y"][:, None])),
     ValueError, r"y must have shape \(n,\).*y.ravel\(\)"),
    ("evaluate_tflite-onehot", lambda c: export.evaluate_tflite(c["buffer"],
                                                                (c["x"], np.eye(3)[c["y"]])),
     TypeError, "y must be integer class labels"),
    ("evaluate_tflite-onehot-int", lambda c: export.evaluate_tflite(
        c["buffer"], (c["x"], np.eye(3, dtype=int)[c["y"]])), ValueError, "argmax"),
    ("evaluate_tflite-label-range", lambda c: export.evaluate_tflite(
        c["buffer"], (c["x"], c["y"] + 3)), ValueError, r"y must hold class labels in \[0, 3\)"),
    ("evaluate_tflite-length", lambda c: export.evaluate_tflite(c["buffer"], (c["x"], c["y"][:5])),
     ValueError, "same length"),
    ("evaluate_tflite-x-only", lambda c: export.evaluate_tflite(c["buffer"], c["x"]), TypeError,
     "data"),
    ("tflite_latency-repeats", lambda c: export.tflite_latency(c["buffer"], repeats=0),
     ValueError, "repeats"),
    ("tflite_latency-batch", lambda c: export.tflite_latency(c["buffer"], batch_size=True),
     TypeError, "batch_size"),
    ("compare_latency-list", lambda c: export.compare_latency([c["buffer"]]), TypeError,
     "buffers"),
    ("compare_latency-empty", lambda c: export.compare_latency({}), ValueError, "buffers"),
    ("latency_rounds-list", lambda c: export.latency_rounds([c["buffer"]]), TypeError,
     "buffers"),
    ("combine_rounds-empty", lambda c: export.combine_rounds([]), ValueError, "per_round"),
    ("ptq_rows-no-float32", lambda c: export.ptq_rows("m", {"int8": b"x"}, {"int8": 1.0},
                                                      {"int8": None}, {"int8": None}),
     ValueError, "float32"),
    ("ptq_rows-missing-accuracy", lambda c: export.ptq_rows(
        "m", {"float32": b"x", "int8": b"y"}, {"float32": 1.0}, {}, {}), ValueError,
     r"accuracy has no entry for modes \['int8'\]"),
    ("ptq_rows-latency-list", lambda c: export.ptq_rows("m", {"float32": b"x"}, {"float32": 1.0},
                                                        [], {}), TypeError, "latency"),
    # ---------------------------------------------------------------- blocks
    ("make_divisible-nan", lambda c: blocks.make_divisible(NAN), ValueError, "value"),
    ("make_divisible-bool", lambda c: blocks.make_divisible(True), TypeError, "value"),
    ("make_divisible-neg", lambda c: blocks.make_divisible(-8), ValueError, "value"),
    ("make_divisible-divisor", lambda c: blocks.make_divisible(10, 0), ValueError, "divisor"),
    ("scale_width-divisor-bool", lambda c: blocks.scale_width(16, 0.5, True), TypeError,
     "divisor"),
    ("scale_width-channels", lambda c: blocks.scale_width(0, 0.5), ValueError, "channels"),
    ("scale_width-alpha", lambda c: blocks.scale_width(16, -1.0), ValueError, "alpha"),
    ("scale_width-alpha-inf", lambda c: blocks.scale_width(16, np.inf), ValueError, "alpha"),
    ("scale_resolution-rho", lambda c: blocks.scale_resolution(224, 0), ValueError, "rho"),
    ("scale_resolution-size", lambda c: blocks.scale_resolution(224.0, 1.0), TypeError, "size"),
    ("out_size-size", lambda c: blocks.out_size(0, 1), ValueError, "size"),
    ("out_size-stride-bool", lambda c: blocks.out_size(5, True), TypeError, "stride"),
    ("conv_cost-h", lambda c: blocks.conv_cost(0, 4, 2, 2), ValueError, "h"),
    ("conv_cost-bias", lambda c: blocks.conv_cost(4, 4, 2, 2, bias=1), TypeError, "bias"),
    ("conv_cost-bn", lambda c: blocks.conv_cost(4, 4, 2, 2, bn="yes"), TypeError, "bn"),
    ("conv_cost-stride", lambda c: blocks.conv_cost(4, 4, 2, 2, stride=0), ValueError, "stride"),
    ("depthwise_cost-channels", lambda c: blocks.depthwise_cost(4, 4, True), TypeError,
     "channels"),
    ("dense_cost-c_in", lambda c: blocks.dense_cost(0, 3), ValueError, "c_in"),
    ("dense_cost-units", lambda c: blocks.dense_cost(3, 2.5), TypeError, "units"),
    ("separable_cost-stride", lambda c: blocks.separable_cost(4, 4, 2, 2, stride=0), ValueError,
     "stride"),
    ("inverted_residual_cost-expansion", lambda c: blocks.inverted_residual_cost(
        4, 4, 2, 2, expansion=0), ValueError, "expansion"),
    ("block_cost-kind", lambda c: blocks.block_cost("dense", 4, 4, 2, 2), ValueError, "kind"),
    ("separable_ratio-c_out", lambda c: blocks.separable_ratio(0), ValueError, "c_out"),
    ("separable_ratio-kernel", lambda c: blocks.separable_ratio(8, True), TypeError, "kernel"),
    ("conv_block-x", lambda c: blocks.conv_block(np.ones((2, 3)), 4), ValueError, "x"),
    ("conv_block-stride", lambda c: blocks.conv_block(c["img"], 4, stride=0), ValueError,
     "stride"),
    ("conv_block-filters", lambda c: blocks.conv_block(c["img"], 0), ValueError, "filters"),
    ("separable_block-filters", lambda c: blocks.separable_block(c["img"], True), TypeError,
     "filters"),
    ("separable_block-stride", lambda c: blocks.separable_block(c["img"], 4, stride=1.5),
     TypeError, "stride"),
    ("inverted_residual_block-expansion", lambda c: blocks.inverted_residual_block(
        c["img"], 4, expansion=0), ValueError, "expansion"),
    ("inverted_residual_block-stride-bool", lambda c: blocks.inverted_residual_block(
        c["img"], 4, stride=True), TypeError, "stride"),
    ("block-kind", lambda c: blocks.block("depthwise", c["img"], 4), ValueError, "kind"),
    ("single_block-channels", lambda c: blocks.single_block("standard", 0), ValueError,
     "channels"),
    ("single_block-kind", lambda c: blocks.single_block("mbconv", 4), ValueError, "kind"),
    ("cnn-input_shape", lambda c: blocks.cnn("standard", input_shape=(28,)), ValueError,
     "input_shape"),
    ("cnn-input_shape-0", lambda c: blocks.cnn("standard", input_shape=(28, 0)), ValueError,
     r"input_shape\[1\]"),
    ("cnn-stages-pair", lambda c: blocks.cnn("standard", stages=((8,),)), TypeError,
     r"stages\[0\]"),
    ("cnn-stages-stride", lambda c: blocks.cnn("standard", stages=((8, 0),)), ValueError,
     r"stages\[0\]\[1\]"),
    ("cnn-alpha", lambda c: blocks.cnn("standard", alpha=0), ValueError, "alpha"),
    ("cnn-classes", lambda c: blocks.cnn("standard", classes=0), ValueError, "classes"),
    ("cnn_cost-classes", lambda c: blocks.cnn_cost("standard", classes=0), ValueError,
     "classes"),
    ("cnn_cost-stages", lambda c: blocks.cnn_cost("standard", stages=5), TypeError, "stages"),
    ("mobilenet_v1_table-alpha", lambda c: blocks.mobilenet_v1_table(alpha=0), ValueError,
     "alpha"),
    ("mobilenet_v1_table-size", lambda c: blocks.mobilenet_v1_table(size=True), TypeError,
     "size"),
    ("mobilenet_v2_table-classes", lambda c: blocks.mobilenet_v2_table(classes=True), TypeError,
     "classes"),
    ("mobilenet_v2_table-rho", lambda c: blocks.mobilenet_v2_table(rho=NAN), ValueError, "rho"),
    ("layout_cost-empty", lambda c: blocks.layout_cost([]), TypeError, "rows"),
    ("layout_cost-dicts", lambda c: blocks.layout_cost([{"macs": 1}]), TypeError, "rows"),
    ("predicted_bytes-cost", lambda c: blocks.predicted_bytes("cost"), TypeError, "cost"),
    ("predicted_bytes-float-bits", lambda c: blocks.predicted_bytes(blocks.ZERO, 8.0), TypeError,
     "bits"),
    ("predicted_bytes-bits-4", lambda c: blocks.predicted_bytes(blocks.ZERO, 4), ValueError,
     "bits"),
    # ---------------------------------------------------------------- reference
    ("tf_keras_copy-None", lambda c: reference.tf_keras_copy(None), TypeError, "model"),
    ("tf_keras_copy-conv1d", lambda c: reference.tf_keras_copy(c["conv1d"]), TypeError,
     "only Dense/Dropout models can be copied, got 'c1d'"),
    ("compare_with_tfmot-sparsity", lambda c: reference.compare_with_tfmot(
        c["mlp"], (c["x"], c["y"]), (c["x"], c["y"]), 1.0, 1), ValueError, "sparsity"),
    ("compare_with_tfmot-epochs-bool", lambda c: reference.compare_with_tfmot(
        c["mlp"], (c["x"], c["y"]), (c["x"], c["y"]), 0.5, True), TypeError, "epochs"),
    ("compare_with_tfmot-plain", lambda c: reference.compare_with_tfmot(
        c["mlp"], (c["x"], c["y"]), (c["x"], c["y"]), 0.5, 1, plain=1), TypeError, "plain"),
    ("compare_with_tfmot-labels", lambda c: reference.compare_with_tfmot(
        c["mlp"], (c["x"], c["y"][:, None]), (c["x"], c["y"]), 0.5, 1), ValueError,
     r"shape \(n,\)"),
    ("compare_with_tfmot-test-x", lambda c: reference.compare_with_tfmot(
        c["mlp"], (c["x"], c["y"]), c["x"], 0.5, 1), TypeError, "test_data"),
    ("compare_with_tfmot-lr", lambda c: reference.compare_with_tfmot(
        c["mlp"], (c["x"], c["y"]), (c["x"], c["y"]), 0.5, 1, learning_rate=0), ValueError,
     "learning_rate"),
    # ---------------------------------------------------------------- deep_compression
    ("share_weights-bits-list", lambda c: deep_compression.share_weights(c["mlp"], [3, 3]),
     TypeError, "bits must be a dict"),
    ("share_weights-bits-unknown", lambda c: deep_compression.share_weights(
        c["mlp"], {**BITS, "fc9": 3}), ValueError, r"bits must name every weighted layer .*fc9"),
    ("share_weights-bits-missing", lambda c: deep_compression.share_weights(c["mlp"], {"fc1": 3}),
     ValueError, r"bits must name every weighted layer \['fc1', 'logits'\]"),
    ("share_weights-bits-1", lambda c: deep_compression.share_weights(c["mlp"], {**BITS, "fc1": 1}),
     ValueError, r"bits\['fc1'\]"),
    ("share_weights-bits-bool", lambda c: deep_compression.share_weights(
        c["mlp"], {**BITS, "fc1": True}), TypeError, r"bits\['fc1'\]"),
    ("share_weights-epochs-neg", lambda c: deep_compression.share_weights(c["mlp"], BITS,
                                                                          epochs=-1),
     ValueError, "epochs"),
    ("share_weights-data-None", lambda c: deep_compression.share_weights(c["mlp"], BITS),
     ValueError, "data is needed"),
    ("share_weights-data-x", lambda c: deep_compression.share_weights(c["mlp"], BITS, c["x"]),
     TypeError, "data"),
    ("share_weights-None", lambda c: deep_compression.share_weights(None, BITS), TypeError,
     "model"),
    ("share_weights-unbuilt", lambda c: deep_compression.share_weights(c["unbuilt"], BITS),
     ValueError, "model must be built"),
    ("share_weights-fully-pruned", lambda c: deep_compression.share_weights(
        _zeroed("logits"), BITS, epochs=0), ValueError, r"model: layers \['logits'\] are fully"),
    ("encode-books-list", lambda c: deep_compression.encode(c["mlp"], [], BITS), TypeError,
     "books"),
    ("encode-books-missing", lambda c: deep_compression.encode(c["mlp"], {}, BITS), ValueError,
     "books must hold every weighted layer"),
    ("encode-books-other-model", lambda c: deep_compression.encode(
        c["mlp"], deep_compression.share_weights(c["mlp"], BITS, epochs=0)[1], BITS), ValueError,
     "layer 'fc1': kernel differs from codebook"),
    ("encode-bits-str", lambda c: deep_compression.encode(c["mlp"], {}, "3"), TypeError, "bits"),
    ("encode-index_bits-0", lambda c: deep_compression.encode(
        *deep_compression.share_weights(c["mlp"], BITS, epochs=0), BITS, 0), ValueError,
     "index_bits"),
    ("decode-build-str", lambda c: deep_compression.decode("mlp", {}), TypeError, "build"),
    ("decode-build-returns-None", lambda c: deep_compression.decode(lambda: None, {}), TypeError,
     r"build\(\) must be a keras.Model"),
    ("decode-codes-list", lambda c: deep_compression.decode(_mlp, []), TypeError, "codes"),
    ("decode-codes-missing", lambda c: deep_compression.decode(_mlp, {}), ValueError,
     r"codes must hold every weighted layer \['fc1', 'logits'\]"),
    ("decode-codes-array", lambda c: deep_compression.decode(
        _mlp, dict.fromkeys(BITS, np.zeros(3))), TypeError, r"codes\['fc1'\] must be a"),
    ("search_codes-options-empty", lambda c: deep_compression.search_codes(
        c["mlp"], [], [5], (c["x"], c["y"]), (c["x"], c["y"])), ValueError, "bits_options"),
    ("search_codes-index-bits-0", lambda c: deep_compression.search_codes(
        c["mlp"], [BITS], [0], (c["x"], c["y"]), (c["x"], c["y"])), ValueError, "index_bits"),
    ("search_codes-test-data-x", lambda c: deep_compression.search_codes(
        c["mlp"], [BITS], [5], (c["x"], c["y"]), c["x"]), TypeError, "test_data"),
    ("beside_paper-rows-tuple", lambda c: deep_compression.beside_paper((), {}), TypeError,
     "size_rows"),
    ("beside_paper-paper-list", lambda c: deep_compression.beside_paper([], []), TypeError,
     "paper"),
    ("beside_paper-empty", lambda c: deep_compression.beside_paper([], {}), ValueError,
     "size_rows .* and paper"),
    ("beside_paper-lengths", lambda c: deep_compression.beside_paper(
        [{"layer": "total"}], {"ip1": (1,) * 7, "total": (1,) * 7}), ValueError,
     r"size_rows \(1 rows ending in 'total'\) and paper \(2 layers\)"),
    ("beside_paper-paper-short", lambda c: deep_compression.beside_paper(
        [{"layer": "total"}], {"total": (1, 2)}), ValueError, r"paper\['total'\] must hold 7"),
    ("ramp-target-list", lambda c: deep_compression.ramp([0.5], 2), TypeError, "target"),
    ("ramp-target-empty", lambda c: deep_compression.ramp({}, 2), ValueError, "target"),
    ("ramp-target-1", lambda c: deep_compression.ramp({"fc1": 1.0}, 2), ValueError,
     r"target\['fc1'\]"),
    ("ramp-target-str", lambda c: deep_compression.ramp({"fc1": "0.5"}, 2), TypeError,
     r"target\['fc1'\]"),
    ("ramp-steps-0", lambda c: deep_compression.ramp({"fc1": 0.5}, 0), ValueError, "steps"),
    ("ramp-steps-float", lambda c: deep_compression.ramp({"fc1": 0.5}, 2.0), TypeError, "steps"),
    ("one_shot-sparsity-1", lambda c: deep_compression.one_shot(c["mlp"], 1.0, 3), ValueError,
     "sparsity"),
    ("one_shot-sparsity-bool", lambda c: deep_compression.one_shot(c["mlp"], True, 3), TypeError,
     "sparsity"),
    ("one_shot-bits-1", lambda c: deep_compression.one_shot(c["mlp"], 0.5, 1), ValueError, "bits"),
    ("one_shot-bits-float", lambda c: deep_compression.one_shot(c["mlp"], 0.5, 3.0), TypeError,
     "bits"),
    ("one_shot-index_bits-0", lambda c: deep_compression.one_shot(c["mlp"], 0.5, 3, 0),
     ValueError, "index_bits"),
    ("one_shot-None", lambda c: deep_compression.one_shot(None, 0.5, 3), TypeError, "model"),
    ("one_shot-unbuilt", lambda c: deep_compression.one_shot(c["unbuilt"], 0.5, 3), ValueError,
     "model must be built"),
    ("compression_grid-sparsities-str", lambda c: deep_compression.compression_grid(
        c["mlp"], (c["x"], c["y"]), "0.5", [3]), TypeError, "sparsities"),
    ("compression_grid-bits-repeated", lambda c: deep_compression.compression_grid(
        c["mlp"], (c["x"], c["y"]), [0.5], [3, 3]), ValueError, "bits must hold distinct"),
    ("compression_grid-sparsity-1", lambda c: deep_compression.compression_grid(
        c["mlp"], (c["x"], c["y"]), [0.5, 1.0], [3]), ValueError, r"sparsities\[1\]"),
    # ---------------------------------------------------------------- case_study
    ("attempt-step-int", lambda c: case_study.attempt(1, "f()", _fn_count), TypeError, "step"),
    ("attempt-call-None", lambda c: case_study.attempt("s", None, _fn_count), TypeError, "call"),
    ("attempt-fn-str", lambda c: case_study.attempt("s", "f()", "f"), TypeError, "fn"),
    ("deployment_rows-list", lambda c: case_study.deployment_rows([], (c["x"], c["y"])),
     TypeError, "entries"),
    ("deployment_rows-empty", lambda c: case_study.deployment_rows({}, (c["x"], c["y"])),
     ValueError, "entries"),
    ("deployment_rows-pair", lambda c: case_study.deployment_rows(
        {"a": (c["mlp"], c["buffer"])}, (c["x"], c["y"])), TypeError, r"entries\['a'\]"),
    ("deployment_rows-model-None", lambda c: case_study.deployment_rows(
        {"a": (None, c["buffer"], None)}, (c["x"], c["y"])), TypeError, r"entries\['a'\]\[0\]"),
    ("deployment_rows-buffer-str", lambda c: case_study.deployment_rows(
        {"a": (c["mlp"], "model.tflite", None)}, (c["x"], c["y"])), TypeError,
     r"entries\['a'\]\[1\]"),
    ("deployment_rows-key", lambda c: case_study.deployment_rows(
        {"a": (c["mlp"], c["buffer"], "final")}, (c["x"], c["y"])), ValueError,
     r"entries\['a'\]\[2\]"),
    ("deployment_rows-data-x", lambda c: case_study.deployment_rows(
        {"a": (c["mlp"], c["buffer"], None)}, c["x"]), TypeError, "data"),
    ("deployment_rows-labels-2d", lambda c: case_study.deployment_rows(
        {"a": (c["mlp"], c["buffer"], None)}, (c["x"], c["y"][:, None])), ValueError, "y"),
    ("deployment_rows-repeats-5", lambda c: case_study.deployment_rows(
        {"a": (c["mlp"], c["buffer"], None)}, (c["x"], c["y"]), repeats=5), ValueError,
     "repeats"),
    # ---------------------------------------------------------------- plots
    ("class_bars-nan", lambda c: plots.class_bars(_ax(), np.full(10, NAN)), ValueError, "probs"),
    ("class_bars-shape", lambda c: plots.class_bars(_ax(), np.ones(9) / 9), ValueError, "probs"),
    ("class_bars-highlight", lambda c: plots.class_bars(_ax(), np.ones(10) / 10, highlight=10),
     ValueError, "highlight"),
    ("class_bars-highlight-bool", lambda c: plots.class_bars(_ax(), np.ones(10) / 10,
                                                             highlight=True),
     TypeError, "highlight"),
    ("digit-size", lambda c: plots.digit(_ax(), np.zeros(10)), ValueError, "image"),
    ("digit-nan", lambda c: plots.digit(_ax(), np.full(784, NAN)), ValueError, "image"),
    ("temperature_panel-empty", lambda c: plots.temperature_panel(np.zeros(784), np.zeros(10), 1,
                                                                  []),
     ValueError, "temperatures"),
    ("temperature_panel-zero", lambda c: plots.temperature_panel(np.zeros(784), np.zeros(10), 1,
                                                                 [0.0]),
     ValueError, r"temperatures\[0\]"),
    ("temperature_panel-label", lambda c: plots.temperature_panel(np.zeros(784), np.zeros(10),
                                                                  True, [1.0]),
     TypeError, "label"),
    ("seed_bars-nan", lambda c: plots.seed_bars(_ax(), [[1.0], [NAN]], [0, 1]), ValueError,
     r"groups\[1\]"),
    ("seed_bars-lengths", lambda c: plots.seed_bars(_ax(), [[1.0]], [0, 1]), ValueError,
     "groups and positions"),
    ("weight_levels-empty", lambda c: plots.weight_levels(_ax(), [], [0.0]), ValueError, "w"),
    ("weight_levels-max_lines", lambda c: plots.weight_levels(_ax(), [1.0], [0.0], max_lines=0),
     ValueError, "max_lines"),
    ("weight_levels-levels-nan", lambda c: plots.weight_levels(_ax(), [1.0], [NAN]), ValueError,
     "levels"),
    ("pruned_weights-keep-half", lambda c: plots.pruned_weights(
        _axes(), np.ones((2, 2)), np.full((2, 2), 0.5)), ValueError, "keep"),
    ("pruned_weights-shape", lambda c: plots.pruned_weights(
        _axes(), np.ones((2, 2)), np.ones((2, 3), bool)), ValueError, "w and keep"),
    ("cost_bars-empty", lambda c: plots.cost_bars({}, "t"), TypeError, "costs"),
    ("cost_bars-int", lambda c: plots.cost_bars({"a": 1}, "t"), TypeError, r"costs\['a'\]"),
    ("plots-layer_macs-empty", lambda c: plots.layer_macs([], "t"), TypeError, "rows"),
    # ---------------------------------------------------------------- widgets
    ("temperature_explorer-lengths", lambda c: widgets.temperature_explorer(
        np.zeros((2, 784)), np.zeros((3, 10)), [0, 1]), ValueError, "images, logits and labels"),
    ("kd_explorer-empty", lambda c: widgets.kd_explorer([], [], []), ValueError,
     "teacher_logits, student_logits and labels"),
    ("bits_panel-empty", lambda c: widgets.bits_panel({}, (c["x"], c["y"])), TypeError,
     "models_by_name"),
    ("bits_panel-None-model", lambda c: widgets.bits_panel({"a": None}, (c["x"], c["y"])),
     TypeError, r"models_by_name\['a'\]"),
    ("bits_panel-bits", lambda c: widgets.bits_panel({"a": c["mlp"]}, (c["x"], c["y"]), 0),
     ValueError, "bits"),
    ("bits_panel-layer", lambda c: widgets.bits_panel({"a": c["mlp"]}, (c["x"], c["y"]), 3,
                                                      "fc9"),
     ValueError, "layer"),
    ("bits_panel-model", lambda c: widgets.bits_panel({"a": c["mlp"]}, (c["x"], c["y"]), 3,
                                                      "fc1", "b"),
     ValueError, "model"),
    ("bits_explorer-empty", lambda c: widgets.bits_explorer({}, (c["x"], c["y"])), TypeError,
     "models_by_name"),
    ("sparsity_panel-probe", lambda c: widgets.sparsity_panel(None, [], (c["x"], c["y"])),
     TypeError, "probe"),
    ("sparsity_panel-layer", lambda c: widgets.sparsity_panel(
        c["mlp"], c["mlp"].get_weights(), (c["x"], c["y"]), 0.5, "fc9"), ValueError, "layer"),
    ("sparsity_panel-sparsity", lambda c: widgets.sparsity_panel(
        _mlp(), _mlp().get_weights(), (c["x"], c["y"]), 1.0), ValueError, "sparsity"),
    ("sparsity_explorer-probe", lambda c: widgets.sparsity_explorer(None, [], (c["x"], c["y"])),
     TypeError, "probe"),
    ("calibrate_activations-nan", lambda c: qat.calibrate_activations(
        c["qat"], np.full((2, 8), NAN)), ValueError, "x"),
    ("calibrate_activations-shape", lambda c: qat.calibrate_activations(
        c["qat"], np.zeros((2, 5))), ValueError, "x"),
    ("soft_targets-nan", lambda c: plots.soft_targets(np.full(10, NAN), np.zeros(10), 1, [1.0]),
     ValueError, "teacher_logits"),
    ("soft_targets-batch", lambda c: plots.soft_targets(np.zeros(10), np.zeros((2, 10)), 1,
                                                        [1.0]), ValueError, "student_logits"),
    ("soft_targets-temperature", lambda c: plots.soft_targets(np.zeros(10), np.zeros(10), 1,
                                                              [0.0]), ValueError, "temperatures"),
    ("allocation_curves-empty", lambda c: plots.allocation_curves([]), ValueError, "rows"),
    ("allocation_curves-keys", lambda c: plots.allocation_curves([{"scope": "layer"}]),
     ValueError, "rows"),
    ("workbook_pareto-str", lambda c: plots.workbook_pareto("points"), TypeError, "points"),
    ("workbook_pareto-empty", lambda c: plots.workbook_pareto([]), ValueError, "points"),
    ("workbook_pareto-keys", lambda c: plots.workbook_pareto([{"accuracy": 0.9}]), ValueError,
     r"points\[0\] lacks the keys"),
    ("workbook_pareto-percent", lambda c: plots.workbook_pareto([
        {"notebook": "02", "table": "t", "model": "m", "accuracy": 97.5, "bytes": 10,
         "latency_ms": None, "source": "measured"}]), ValueError, r"points\[0\]'s accuracy"),
    ("compare_blocks-c_in", lambda c: widgets.compare_blocks(c_in=0), ValueError, "c_in"),
    ("compare_blocks-stride-bool", lambda c: widgets.compare_blocks(stride=True), TypeError,
     "stride"),
    ("mobilenet_v2_explorer-alpha", lambda c: widgets.mobilenet_v2_explorer(alpha=0), ValueError,
     "alpha"),
    ("mobilenet_v2_explorer-resolution", lambda c: widgets.mobilenet_v2_explorer(resolution=True),
     TypeError, "resolution"),
    ("compression_grid-str", lambda c: plots.compression_grid("rows"), TypeError, "rows"),
    ("compression_grid-empty", lambda c: plots.compression_grid([]), ValueError, "rows"),
    ("compression_grid-missing", lambda c: plots.compression_grid(_grid_rows()[:-1]), ValueError,
     r"every \(sparsity, bits\) pair"),
    ("compression_grid-ratio-nan", lambda c: plots.compression_grid(
        [{**_grid_rows()[0], "ratio": NAN}, *_grid_rows()[1:]]), ValueError,
     r"rows\[0\]\['ratio'\]"),
    ("compressed_parts-str", lambda c: plots.compressed_parts(_ax(), "rows"), TypeError, "rows"),
    ("compressed_parts-total-only", lambda c: plots.compressed_parts(_ax(), [
        {"layer": "total", "weight_stream_bits": 8, "index_stream_bits": 8, "codebook_bits": 32,
         "bias_bits": 0, "table_bits": 0}]), ValueError, "at least one layer"),
    ("compression_panel-model", lambda c: widgets.compression_panel(None, (c["x"], c["y"])),
     TypeError, "model"),
    ("compression_panel-layer", lambda c: widgets.compression_panel(
        c["mlp"], (c["x"], c["y"]), layer="fc9"), ValueError, "layer"),
    ("compression_panel-bits", lambda c: widgets.compression_panel(
        c["mlp"], (c["x"], c["y"]), 0.5, 1), ValueError, "bits"),
    ("compression_panel-sparsity-bool", lambda c: widgets.compression_panel(
        c["mlp"], (c["x"], c["y"]), True, 3), TypeError, "sparsity"),
    ("compression_explorer-sparsity", lambda c: widgets.compression_explorer(
        c["mlp"], (c["x"], c["y"]), sparsity=0.99), ValueError, "sparsity"),
    ("compression_explorer-bits-bool", lambda c: widgets.compression_explorer(
        c["mlp"], (c["x"], c["y"]), bits=True), TypeError, "bits"),
    ("compression_explorer-data", lambda c: widgets.compression_explorer(c["mlp"], c["x"]),
     TypeError, "data"),
]


def _grid_rows() -> list[dict]:
    """A full 2 x 2 grid of deep_compression.compression_grid rows."""
    return [{"sparsity": s, "bits": b, "accuracy": 0.9, "compressed_bytes": 100,
             "original_bytes": 1000, "ratio": 10.0} for s in (0.5, 0.9) for b in (2, 4)]


def _ax():
    """A fresh matplotlib axis."""
    return plt.subplots()[1]


def _axes():
    """Two fresh matplotlib axes."""
    return plt.subplots(1, 2)[1]


@pytest.mark.parametrize(("call", "error", "match"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(ctx, call, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match):
            call(ctx)
    plt.close("all")


def test_probes_cover_every_public_function():
    """Every public function or class of the probed modules appears in at least one probe."""
    names = " ".join(c[0] for c in CASES).lower()
    without_arguments = {"setup"}
    for module in (measure, pruning, ptq, qat, export, graph, blocks, reference, widgets, plots,
                   deep_compression, case_study):
        for name in module.__all__:
            obj = getattr(module, name)
            if name in without_arguments or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            assert f"{name.lower()}-" in names, f"no probe of {module.__name__}.{name}"


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------- strict=False reports skips

@pytest.mark.parametrize("call", [
    lambda c: measure.count_macs(c["conv1d"], strict=False),
    lambda c: measure.layer_costs(c["conv1d"], strict=False),
    lambda c: pruning.prune(_with(keras.layers.Conv1D(2, 3, name="c1d"), (10, 4)), 0.5,
                            strict=False),
    lambda c: ptq.quantize_weights(c["conv1d"], 8, strict=False),
    lambda c: ptq.kmeans_model(c["conv1d"], 2, strict=False),
    lambda c: ptq.map_weights(c["conv1d"], np.sign, strict=False),
    lambda c: qat.quantize_model(c["conv1d"], strict=False),
    lambda c: pruning.structured_prune(c["conv1d"], strict=False),
], ids=["count_macs", "layer_costs", "prune", "quantize_weights", "kmeans_model", "map_weights",
        "quantize_model", "structured_prune"])
def test_strict_false_warns_naming_the_skipped_layer(ctx, call):
    with pytest.warns(UserWarning, match=r"c1d \(Conv1D\)"):
        call(ctx)


def test_count_macs_strict_false_counts_the_supported_layers(ctx):
    with pytest.warns(UserWarning, match="c1d"):
        macs = measure.count_macs(ctx["conv1d"], strict=False)
    assert macs == 16 * 3  # the Dense head only: 8 positions x 2 channels -> 3


def test_nested_models_are_seen_through(ctx):
    """A with_jitter-wrapped model: every technique finds the layers inside."""
    model = ctx["jitter"]
    assert measure.count_macs(model) == 784 * 4 + 4 * 3
    assert [r["layer"] for r in pruning.sparsity_table(model)] == ["fc1", "logits"]
    assert set(ptq.kmeans_model(model, 2)[1]) == {"fc1", "logits"}
    q = qat.quantize_model(model)
    assert list(qat.activation_ranges(q)) == ["input_quant", "fc1_act_quant", "logits_act_quant"]
    masks = pruning.prune(graph.copy_model(model), {"fc1": 0.5, "logits": 0.5})
    assert set(masks) == {"fc1", "logits"}
    with pytest.raises(ValueError, match=r"valid names: \['fc1', 'logits'\]"):
        pruning.prune(graph.copy_model(model), {"fc1": 0.5, "fc2": 0.5})


# ---------------------------------------------------------------- silent wrong answers, now loud

def test_int8_with_an_all_zero_representative_set_warns(ctx):
    with pytest.warns(UserWarning, match="representative data is constant"):
        export.to_tflite(ctx["mlp"], "int8", np.zeros((4, 8), np.float32))


def test_int8_with_a_representative_set_out_of_expected_range_warns(ctx):
    with pytest.warns(UserWarning, match=r"spans \[0, 255\] but expected_range is \[0, 1\]"):
        export.to_tflite(ctx["mlp"], "int8", np.linspace(0, 255, 32).reshape(4, 8),
                         expected_range=(0, 1))


def test_int8_with_a_matching_representative_set_is_quiet(ctx):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        buf = export.to_tflite(ctx["mlp"], "int8", ctx["x"], expected_range=(0, 1))
    assert export.evaluate_tflite(buf, (ctx["x"], ctx["y"])) >= 0.0


def test_qat_model_works_once_calibrated(ctx):
    q = qat.quantize_model(_mlp("mlp3"))
    with pytest.raises(ValueError, match="no range yet"):
        q.predict(ctx["x"], verbose=0)
    qat.calibrate_activations(q, ctx["x"])
    assert q.predict(ctx["x"], verbose=0).shape == (20, 3)
    assert len(qat.strip(q, keep_ranges=True).layers) > 0


def test_tf_keras_copy_keeps_dense_layers_without_bias():
    pytest.importorskip("tf_keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, use_bias=False),
                              keras.layers.Dense(2)])
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    np.testing.assert_allclose(reference.tf_keras_copy(model)(x), model(x), rtol=1e-5, atol=1e-6)
