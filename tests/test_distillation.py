"""Tests of compress_lib.distillation: Jitter, Distiller (vs keras.distillation), distill."""

import os
from functools import partial

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from compress_lib import config  # noqa: E402
from compress_lib import data  # noqa: E402
from compress_lib import models  # noqa: E402
from compress_lib.distillation import Distiller  # noqa: E402
from compress_lib.distillation import Jitter  # noqa: E402
from compress_lib.distillation import count_errors  # noqa: E402
from compress_lib.distillation import distill  # noqa: E402
from compress_lib.distillation import student_run  # noqa: E402
from compress_lib.distillation import train_seeded  # noqa: E402
from compress_lib.distillation import with_jitter  # noqa: E402
from compress_lib.losses import kd_loss  # noqa: E402
from compress_lib.losses import seed_kd_loss  # noqa: E402
from compress_lib.widgets import kd_explorer  # noqa: E402


def linear(kernel: np.ndarray, name: str) -> keras.Model:
    """A model whose logits are x @ kernel: fixes teacher/student logits exactly."""
    model = keras.Sequential([keras.Input((kernel.shape[0],)),
                              keras.layers.Dense(kernel.shape[1], use_bias=False)], name=name)
    model.layers[0].set_weights([kernel])
    return model


@pytest.fixture(scope="module")
def pair():
    """Teacher/student linear models, inputs and labels with known logits."""
    rng = np.random.default_rng(0)
    wt, ws = rng.normal(size=(6, 10)).astype("f4"), rng.normal(size=(6, 10)).astype("f4")
    x = rng.normal(size=(32, 6)).astype("f4")
    return linear(wt, "t"), linear(ws, "s"), x, rng.integers(0, 10, 32), x @ wt, x @ ws


def one_pixel_images(n: int) -> np.ndarray:
    """n flat images, each with a single pixel at (14, 14)."""
    img = np.zeros((n, 28, 28), np.float32)
    img[:, 14, 14] = 1.0
    return img.reshape(n, 784)


def test_jitter_shifts_by_whole_pixels_within_range():
    layer = Jitter(2, seed=0)
    out = np.asarray(layer(one_pixel_images(500), training=True)).reshape(500, 28, 28)
    assert np.all(out.sum(axis=(1, 2)) == 1.0)  # the pixel is moved, not blurred or lost
    rows, cols = np.nonzero(out)[1] - 14, np.nonzero(out)[2] - 14
    assert set(rows) == set(cols) == {-2, -1, 0, 1, 2}
    assert len(set(zip(rows, cols, strict=True))) == 25


def test_jitter_is_identity_at_inference_and_zero_fills():
    x = one_pixel_images(3)
    np.testing.assert_array_equal(np.asarray(Jitter(2)(x, training=False)), x)
    corner = np.zeros((200, 784), np.float32)
    corner[:, 0] = 1.0  # top-left pixel: shifted up/left it falls off the image
    out = np.asarray(Jitter(2, seed=1)(corner, training=True))
    assert 0 < out.sum() < 200 and set(np.unique(out)) <= {0.0, 1.0}


