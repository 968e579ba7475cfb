"""Tests for compress_lib.export: conversion modes, LiteRT evaluation, latency, bad input."""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from compress_lib import export  # noqa: E402
from compress_lib import measure  # noqa: E402
from compress_lib import models  # noqa: E402


@pytest.fixture(scope="module")
def buffers(trained, mnist):
    """The trained MLP converted in every mode."""
    (x, _), _ = mnist
    return {mode: export.to_tflite(trained, mode, representative=x[:100])
            for mode in export.MODES}


def test_sizes_shrink_with_precision(buffers, trained):
    """float16 is about half of float32; dynamic and int8 about a quarter."""
    f32 = len(buffers["float32"])
    assert f32 >= measure.float32_bytes(trained)
    assert 1.9 <= f32 / len(buffers["float16"]) <= 2.1
    assert 3.5 <= f32 / len(buffers["dynamic"]) <= 4.1
    assert 3.5 <= f32 / len(buffers["int8"]) <= 4.1


def test_float32_matches_keras(buffers, trained, mnist):
    """The float32 flatbuffer computes the same logits as Keras."""
    _, (x, _) = mnist
    np.testing.assert_allclose(export.predict_tflite(buffers["float32"], x),
                               models.predict_logits(trained, x), atol=1e-4)


def test_int8_io_and_accuracy(buffers, trained, mnist):
    """Full-int8 has int8 input/output tensors and keeps the Keras accuracy closely."""
    _, (x, y) = mnist
    interp = export.interpreter(buffers["int8"])
    assert interp.get_input_details()[0]["dtype"] == np.int8
    assert interp.get_output_details()[0]["dtype"] == np.int8
    raw = export.predict_tflite(buffers["int8"], x, raw=True)
    assert raw.dtype == np.int8
    keras_acc = models.accuracy(trained, (x, y))
    assert abs(export.evaluate_tflite(buffers["int8"], (x, y)) - keras_acc) < 0.02
    for mode in ("float16", "dynamic"):
        assert abs(export.evaluate_tflite(buffers[mode], (x, y)) - keras_acc) < 0.01


def test_dequantized_output_is_on_grid(buffers, mnist):
    """predict_tflite dequantizes int8 outputs with the output tensor's scale and zero point."""
    _, (x, _) = mnist
    scale, zero_point = export.interpreter(buffers["int8"]).get_output_details()[0]["quantization"]
    raw = export.predict_tflite(buffers["int8"], x[:20], raw=True)
    out = export.predict_tflite(buffers["int8"], x[:20])
    np.testing.assert_allclose(out, (raw.astype(np.float32) - zero_point) * scale, rtol=1e-6)


def test_batch_size_does_not_change_results(buffers, mnist):
    """Batching (with a padded last batch) gives the same outputs as one big batch."""
    _, (x, y) = mnist
    for mode in ("float32", "int8"):
        big = export.predict_tflite(buffers[mode], x, batch_size=1000)
        small = export.predict_tflite(buffers[mode], x, batch_size=7)
        np.testing.assert_allclose(small, big, atol=1e-5)
    assert export.evaluate_tflite(buffers["int8"], (x, y), batch_size=7) == \
        export.evaluate_tflite(buffers["int8"], (x, y))


def test_conv_model_converts_to_int8(mnist):
    """A conv net with (N, 28, 28) inputs converts to full int8 and runs."""
    (x, _), (xt, _) = mnist
    model = models.lenet5()
    buf = export.to_tflite(model, "int8", representative=x[:20].reshape(-1, 28, 28))
    out = export.predict_tflite(buf, xt[:10].reshape(-1, 28, 28))
    assert out.shape == (10, 10) and np.all(np.isfinite(out))


