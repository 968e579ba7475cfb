"""Tests of the knowledge-distillation losses in compress_lib.losses (kd_loss, seed_kd_loss)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from compress_lib.losses import kd_loss  # noqa: E402
from compress_lib.losses import kd_terms  # noqa: E402
from compress_lib.losses import seed_kd_loss  # noqa: E402


def np_kd_loss(y, zs, zt, temperature, alpha):
    """Independent float64 reference: Hinton's loss written out with scipy-free numpy."""
    zs, zt = np.asarray(zs, np.float64), np.asarray(zt, np.float64)

    def log_sm(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    hard = -log_sm(zs)[np.arange(len(y)), y]
    lt, ls = log_sm(zt / temperature), log_sm(zs / temperature)
    kl = (np.exp(lt) * (lt - ls)).sum(axis=1)
    return float(np.mean(alpha * hard + (1 - alpha) * temperature**2 * kl))


def random_batch(rng, n=16, c=10, scale=5.0):
    """Random student/teacher logits and labels."""
    zs = (scale * rng.standard_normal((n, c))).astype(np.float32)
    zt = (scale * rng.standard_normal((n, c))).astype(np.float32)
    return zs, zt, rng.integers(0, c, n)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), temperature=st.floats(0.5, 100.0),
       alpha=st.floats(0.0, 1.0), scale=st.floats(0.1, 30.0))
def test_kd_loss_matches_numpy(seed, temperature, alpha, scale):
    zs, zt, y = random_batch(np.random.default_rng(seed), scale=scale)
    got = float(kd_loss(y, zs, zt, temperature, alpha))
    want = np_kd_loss(y, zs, zt, temperature, alpha)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_kd_loss_stable_for_huge_logits_and_t100():
    zs = np.array([[1e4, -1e4, 0.0], [-3e4, 2e4, 5e3]], np.float32)
    zt = np.array([[9e3, 0.0, -2e4], [0.0, 3e4, 1e4]], np.float32)
    y = np.array([0, 1])
    for temperature in (1.0, 20.0, 100.0):
        got = float(kd_loss(y, zs, zt, temperature, 0.3))
        assert np.isfinite(got)
        assert got == pytest.approx(np_kd_loss(y, zs, zt, temperature, 0.3), rel=1e-4)


def test_kd_loss_zero_when_student_equals_teacher_and_alpha_zero():
    zs, _, y = random_batch(np.random.default_rng(1))
    assert float(kd_loss(y, zs, zs, 7.0, 0.0)) == pytest.approx(0.0, abs=1e-5)


def soft_grad(zs, zt, temperature, scaled=True):
    """Gradient of the soft term (alpha = 0) with respect to the student's logits."""
    zs = tf.Variable(zs)
    with tf.GradientTape() as tape:
        loss = kd_loss(np.zeros(len(zt), np.int64), zs, zt, temperature, 0.0)
        if not scaled:
            loss = loss / temperature**2
    return tape.gradient(loss, zs).numpy()


def test_t_squared_keeps_gradient_size():
    zs, zt, _ = random_batch(np.random.default_rng(2), scale=1.0)
    norms = {t: np.linalg.norm(soft_grad(zs, zt, t)) for t in (5.0, 20.0, 100.0)}
    raw = {t: np.linalg.norm(soft_grad(zs, zt, t, scaled=False)) for t in (5.0, 20.0, 100.0)}
    assert norms[100.0] / norms[5.0] == pytest.approx(1.0, abs=0.1)
    assert raw[100.0] / raw[5.0] == pytest.approx((5.0 / 100.0) ** 2, rel=0.1)


def test_high_t_gradient_is_logit_matching():
    # Hinton sec. 2.1: for large T, T^2 * dKL/dz_s -> (z_s - z_t) / C for zero-mean logits.
    zs, zt, _ = random_batch(np.random.default_rng(3), n=4, scale=3.0)
    zs, zt = zs - zs.mean(1, keepdims=True), zt - zt.mean(1, keepdims=True)
    limit = (zs - zt) / zs.shape[1] / len(zs)  # the loss is a batch mean
    for temperature, tol in ((20.0, 0.2), (100.0, 0.05)):
        err = np.linalg.norm(soft_grad(zs, zt, temperature) - limit) / np.linalg.norm(limit)
        assert err < tol


