"""Tests of compress_lib.reference: compress_lib's pruning side by side with TF-MOT."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from compress_lib import models  # noqa: E402
from compress_lib import reference  # noqa: E402


@pytest.fixture(scope="module")
def mnist():
    from compress_lib.data import load_mnist

    return load_mnist(flatten=True, n_train=1024, n_test=256)


def test_compare_with_tfmot_same_sparsity_and_median_of_later_epochs(mnist):
    pytest.importorskip("tensorflow_model_optimization")
    (x, y), (xt, yt) = mnist
    keras.utils.set_random_seed(0)
    model = models.lenet_300_100()
    r = reference.compare_with_tfmot(model, (x, y), (xt, yt), 0.8, epochs=3, frequency=5,
                                     plain=True, progress=False)
    assert r["compress_lib_sparsity"] == r["tfmot_sparsity"] == 0.8
    assert set(r["epoch_seconds"]) == {"compress_lib", "tfmot", "plain_keras3", "plain_tf_keras"}
    for name, times in r["epoch_seconds"].items():
        assert len(times) == 3 and min(times) > 0
        assert r[f"{name}_s_per_epoch"] == pytest.approx(np.median(times[1:]), abs=1e-3)
    assert abs(r["compress_lib_accuracy"] - r["tfmot_accuracy"]) < 0.1
    assert keras.__version__.startswith("3.")  # TF-MOT's import left Keras 3 usable
    assert isinstance(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), keras.Model)


def test_tf_keras_copy_has_the_same_predictions(mnist):
    pytest.importorskip("tf_keras")
    _, (xt, _) = mnist
    model = models.mlp((16,), dropout=(0.1, 0.2))
    copy = reference.tf_keras_copy(model)
    np.testing.assert_allclose(copy.predict(xt[:32], verbose=0),
                               models.predict_logits(model, xt[:32]), rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="only Dense/Dropout models"):
        reference.tf_keras_copy(models.lenet5())


def test_compare_with_tfmot_bad_input(mnist):
    (x, y), (xt, yt) = mnist
    model = models.mlp((16,))
    with pytest.raises(ValueError, match=r"sparsity must be a finite number in \[0, 1\)"):
        reference.compare_with_tfmot(model, (x, y), (xt, yt), 1.0, epochs=1)
    with pytest.raises(TypeError, match="epochs must be an int"):
        reference.compare_with_tfmot(model, (x, y), (xt, yt), 0.5, epochs=1.5)
    with pytest.raises(ValueError, match="frequency=100000 is too large"):
        reference.compare_with_tfmot(model, (x, y), (xt, yt), 0.5, epochs=1, frequency=100000)
