import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from compress_lib import losses

logit_rows = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 12)),
                    elements=st.floats(-500, 500))
temps = st.floats(0.05, 100)


@settings(max_examples=60, deadline=None)
@given(logit_rows, temps)
def test_softmax_is_a_distribution_and_shift_invariant(z, t):
    p = losses.softmax(z, t)
    assert np.all(p >= 0) and np.allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(p, losses.softmax(z + 123.0, t), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(logit_rows)
def test_logsumexp_bounds(z):
    lse = losses.logsumexp(z)
    assert np.all(lse >= z.max(axis=-1) - 1e-9)
    assert np.all(lse <= z.max(axis=-1) + np.log(z.shape[-1]) + 1e-9)


@settings(max_examples=40, deadline=None)
@given(logit_rows, st.floats(1.5, 50))
def test_higher_temperature_raises_entropy(z, t):
    assert np.all(losses.entropy(losses.softmax(z, t)) >= losses.entropy(losses.softmax(z)) - 1e-9)


def test_naive_softmax_overflows_stable_does_not():
    z = np.array([[1000.0, 999.0, 0.0]])
    assert np.isnan(losses.naive_softmax(z)).any()
    np.testing.assert_allclose(losses.softmax(z)[0, :2], [1 / (1 + np.e ** -1), 1 / (1 + np.e)])


def test_cross_entropy_matches_keras():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(32, 10)) * 4
    y = rng.integers(0, 10, 32)
    p = losses.softmax(z)
    keras_ce = keras.losses.categorical_crossentropy(losses.one_hot(y, 10), p)
    np.testing.assert_allclose(losses.cross_entropy(losses.one_hot(y, 10), p), keras_ce,
                               rtol=1e-5)
    keras_logits = keras.losses.sparse_categorical_crossentropy(y, z, from_logits=True)
    np.testing.assert_allclose(losses.softmax_cross_entropy(y, z), keras_logits, rtol=1e-5)


def test_gradient_equals_p_minus_y_with_gradient_tape():
    rng = np.random.default_rng(1)
    z = tf.Variable(rng.normal(size=(8, 10)))
    y = rng.integers(0, 10, 8)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, z))
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(),
                               losses.softmax_cross_entropy_grad(y, z.numpy()), atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        losses.softmax(np.zeros((1, 3)), temperature=0)
    with pytest.raises(ValueError, match="finite"):
        losses.softmax(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="same shape"):
        losses.cross_entropy(np.ones((2, 3)), np.ones((2, 4)) / 4)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.cross_entropy(np.ones((1, 2)), np.array([[2.0, -1.0]]))
    with pytest.raises(ValueError, match="labels"):
        losses.softmax_cross_entropy(np.array([0, 12]), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="labels shape"):
        losses.softmax_cross_entropy(np.array([0]), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="non-empty"):
        losses.logsumexp(np.array([]))


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="temperature"):
        losses.softmax(np.zeros((1, 3)), temperature="2")
    with pytest.raises(TypeError, match="logits"):
        losses.logsumexp(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="num_classes"):
        losses.one_hot(np.array([0, 1]), 10.0)
    with pytest.raises(TypeError, match="labels must be an integer array"):
        losses.one_hot(np.array([0.0, 1.0]), 10)


def test_every_loss_takes_labels_first():
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(4, 10)), rng.integers(0, 10, 4)
    np.testing.assert_allclose(losses.softmax_cross_entropy(labels=y, logits=z),
                               losses.cross_entropy(labels=losses.one_hot(y, 10),
                                                    probs=losses.softmax(z)), rtol=1e-9)
    np.testing.assert_allclose(losses.softmax_cross_entropy_grad(labels=y, logits=z),
                               losses.softmax(z) - losses.one_hot(y, 10))


def test_seed_cross_entropy_is_the_article_formula_read_literally():
    """-(1/m) sum_i y_i log max_k p_ik: label times log-probability of the predicted class."""
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5]])
    labels = np.array([0, 1, 2])
    expected = -(0 * np.log(0.7) + 1 * np.log(0.6) + 2 * np.log(0.5)) / 3
    assert np.isclose(losses.seed_cross_entropy(labels, probs), expected)
    # class-0 samples contribute nothing, however wrong the model is on them
    assert losses.seed_cross_entropy(np.array([0]), np.array([[0.01, 0.99, 0.0]])) == 0.0
    # a confident wrong prediction scores lower than a hesitant right one
    wrong = losses.seed_cross_entropy(np.array([1]), np.array([[0.95, 0.05, 0.0]]))
    right = losses.seed_cross_entropy(np.array([1]), np.array([[0.3, 0.4, 0.3]]))
    assert wrong < right
    # label 9 weighs nine times label 1 at the same confidence
    p = np.full((1, 10), 0.1 / 9)
    p[0, 0] = 0.9
    assert np.isclose(losses.seed_cross_entropy(np.array([9]), p),
                      9 * losses.seed_cross_entropy(np.array([1]), p))


def test_seed_cross_entropy_bad_input():
    with pytest.raises(ValueError, match="probs"):
        losses.seed_cross_entropy(np.array([0]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="probs"):
        losses.seed_cross_entropy(np.array([0]), np.array([[1.5, -0.5]]))
    with pytest.raises(ValueError, match="labels"):
        losses.seed_cross_entropy(np.array([0, 2]), np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="labels must have shape"):
        losses.seed_cross_entropy(np.array([0]), np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(TypeError, match="labels"):
        losses.seed_cross_entropy(np.array([0.0]), np.array([[0.5, 0.5]]))
