"""Tests for compress_lib.qat: fake-quant layers, insert/strip on any model, QAT export."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from compress_lib import distillation
from compress_lib import export
from compress_lib import graph
from compress_lib import models
from compress_lib import qat


def test_straight_through_estimator():
    """Weight fake-quant passes gradients unchanged; activations get none outside the range."""
    w = tf.Variable(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(qat.fake_quant_weight(w, 4, (0,)))
    np.testing.assert_allclose(tape.gradient(loss, w), np.ones((5, 3)))
    x = tf.Variable([-2.0, 0.5, 3.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(qat.fake_quant_activation(x, -1.0, 1.0, 8))
    np.testing.assert_allclose(tape.gradient(loss, x), [0.0, 1.0, 0.0])


def test_qat_dense_model_trains_and_exports(trained, mnist):
    """8-bit QAT ~ float; training tracks ranges; the stripped model exports to full int8."""
    (x, y), test = mnist
    qmodel = qat.calibrate_activations(qat.quantize_model(trained, 8, 8), x[:500])
    assert abs(models.accuracy(qmodel, test) - models.accuracy(trained, test)) < 0.02
    models.train(qmodel, (x[:512], y[:512]), epochs=1, learning_rate=1e-4, progress=False)
    act = qmodel.get_layer("fc1_act_quant")
    assert float(act.range_min) == 0.0 and float(act.range_max) > 0.0
    plain = qat.strip(qmodel)
    assert not any(isinstance(layer, qat.ActivationQuantizer) for layer in plain.layers)
    kernel = np.asarray(plain.get_layer("fc1").kernel)
    assert max(len(np.unique(col)) for col in kernel.T) <= 255
    buf = export.to_tflite(plain, "int8", representative=x[:100])
    assert export.evaluate_tflite(buf, test) > models.accuracy(trained, test) - 0.05


def test_export_keeps_the_learned_ranges(trained, mnist):
    """strip(keep_ranges=True): each int8 activation tensor has scale (max - min) / 255 and
    the zero point of the QAT range, not a recalibrated one."""
    (x, y), test = mnist
    qmodel = qat.calibrate_activations(qat.quantize_model(trained, 4, 4), x[:200])
    models.train(qmodel, (x[:256], y[:256]), epochs=1, learning_rate=1e-4, progress=False)
    ranges = qat.activation_ranges(qmodel)
    assert list(ranges) == ["input_quant", "fc1_act_quant", "fc2_act_quant",
                            "logits_act_quant"]
    exported = qat.strip(qmodel, keep_ranges=True)
    assert sum(isinstance(layer, qat.FixedFakeQuant) for layer in exported.layers) == 4
    with pytest.warns(UserWarning, match="constant"):  # the QAT ranges are used, not these
        buf = export.to_tflite(exported, "int8", representative=np.full((10, 784), 0.5))
    details = export.interpreter(buf).get_tensor_details()
    got = sorted((float(t["quantization"][0]), int(t["quantization"][1])) for t in details
                 if t["dtype"] == np.int8 and t["quantization"][0] > 0)
    want = sorted((np.float32(hi - lo) / np.float32(255), int(np.round(-128 - lo / scale)))
                  for lo, hi in ranges.values() for scale in [(hi - lo) / 255])
    np.testing.assert_allclose([s for s, _ in got], [s for s, _ in want], rtol=1e-6)
    assert [z for _, z in got] == [z for _, z in want]
    keep = export.evaluate_tflite(buf, test)
    assert abs(keep - models.accuracy(exported, test)) < 0.02


@pytest.mark.parametrize("wrap", ["functional", "jitter"])
def test_insert_and_strip_any_model(trained, mnist, wrap):
    """Functional and with_jitter-wrapped models get the same quantizers and outputs as the
    Sequential; strip gives back the float model when the kernels are on the 8-bit grid."""
    (x, _), (xt, _) = mnist
    if wrap == "functional":
        inputs = keras.Input((784,))
        out = inputs
        for layer in trained.layers:
            out = layer(out)
        model = keras.Model(inputs, out)
    else:
        model = distillation.with_jitter(trained)
    flat = qat.calibrate_activations(qat.quantize_model(trained, 4, 6), x[:200])
    other = qat.calibrate_activations(qat.quantize_model(model, 4, 6), x[:200])
    names = [layer.name for layer in graph.leaf_layers(other)
             if isinstance(layer, qat.ActivationQuantizer)]
    assert names == ["input_quant", "fc1_act_quant", "fc2_act_quant", "logits_act_quant"]
    assert qat.activation_ranges(other) == qat.activation_ranges(flat)
    np.testing.assert_allclose(models.predict_logits(other, xt[:50]),
                               models.predict_logits(flat, xt[:50]), atol=1e-5)
    stripped = qat.strip(other)
    assert not [layer for layer in graph.leaf_layers(stripped)
                if isinstance(layer, qat.ActivationQuantizer | qat.QuantDense)]
    np.testing.assert_allclose(models.predict_logits(stripped, xt[:50]),
                               models.predict_logits(qat.strip(flat), xt[:50]), atol=1e-5)
    for layer in ("fc1", "fc2", "logits"):
        np.testing.assert_array_equal(graph.select_layers(stripped, layer)[0].kernel,
                                      flat.get_layer(layer).quantized_kernel())


def test_qat_conv_layers():
    """Conv2D and DepthwiseConv2D get per-channel fake-quant kernels on a 2-bit grid."""
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="c"),
                              keras.layers.DepthwiseConv2D(3, name="d"),
                              keras.layers.Flatten(), keras.layers.Dense(2, name="o")])
    qmodel = qat.quantize_model(model, weight_bits=2, activation_bits=8)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype(np.float32)
    qat.calibrate_activations(qmodel, x)
    assert qmodel(x).shape == (4, 2)
    for name, axes in (("c", (0, 1, 2)), ("d", (0, 1))):
        layer = qmodel.get_layer(name)
        assert qat.channel_axes(layer) == axes
        kernel = np.asarray(layer.quantized_kernel())
        scale = np.abs(kernel).max(axis=axes, keepdims=True)
        assert set(np.unique(np.round(kernel / np.where(scale > 0, scale, 1), 6))) <= {-1, 0, 1}
    plain = qat.strip(qmodel)
    assert [type(layer) for layer in plain.layers] == [type(layer) for layer in model.layers]


def test_bad_input():
    """Wrong types are TypeError, wrong values ValueError, each naming the argument."""
    with pytest.raises(ValueError, match="weight_bits"):
        qat.quantize_model(models.seed_mlp(), weight_bits=1)
    with pytest.raises(TypeError, match="activation_bits"):
        qat.quantize_model(models.seed_mlp(), activation_bits=4.0)
    with pytest.raises(TypeError, match="keras.Model"):
        qat.quantize_model("model")
    with pytest.raises(ValueError, match="momentum"):
        qat.ActivationQuantizer(8, momentum=1.0)
    with pytest.raises(ValueError, match="contain 0"):
        qat.FixedFakeQuant(0.5, 1.0)


def test_qat_layers_round_trip_through_config():
    """Every QAT layer survives get_config / from_config."""
    for layer in (qat.QuantDense(4, weight_bits=3), qat.QuantConv2D(2, 3, weight_bits=5),
                  qat.QuantDepthwiseConv2D(3, weight_bits=6), qat.ActivationQuantizer(4, 0.9),
                  qat.FixedFakeQuant(-1.0, 2.0)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
