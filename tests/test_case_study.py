"""Tests for compress_lib.case_study: the article's claims, attempt and deployment_rows."""

import keras
import numpy as np
import pytest

from compress_lib import case_study as cs
from compress_lib import coding
from compress_lib import export
from compress_lib import graph
from compress_lib import models
from compress_lib import pruning


def test_article_claims_are_the_section_5_4_table():
    # the article's section 5.4 table: 90% / 128K / 100ms, 85% / 12.8K / 50ms,
    # 80% / 12.8K / 40ms, 80% / 12.8K / 30ms (initial, pruned, quantized, distilled)
    assert cs.ARTICLE_CLAIMS == {
        "initial": {"accuracy": 0.90, "params": 128_000, "ms": 100.0},
        "pruned": {"accuracy": 0.85, "params": 12_800, "ms": 50.0},
        "quantized": {"accuracy": 0.80, "params": 12_800, "ms": 40.0},
        "distilled": {"accuracy": 0.80, "params": 12_800, "ms": 30.0}}


# ---------------------------------------------------------------- attempt

def test_attempt_returns_the_value_and_a_clean_row():
    value, row = cs.attempt("train", "model.fit(x, y)", lambda: 41 + 1)
    assert value == 42
    assert row == {"step": "train", "call": "model.fit(x, y)", "error_type": None, "message": ""}


def _raise(error: BaseException):
    """A function that raises error."""
    def fn():
        raise error
    return fn


def test_attempt_turns_a_failure_into_a_row():
    value, row = cs.attempt("prune", "prune(model)", _raise(ValueError("\n  first line  \nmore")))
    assert value is None
    assert row == {"step": "prune", "call": "prune(model)", "error_type": "ValueError",
                   "message": "first line"}
    _, row = cs.attempt("s", "c", _raise(KeyError("k")))
    assert (row["error_type"], row["message"]) == ("KeyError", "'k'")
    _, row = cs.attempt("s", "c", _raise(RuntimeError()))
    assert (row["error_type"], row["message"]) == ("RuntimeError", "")


def test_attempt_cuts_long_messages_to_160_characters():
    _, row = cs.attempt("s", "c", _raise(TypeError("x" * 160 + "\nsecond")))
    assert row["message"] == "x" * 160
    _, row = cs.attempt("s", "c", _raise(TypeError("y" * 161)))
    assert row["message"] == "y" * 157 + "..." and len(row["message"]) == 160


def test_attempt_records_a_real_keras_error():
    def compile_with_a_misspelt_optimizer():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgdd", loss="mse")

    with pytest.raises(ValueError) as raised:
        compile_with_a_misspelt_optimizer()
    first = next(line.strip() for line in str(raised.value).splitlines() if line.strip())
    value, row = cs.attempt("compile", "model.compile(optimizer='sgdd')",
                            compile_with_a_misspelt_optimizer)
    assert value is None and row["error_type"] == "ValueError"
    assert row["message"] == (first if len(first) <= 160 else first[:157] + "...")
    assert "sgdd" in row["message"]


def test_attempt_lets_interrupts_through_and_checks_its_arguments():
    with pytest.raises(KeyboardInterrupt):
        cs.attempt("s", "c", _raise(KeyboardInterrupt()))
    with pytest.raises(TypeError, match="step and call must be str, got int and str"):
        cs.attempt(1, "c", lambda: None)
    with pytest.raises(TypeError, match="step and call must be str, got str and NoneType"):
        cs.attempt("s", None, lambda: None)
    with pytest.raises(TypeError, match="fn must be callable"):
        cs.attempt("s", "c", 42)


# ---------------------------------------------------------------- deployment_rows

@pytest.fixture(scope="module")
def deployed(mnist):
    """A 784-16-10 MLP as float32 .tflite and its 50%-pruned copy as int8 .tflite."""
    (x, _), _ = mnist
    keras.utils.set_random_seed(0)
    dense = models.mlp((16,), name="tiny")
    pruned = graph.copy_model(dense)
    pruning.prune(pruned, 0.5)
    pruned = pruning.strip(pruned)
    return {"dense": dense, "pruned": pruned, "float32": export.to_tflite(dense),
            "int8": export.to_tflite(pruned, "int8", x[:200])}