def test_latency(buffers):
    """Latency summaries are positive and ordered; compare_latency returns every variant."""
    lat = export.tflite_latency(buffers["int8"], repeats=20, warmup=2)
    assert isinstance(lat, measure.Latency) and lat.repeats == 20
    assert 0 < lat.p10_ms <= lat.median_ms <= lat.p90_ms
    both = export.compare_latency({k: buffers[k] for k in ("float32", "int8")},
                                  repeats=20, warmup=2, rounds=4)
    assert set(both) == {"float32", "int8"} and both["int8"].repeats == 20


def test_latency_rounds_and_their_summary(buffers):
    """latency_rounds keeps each interleaved round; combine_rounds takes medians over them."""
    per_round = export.latency_rounds({k: buffers[k] for k in ("float32", "int8")},
                                      repeats=12, warmup=1, rounds=3)
    assert len(per_round) == 3 and all(set(r) == {"float32", "int8"} for r in per_round)
    assert all(r["int8"].repeats == 4 and r["int8"].median_ms > 0 for r in per_round)
    made = [{"a": measure.Latency(m, m - 1, m + 1, 5)} for m in (3.0, 9.0, 4.0)]
    assert export.combine_rounds(made) == {"a": measure.Latency(4.0, 3.0, 5.0, 15)}
    for bad in ([], [{"a": made[0]["a"]}, {"b": made[0]["a"]}]):
        with pytest.raises(ValueError, match="per_round"):
            export.combine_rounds(bad)
    with pytest.raises(TypeError, match="per_round"):
        export.combine_rounds(made[0])
    with pytest.raises(ValueError, match="rounds"):
        export.latency_rounds({"a": buffers["int8"]}, repeats=2, rounds=3)


def test_conversion_is_quiet(trained, mnist, capfd, caplog):
    """The converter's logs, TF's INFO logger and 'Saved artifact' lines are silenced."""
    (x, _), _ = mnist
    caplog.set_level(logging.INFO, logger="tensorflow")
    export.to_tflite(trained, "int8", representative=x[:10])
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [r for r in caplog.records if r.name == "tensorflow"]
    assert logging.getLogger("tensorflow").level == logging.INFO  # restored


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "int4"}, "mode must be one of"),
    ({"mode": "int8"}, "representative"),
    ({"mode": "int8", "representative": np.full((3, 784), np.nan)}, "finite"),
    ({"mode": "int8", "representative": np.zeros((0, 784))}, "non-empty"),
    ({"mode": "int8", "representative": np.zeros(784)}, "ndim >= 2"),
])
def test_to_tflite_bad_input(trained, kwargs, match):
    """Unknown modes and bad calibration data are rejected with clear messages."""
    with pytest.raises(ValueError, match=match):
        export.to_tflite(trained, **kwargs)


def test_to_tflite_rejects_non_model():
    """Only Keras models are converted."""
    with pytest.raises(TypeError, match="keras.Model"):
        export.to_tflite(object())


def test_run_bad_input(buffers):
    """Wrong shapes, empty buffers, bad batch sizes and resolvers are rejected."""
    buf = buffers["float32"]
    with pytest.raises(ValueError, match="per-example shape"):
        export.predict_tflite(buf, np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="batch_size"):
        export.predict_tflite(buf, np.zeros((2, 784)), batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        export.predict_tflite(buf, np.zeros((2, 784)), batch_size=2.0)
    with pytest.raises(ValueError, match="same length"):
        export.evaluate_tflite(buf, (np.zeros((2, 784)), np.zeros(3, int)))
    with pytest.raises(TypeError, match="integer class labels"):
        export.evaluate_tflite(buf, (np.zeros((2, 784)), np.zeros(2)))
    with pytest.raises(TypeError, match="num_threads"):
        export.interpreter(buf, num_threads="2")
    with pytest.raises(ValueError, match="empty"):
        export.interpreter(b"")
    with pytest.raises(ValueError, match="resolver"):
        export.interpreter(buf, resolver="fast")
    with pytest.raises(ValueError, match="rounds"):
        export.compare_latency({"a": buf}, rounds=0)