def test_soft_term_matches_keras_logits_distillation():
    zs, zt, y = random_batch(np.random.default_rng(4), scale=2.0)
    # Configured alike: pass the KLDivergence *instance*; keras 3.15's default string
    # "kl_divergence" skips the softmax and the T^2 factor (see notebook 03).
    ref = keras.distillation.LogitsDistillation(temperature=3.0, loss=keras.losses.KLDivergence())
    want = float(ref.compute_loss(zt, zs))
    _, soft = kd_terms(y, zs, zt, 3.0)
    assert float(np.mean(soft)) == pytest.approx(want, abs=1e-6)


def np_seed_kd_loss(y, zs, zt):
    """Formula 4.2.3 as printed, in float64 numpy: one-hot y, softmax at T = 1, no alpha."""
    y_hot = np.eye(zs.shape[1])[y]

    def log_sm(z):
        z = np.asarray(z, np.float64) - np.max(z, axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    return float(-np.mean((y_hot * log_sm(zs) + (1 - y_hot) * log_sm(zt)).sum(axis=1)))


@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 30.0))
@settings(max_examples=30, deadline=None)
def test_seed_kd_loss_matches_the_printed_formula(seed, scale):
    zs, zt, y = random_batch(np.random.default_rng(seed), scale=scale)
    want = np_seed_kd_loss(y, zs, zt)
    assert float(seed_kd_loss(y, zs, zt)) == pytest.approx(want, rel=1e-5, abs=1e-5)


def test_seed_second_term_has_zero_gradient():
    zs, zt, y = random_batch(np.random.default_rng(5))
    zs_var = tf.Variable(zs)
    with tf.GradientTape(persistent=True) as tape:
        seed = seed_kd_loss(y, zs_var, zt)
        ce = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, zs_var,
                                                                          from_logits=True))
    # the gradient is plain cross-entropy's: the teacher-only second term adds nothing ...
    np.testing.assert_allclose(tape.gradient(seed, zs_var).numpy(),
                               tape.gradient(ce, zs_var).numpy(), atol=1e-7)
    # ... though it adds to the value: -sum_j (1 - y_j) log t_j, the teacher's alone
    teacher_only = np_seed_kd_loss(y, np.zeros_like(zs), zt) - np.log(10.0)
    assert float(seed) - float(ce) == pytest.approx(teacher_only, rel=1e-5)
    assert teacher_only > 1.0


def test_seed_kd_loss_bad_input():
    zs, zt, y = random_batch(np.random.default_rng(7))
    with pytest.raises(ValueError, match="student_logits and teacher_logits"):
        seed_kd_loss(y, zs, zt[:, :5])
    with pytest.raises(ValueError, match="labels"):
        seed_kd_loss(y[:3], zs, zt)
    with pytest.raises(ValueError, match="labels"):
        seed_kd_loss(y + 10, zs, zt)
    with pytest.raises(TypeError):
        seed_kd_loss(y, zs, zt, 2.0)  # no temperature: the formula as printed has none


def test_kd_loss_bad_input():
    fn = kd_loss
    zs, zt, y = random_batch(np.random.default_rng(6))
    with pytest.raises(ValueError, match="temperature"):
        fn(y, zs, zt, 0.0, 0.5)
    with pytest.raises(ValueError, match="temperature"):
        fn(y, zs, zt, -2.0, 0.5)
    with pytest.raises(TypeError, match="temperature"):
        fn(y, zs, zt, "2", 0.5)
    with pytest.raises(ValueError, match=r"alpha must be a finite number in \[0, 1\]"):
        fn(y, zs, zt, 2.0, 1.5)
    with pytest.raises(ValueError, match="alpha"):
        fn(y, zs, zt, 2.0, -0.1)
    with pytest.raises(TypeError, match="alpha"):
        fn(y, zs, zt, 2.0, "0.5")
    with pytest.raises(ValueError, match="student_logits and teacher_logits"):
        fn(y, zs, zt[:, :5], 2.0, 0.5)
    with pytest.raises(ValueError, match="labels"):
        fn(y[:3], zs, zt, 2.0, 0.5)


def test_labels_come_first_like_keras():
    zs, zt, y = random_batch(np.random.default_rng(8))
    want = np_kd_loss(y, zs, zt, 2.0, 0.4)
    assert float(kd_loss(y, zs, zt, 2.0, 0.4)) == pytest.approx(want, rel=1e-5)
    assert float(kd_loss(labels=y, student_logits=zs, teacher_logits=zt, temperature=2.0,
                         alpha=0.4)) == pytest.approx(want, rel=1e-5)
