import subprocess
import sys

import numpy as np
import pytest

from compress_lib import config


def test_profiles_and_env(monkeypatch):
    monkeypatch.setenv("COMPRESS_PROFILE", "full")
    assert config.get_profile().name == "full"
    monkeypatch.setenv("COMPRESS_PROFILE", "quick")
    assert config.get_profile().name == "quick"
    assert config.get_profile("full").n_train is None
    assert config.get_profile("quick").epochs < config.get_profile("full").epochs


def test_unknown_profile():
    with pytest.raises(ValueError, match="profile must be one of"):
        config.get_profile("medium")


def test_set_seed_reproduces_keras_init():
    import keras

    config.set_seed(7)
    w1 = keras.layers.Dense(5, kernel_initializer="glorot_uniform")
    w1.build((None, 3))
    r1 = np.random.rand(3)
    config.set_seed(7)
    w2 = keras.layers.Dense(5, kernel_initializer="glorot_uniform")
    w2.build((None, 3))
    r2 = np.random.rand(3)
    np.testing.assert_array_equal(np.asarray(w1.kernel), np.asarray(w2.kernel))
    np.testing.assert_array_equal(r1, r2)


@pytest.mark.parametrize("seed,err", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError),
                                      ("0", TypeError), (True, TypeError)])
def test_bad_seed(seed, err):
    with pytest.raises(err, match="seed"):
        config.set_seed(seed)


def test_setup_prints_one_line_saying_what_it_set():
    code = ("import numpy as np\nfrom compress_lib import config\n"
            "config.setup(seed=3)\nprint(np.random.rand())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(out) == 2
    assert out[0].startswith("setup: seeds (Python, NumPy, Keras) = 3; TensorFlow op "
                             "determinism on")
    np.random.seed(3)
    assert float(out[1]) == pytest.approx(np.random.rand())


def test_setup_bad_seed_is_a_type_error():
    with pytest.raises(TypeError, match="seed"):
        config.setup(seed=0.5, verbose=False)


def test_quiet_silences_stdout():
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer), config.quiet():
        print("hidden")
    assert buffer.getvalue() == ""


def test_fds_muted_hides_file_descriptor_2_only_inside(capfd):
    import os

    with config.fds_muted(2):
        os.write(2, b"E0000 inside\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "inside" not in err and "after" in err
