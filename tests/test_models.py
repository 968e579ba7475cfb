import keras
import numpy as np
import pytest

from compress_lib import config
from compress_lib import data
from compress_lib import models

PARAMS = {"seed_mlp": 109_386, "lenet_300_100": 266_610, "lenet5": 431_080,
          "hinton_teacher": 2_395_210, "hinton_student": 1_276_810}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_counts(name):
    assert getattr(models, name)().count_params() == PARAMS[name]


def test_lenet5_layers_match_caffe():
    m = models.lenet5()
    convs = [layer for layer in m.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [20, 50]
    assert [tuple(c.kernel_size) for c in convs] == [(5, 5), (5, 5)]
    assert m.layers[-1].units == 10


def test_student_width_and_bad_width():
    assert models.hinton_student(16).count_params() == 784 * 16 + 16 + 16 * 16 + 16 + 170
    for bad, error in ((0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="width"):
            models.hinton_student(bad)


def test_train_learns_and_is_reproducible():
    (x, y), (xt, yt) = data.load_mnist(flatten=True, n_train=2000, n_test=500)
    accs = []
    for _ in range(2):
        config.set_seed(0)
        m = models.seed_mlp()
        hist = models.train(m, (x, y), epochs=2, progress=False)
        accs.append(models.accuracy(m, (xt, yt)))
    assert hist.history["loss"][1] < hist.history["loss"][0]
    assert accs[0] > 0.8
    assert accs[0] == accs[1]


def test_train_bad_input():
    m = models.seed_mlp()
    x, y = np.zeros((10, 784), np.float32), np.zeros(10, np.int64)
    with pytest.raises(ValueError, match="epochs"):
        models.train(m, (x, y), epochs=0)
    with pytest.raises(ValueError, match="same length"):
        models.train(m, (x, y[:5]), epochs=1)
    with pytest.raises(TypeError, match="epochs"):
        models.train(m, (x, y), epochs=1.0)
    with pytest.raises(ValueError, match="empty"):
        models.accuracy(m, (x[:0], y[:0]))
    with pytest.raises(ValueError, match="learning_rate"):
        models.train(m, (x, y), epochs=1, learning_rate=0, progress=False)
    with pytest.raises(TypeError, match="learning_rate"):
        models.train(m, (x, y), epochs=1, learning_rate="1e-3", progress=False)
    with pytest.raises(ValueError, match="schedule"):
        models.train(m, (x, y), epochs=1, schedule="linear", progress=False)
    with pytest.raises(TypeError, match="integer class labels"):
        models.accuracy(m, (x, y.astype(np.float32)))


def test_train_compiles_anew_with_the_given_rate_and_schedule():
    x = np.random.default_rng(0).random((40, 784)).astype(np.float32)
    y = np.arange(40) % 10
    m = models.seed_mlp()
    models.train(m, (x, y), epochs=1, learning_rate=5e-3, progress=False)
    assert float(m.optimizer.learning_rate) == pytest.approx(5e-3)
    models.train(m, (x, y), epochs=2, batch_size=16, learning_rate=1e-2, schedule="cosine",
                 progress=False)  # 2 epochs * ceil(40 / 16) = 6 steps, decayed to 0
    assert int(m.optimizer.iterations) == 6
    assert float(m.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    with pytest.raises(ValueError, match="not both"):
        models.train(m, (x, y), epochs=1, learning_rate=schedule, schedule="cosine")


def test_progress_bar_keeps_every_metric_on_its_line(capsys):
    bar = models.EpochBar(2)
    bar.on_train_begin()
    logs = {"loss": 0.03, "hard_ce": 0.05, "soft_kl_t2": 0.12, "accuracy": 0.99, "val_loss": 0.1}
    for epoch in range(2):
        bar.on_epoch_end(epoch, logs)
    bar.on_train_end()
    last = capsys.readouterr().out.split("\r")[-1]
    assert last.startswith("epochs: 100%") and "2/2" in last
    assert all(f"{k}={v:.4f}" in last for k, v in logs.items())


class _SaysHello(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        print("hello from a callback")


def test_a_callback_line_at_train_begin_comes_before_the_bar(capsys):
    x = np.random.default_rng(0).random((8, 784), dtype=np.float32)
    models.train(models.mlp((4,)), (x, np.arange(8) % 10), epochs=1, callbacks=[_SaysHello()])
    out = capsys.readouterr().out
    assert out.index("hello from a callback") < out.index("epochs:")
    assert "0%" not in out.split("hello from a callback")[0]  # no bar drawn before the line