def test_with_jitter_shares_weights():
    model = models.mlp((4,))
    wrapped = with_jitter(model, 2, seed=0)
    assert wrapped.count_params() == model.count_params()
    x = np.random.default_rng(0).random((5, 784)).astype("f4")
    np.testing.assert_allclose(wrapped.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("bad,error", [(-1, ValueError), (14, ValueError), (1.5, TypeError),
                                       (True, TypeError)])
def test_jitter_bad_shift(bad, error):
    with pytest.raises(error, match="max_shift"):
        Jitter(bad)


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (3.0, 0.1), (10.0, 0.9)])
def test_distiller_loss_equals_keras_distiller(pair, temperature, alpha):
    teacher, student, x, y, _, _ = pair
    ref = keras.distillation.Distiller(
        teacher, student, keras.distillation.LogitsDistillation(
            temperature=temperature, loss=keras.losses.KLDivergence()),
        student_loss_weight=alpha)
    ref.compile(optimizer="adam",
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ours = Distiller(student, teacher, temperature, alpha)
    ours.compile("adam")
    want = float(ref.compute_loss(x=x, y=y, training=False))
    assert float(ours.compute_loss(x=x, y=y, training=False)) == pytest.approx(want, abs=1e-6)


def test_distiller_cached_logits_equal_on_the_fly(pair):
    teacher, student, x, y, zt, zs = pair
    ours = Distiller(student, teacher, 4.0, 0.3)
    ours.compile("adam")
    on_the_fly = float(ours.compute_loss(x=x, y=y, training=False))
    cached = float(ours.compute_loss(x=x, y=(y, zt), training=False))
    assert cached == pytest.approx(on_the_fly, abs=1e-6)
    assert cached == pytest.approx(float(kd_loss(y, zs, zt, 4.0, 0.3)), abs=1e-6)


def test_distiller_fit_evaluate_callbacks_and_frozen_teacher():
    config.set_seed(0)
    (x, y), (xt, yt) = data.load_mnist(flatten=True, n_train=1500, n_test=300)
    teacher = models.mlp((32,), name="teacher")
    models.train(teacher, (x, y), epochs=3, progress=False)
    before = [w.copy() for w in teacher.get_weights()]
    seen = []
    student = models.mlp((16,), name="student")
    hist = distill(student, teacher, (x, y), epochs=4, temperature=4.0, alpha=0.5,
                   teacher_logits=models.predict_logits(teacher, x), progress=False,
                   validation_data=(xt, yt),
                   callbacks=[keras.callbacks.LambdaCallback(
                       on_epoch_end=lambda e, logs: seen.append(e))])
    assert seen == [0, 1, 2, 3]
    assert {"loss", "accuracy", "hard_ce", "soft_kl_t2", "val_accuracy"} <= set(hist.history)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    for a, b in zip(before, teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert models.accuracy(student, (xt, yt)) > 0.6


def test_distiller_bad_input(pair):
    teacher, student, *_ = pair
    with pytest.raises(TypeError, match="student"):
        Distiller("not a model", teacher)
    with pytest.raises(TypeError, match="temperature"):
        Distiller(student, teacher, temperature="4")
    with pytest.raises(ValueError, match="temperature"):
        Distiller(student, teacher, temperature=0.0)
    with pytest.raises(ValueError, match="alpha"):
        Distiller(student, teacher, alpha=1.2)
    with pytest.raises(ValueError, match="loss"):
        Distiller(student, teacher).compile("adam", loss="mse")
    with pytest.raises(ValueError, match="sample_weight"):
        Distiller(student, teacher).compute_loss(np.zeros((2, 6), "f4"), np.zeros(2, int),
                                                 sample_weight=np.ones(2))
    with pytest.raises(ValueError, match="teacher_logits"):
        distill(student, teacher, (np.zeros((4, 6)), np.zeros(4, int)), 1,
                teacher_logits=np.zeros((3, 10)), progress=False)


def test_count_errors():
    model = linear(np.eye(6, 10, dtype="f4"), "eye")
    x = np.eye(6, dtype="f4")
    assert count_errors(model, (x, np.arange(6))) == 0
    assert count_errors(model, (x, np.array([0, 1, 2, 3, 4, 0]))) == 1
    with pytest.raises(ValueError, match="same length"):
        count_errors(model, (x, np.arange(5)))


def test_distill_trains_through_models_train_with_cosine_schedule(pair):
    teacher, _, x, y, zt, _ = pair
    student = keras.Sequential([keras.Input((6,)), keras.layers.Dense(10)])
    hist = distill(student, teacher, (x, y), 2, teacher_logits=zt, batch_size=8,
                   learning_rate=1e-2, schedule="cosine", progress=False)
    assert len(hist.history["loss"]) == 2
    rate = hist.model.optimizer.learning_rate  # decayed to 0 after 2 * ceil(32 / 8) steps
    assert float(rate) == pytest.approx(0.0, abs=1e-9)
    assert Distiller.has_own_loss


def test_train_seeded_is_reproducible_and_loss_fn_is_used(pair):
    teacher, _, x, y, zt, _ = pair
    def build():
        return keras.Sequential([keras.Input((6,)), keras.layers.Dense(10)])
    a = train_seeded(build, 3, (x, y), 2, teacher, zt, 4.0, 0.5, batch_size=8)
    b = train_seeded(build, 3, (x, y), 2, teacher, zt, 4.0, 0.5, batch_size=8)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
    # loss_fn takes (labels, student_logits, teacher_logits): kd_loss bound with partial
    # trains exactly like the default, and the seed formula (whose gradient is plain
    # cross-entropy's) trains like scratch
    c = train_seeded(build, 3, (x, y), 2, teacher, zt, 4.0, 0.5, batch_size=8,
                     loss_fn=partial(kd_loss, temperature=4.0, alpha=0.5))
    np.testing.assert_allclose(c.get_weights()[0], a.get_weights()[0], atol=1e-6)
    scratch = train_seeded(build, 3, (x, y), 2, batch_size=8)
    seed = train_seeded(build, 3, (x, y), 2, teacher, zt, 4.0, 0.5, batch_size=8,
                        loss_fn=seed_kd_loss)
    np.testing.assert_allclose(seed.get_weights()[0], scratch.get_weights()[0], atol=1e-5)
    assert not np.allclose(seed.get_weights()[0], a.get_weights()[0], atol=1e-3)
    with pytest.raises(TypeError, match="loss_fn"):
        Distiller(build(), teacher, loss_fn="kd")


def test_kd_explorer_renders(pair):
    import matplotlib

    matplotlib.use("Agg")
    _, _, _, y, zt, zs = pair
    assert kd_explorer(zt, zs, y) is not None
    with pytest.raises(ValueError, match="equal length"):
        kd_explorer(zt, zs[:3], y)


def test_seed_bars_draws_one_bar_per_group_and_a_dot_per_seed():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from compress_lib import plots

    _, ax = plt.subplots()
    plots.seed_bars(ax, [[1.0, 3.0], [2.0, 2.0, 5.0]], [0, 1], label="runs")
    assert [p.get_height() for p in ax.patches] == [2.0, 3.0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 5
    with pytest.raises(ValueError, match="equal length"):
        plots.seed_bars(ax, [[1.0]], [0, 1])
    plt.close("all")


@pytest.fixture(scope="module")
def small_mnist():
    """400 training and 300 test images, and a one-epoch teacher's logits on the training ones."""
    config.setup(seed=0, verbose=False)
    train, test = data.load_mnist(flatten=True, n_train=400, n_test=300)
    teacher = models.mlp((32,), name="teacher")
    models.train(teacher, train, epochs=1, progress=False)
    return train, test, teacher, models.predict_logits(teacher, train[0])


def tiny_student() -> keras.Model:
    return models.mlp((8,), name="tiny")


def test_student_run_matches_train_seeded_and_count_errors(small_mnist):
    train, test, teacher, logits = small_mnist
    cfg = {"loss": "kd", "seed": 3, "epochs": 1, "T": 2.0, "alpha": 0.5, "learning_rate": 1e-2}
    row = student_run(cfg, tiny_student, train, {"test": test, "train": train}, teacher, logits,
                      logits=True)
    ref = train_seeded(tiny_student, 3, train, 1, teacher, logits, 2.0, 0.5, learning_rate=1e-2)
    assert row["test_errors"] == count_errors(ref, test)
    assert row["train_errors"] == count_errors(ref, train)
    assert row["test_accuracy"] == models.accuracy(ref, test)
    assert np.array_equal(row["test_logits"], models.predict_logits(ref, test[0]))
    assert {k: row[k] for k in cfg} == cfg  # the configuration comes back with the row


def test_student_run_losses_differ_and_scratch_needs_no_teacher(small_mnist):
    train, test, teacher, logits = small_mnist
    runs = {loss: student_run({"loss": loss, "seed": 0, "epochs": 1}, tiny_student, train,
                              {"test": test}, None if loss == "ce" else teacher, logits)
            for loss in ("ce", "kd", "seed_kd")}
    assert "test_logits" not in runs["ce"]
    assert runs["kd"]["test_errors"] != runs["ce"]["test_errors"]  # distillation changes training
    scratch = train_seeded(tiny_student, 0, train, 1)
    assert runs["ce"]["test_errors"] == count_errors(scratch, test)


@pytest.mark.parametrize("cfg, teacher, match", [
    ({"loss": "mse", "seed": 0, "epochs": 1}, None, "cfg\\['loss'\\] must be one of"),
    ({"seed": 0, "epochs": 1}, None, "must be one of"),
    ({"loss": "kd", "seed": 0, "epochs": 1}, None, "pass the teacher"),
])
def test_student_run_bad_configuration(small_mnist, cfg, teacher, match):
    train, test, _, logits = small_mnist
    with pytest.raises(ValueError, match=match):
        student_run(cfg, tiny_student, train, {"test": test}, teacher, logits)
