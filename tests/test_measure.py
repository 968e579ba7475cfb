import keras
import pytest

from compress_lib import measure
from compress_lib import models


def test_counts_and_bytes_on_lenet_300_100():
    m = models.lenet_300_100()
    assert measure.count_params(m) == 266_610
    assert measure.float32_bytes(m) == 4 * 266_610
    w = m.get_weights()
    w[0][:] = 0.0
    m.set_weights(w)
    assert measure.count_nonzero(m) == 300 * 100 + 100 * 10  # biases start at zero
    assert measure.gzip_bytes(m) < measure.float32_bytes(m) * 0.2  # zeros compress


def test_macs_dense_and_lenet5_by_hand():
    assert measure.count_macs(models.lenet_300_100()) == 784 * 300 + 300 * 100 + 100 * 10
    conv1 = 24 * 24 * 25 * 1 * 20
    conv2 = 8 * 8 * 25 * 20 * 50
    assert measure.count_macs(models.lenet5()) == conv1 + conv2 + 800 * 500 + 500 * 10


def test_macs_depthwise_separable_and_grouped():
    x = keras.Input((16, 16, 8))
    dw = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    sep = keras.layers.SeparableConv2D(12, 3, strides=2, padding="same")
    grp = keras.layers.Conv2D(8, 3, padding="same", groups=4)
    m = keras.Model(x, [dw(x), sep(x), grp(x)])
    assert measure.layer_macs(dw) == 16 * 16 * 9 * 8 * 2
    assert measure.layer_macs(sep) == 8 * 8 * (9 * 8 + 8 * 12)
    assert measure.layer_macs(grp) == 16 * 16 * 9 * 2 * 8
    rows = measure.layer_costs(m)
    assert sum(r["macs"] for r in rows) == measure.count_macs(m)
    assert sum(r["params"] for r in rows) == m.count_params()


def test_time_fn_statistics():
    calls = []
    lat = measure.time_fn(lambda: calls.append(1), repeats=30, warmup=5)
    assert len(calls) == 35 and lat.repeats == 30
    assert 0 <= lat.p10_ms <= lat.median_ms <= lat.p90_ms
    assert lat.spread_ms >= 0


def test_bad_input():
    with pytest.raises(TypeError, match="model"):
        measure.count_params("not a model")
    with pytest.raises(ValueError, match="built"):
        measure.count_params(keras.Sequential([keras.layers.Dense(3)]))
    with pytest.raises(TypeError, match="buffer"):
        measure.tflite_bytes("abc")
    with pytest.raises(ValueError, match="empty"):
        measure.tflite_bytes(b"")
    with pytest.raises(ValueError, match="repeats"):
        measure.time_fn(lambda: None, repeats=0)
    with pytest.raises(TypeError, match="callable"):
        measure.time_fn(3)
    with pytest.raises(ValueError, match=r"level must be an int in \[0, 9\]"):
        measure.gzip_bytes(models.seed_mlp(), level=11)
    with pytest.raises(TypeError, match="level must be an int"):
        measure.gzip_bytes(models.seed_mlp(), level=9.0)
    with pytest.raises(TypeError, match="repeats must be an int"):
        measure.time_fn(lambda: None, repeats=2.5)


def test_keras_latency_times_every_model():
    lat = measure.keras_latency({"a": models.mlp((8,)), "b": models.mlp((4,))}, repeats=6,
                                rounds=2)
    assert set(lat) == {"a", "b"} and lat["a"].repeats == 6 and lat["b"].median_ms > 0
    with pytest.raises(ValueError, match="models must be a non-empty dict"):
        measure.keras_latency({})
    with pytest.raises(TypeError, match="models must be a dict"):
        measure.keras_latency([models.mlp((8,))])
    with pytest.raises(TypeError, match=r"models\['a'\] must be a keras.Model"):
        measure.keras_latency({"a": "mlp"})
    with pytest.raises(ValueError, match="rounds"):
        measure.keras_latency({"a": models.mlp((8,))}, repeats=3, rounds=5)
