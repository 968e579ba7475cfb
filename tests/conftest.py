"""Shared test setup: quiet TensorFlow, quick profile, results kept out of results/."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("COMPRESS_PROFILE", "quick")


@pytest.fixture(scope="session")
def mnist():
    """A small flattened MNIST subset shared by the model-level tests."""
    from compress_lib import data

    return data.load_mnist(flatten=True, n_train=1500, n_test=500)


@pytest.fixture(scope="session")
def trained(mnist):
    """The 784-128-64-10 MLP after one short epoch on that subset."""
    import keras

    from compress_lib import models

    (x, y), _ = mnist
    keras.utils.set_random_seed(0)
    model = models.seed_mlp()
    models.train(model, (x, y), epochs=1, progress=False)
    return model