def test_deployment_rows(deployed, mnist):
    _, (xt, yt) = mnist
    data = (xt[:200], yt[:200])
    dense, pruned, b32, b8 = (deployed[k] for k in ("dense", "pruned", "float32", "int8"))
    entries = {"float32": (dense, b32, "initial"), "pruned int8": (pruned, b8, None),
               "pruned int8 again": (pruned, b8, "quantized")}
    rows = cs.deployment_rows(entries, data, repeats=10)
    assert [r["model"] for r in rows] == list(entries)
    # 784 x 16 + 16 + 16 x 10 + 10 weights; untrained biases are 0; pruning halves each kernel
    assert [r["params"] for r in rows] == [12_730] * 3
    assert [r["nonzero"] for r in rows] == [784 * 16 + 16 * 10, 784 * 8 + 80, 784 * 8 + 80]
    assert [r["tflite_bytes"] for r in rows] == [len(b32), len(b8), len(b8)]
    assert [r["tflite_gzip_bytes"] for r in rows] == [coding.gzip_size(b) for b in (b32, b8, b8)]
    assert len(b8) < len(b32)
    assert rows[0]["latency_ratio"] == 1.0
    for row in rows:
        assert row["latency_us"] > 0 and np.isfinite(row["latency_ratio"])
        assert row["latency_ratio"] > 0
    assert rows[0]["accuracy"] == export.evaluate_tflite(b32, data)
    assert rows[1]["accuracy"] == rows[2]["accuracy"] == export.evaluate_tflite(b8, data)
    assert abs(rows[0]["accuracy"] - models.accuracy(dense, data)) <= 1 / len(yt[:200])
    article = [(r["article_model"], r["article_accuracy"], r["article_params"], r["article_ms"])
               for r in rows]
    assert article == [("initial", 0.90, 128_000, 100.0), (None, None, None, None),
                       ("quantized", 0.80, 12_800, 40.0)]


def test_deployment_rows_refuses_bad_entries(deployed, mnist):
    _, (xt, yt) = mnist
    data = (xt[:20], yt[:20])
    dense, b32 = deployed["dense"], deployed["float32"]
    cases = [
        ({}, data, 10, ValueError, "entries must hold at least one model"),
        ([(dense, b32, None)], data, 10, TypeError, "entries must be a dict"),
        ({"a": [dense, b32, None]}, data, 10, TypeError, r"entries\['a'\] must be \(model"),
        ({"a": (dense, b32)}, data, 10, TypeError, r"entries\['a'\] must be \(model"),
        ({"a": (None, b32, None)}, data, 10, TypeError, r"entries\['a'\]\[0\] must be a keras"),
        ({"a": (dense, "b32", None)}, data, 10, TypeError, r"entries\['a'\]\[1\] must be .tflite"),
        ({"a": (dense, bytearray(b32), None)}, data, 10, TypeError, r"entries\['a'\]\[1\]"),
        ({"a": (dense, b32, "final")}, data, 10, ValueError,
         r"entries\['a'\]\[2\] must be None or one of \['distilled', 'initial', 'pruned', "
         r"'quantized'\], got 'final'"),
        ({"a": (dense, b32, None)}, xt[:20], 10, TypeError, "data must be a pair"),
        ({"a": (dense, b32, None)}, (xt[:20], yt[:19]), 10, ValueError, "same length"),
        ({"a": (dense, b32, None)}, data, 5, ValueError, "repeats must be an int >= 10"),
        ({"a": (dense, b32, None)}, data, 10.0, TypeError, "repeats"),
    ]
    for entries, d, repeats, error, match in cases:
        with pytest.raises(error, match=match):
            cs.deployment_rows(entries, d, repeats=repeats)
