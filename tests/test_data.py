import hashlib
import shutil

import numpy as np
import pytest

from compress_lib import data

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_full_load_shapes_ranges_and_label_counts():
    (x, y), (xt, yt) = data.load_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == TRAIN_COUNTS
    assert np.bincount(yt).tolist() == TEST_COUNTS


def test_array_checksums_match_data_readme():
    with np.load(data.MNIST_PATH) as f:
        digest = hashlib.sha256(f["x_test"].tobytes()).hexdigest()
    assert digest == "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"


def test_flatten_and_reproducible_subsets():
    (x1, y1), (xt1, _) = data.load_mnist(flatten=True, n_train=500, n_test=100, seed=3)
    (x2, y2), _ = data.load_mnist(flatten=True, n_train=500, n_test=100, seed=3)
    (x3, _), _ = data.load_mnist(flatten=True, n_train=500, n_test=100, seed=4)
    assert x1.shape == (500, 784) and xt1.shape == (100, 784)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_train": 60001}, {"n_test": -5},
                                    {"n_test": 10001}])
def test_bad_subset_size(kwargs):
    with pytest.raises(ValueError, match="n_t"):
        data.load_mnist(**kwargs)


@pytest.mark.parametrize("kwargs,name", [({"n_train": 1.5}, "n_train"),
                                         ({"n_test": "10"}, "n_test"),
                                         ({"n_train": True}, "n_train"), ({"seed": 0.5}, "seed")])
def test_non_integer_argument_is_a_type_error(kwargs, name):
    with pytest.raises(TypeError, match=name):
        data.load_mnist(**kwargs)


def test_negative_seed():
    with pytest.raises(ValueError, match="seed"):
        data.load_mnist(n_train=10, seed=-1)


def test_corrupted_file_names_the_fix(tmp_path):
    bad = tmp_path / "mnist.npz"
    shutil.copy(data.MNIST_PATH, bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(data.ChecksumError, match="git checkout -- data/mnist.npz"):
        data.load_mnist(path=bad)


def test_missing_file_without_opt_in(tmp_path):
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        data.load_mnist(path=tmp_path / "absent.npz")


def test_opt_in_fallback_uses_keras_loader(tmp_path, monkeypatch):
    import keras

    calls = []
    fake = (np.full((3, 28, 28), 255, np.uint8), np.arange(3, dtype=np.uint8))

    def load_data():
        calls.append(1)
        return fake, fake

    monkeypatch.setattr(keras.datasets.mnist, "load_data", load_data)
    (x, y), _ = data.load_mnist(path=tmp_path / "absent.npz", allow_download=True)
    assert calls == [1] and x.shape == (3, 28, 28) and x.max() == 1.0 and y.tolist() == [0, 1, 2]
