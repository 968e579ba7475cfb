"""Run profiles (quick / full), seeding, and the one explicit set-up call of every notebook.

Importing this module (or any numpy-only module of the package) sets nothing and does not
import TensorFlow; `setup()` does the process-wide set-up and prints what it set.
Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from compress_lib._checks import check_int

__all__ = ["PROFILES", "PROFILE_ENV", "Profile", "fds_muted", "get_profile", "quiet", "set_seed",
           "setup"]

PROFILE_ENV = "COMPRESS_PROFILE"
TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"


@dataclass(frozen=True)
class Profile:
    """Sizes of one kind of run: `quick` for CI smoke tests, `full` for recorded results."""

    name: str
    epochs: int
    n_train: int | None  # None means the whole 60,000-image training set
    n_test: int | None  # None means the whole 10,000-image test set
    seeds: tuple[int, ...]
    latency_repeats: int


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", epochs=1, n_train=4000, n_test=1000, seeds=(0,), latency_repeats=20),
    "full": Profile("full", epochs=10, n_train=None, n_test=None, seeds=(0, 1, 2),
                    latency_repeats=200),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile called `name` (default: $COMPRESS_PROFILE, else 'full')."""
    name = os.environ.get(PROFILE_ENV, "full") if name is None else name
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    return PROFILES[name]


@contextlib.contextmanager
def fds_muted(*fds: int) -> Iterator[None]:
    """Send file descriptors (1: stdout, 2: stderr, as C++ code writes them) to /dev/null.

    fds_muted(2) hides TensorFlow's C++ log lines, such as the E0000 "use_unbounded_threadpool"
    line that op determinism makes tf.data print during fit and predict on more than one batch.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved: list[tuple[int, int]] = []
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            with contextlib.suppress(OSError):
                saved.append((fd, os.dup(fd)))
                os.dup2(null, fd)
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Python- and C-level stdout/stderr and TF's logger (C++ logs, TFLite converter)."""
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with fds_muted(1, 2), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        tf_logger.setLevel(level)


def set_seed(seed: int = 0) -> None:
    """Seed Python's, NumPy's and Keras/TensorFlow's random generators."""
    seed = check_int("seed", seed, 0, 2**32 - 1)
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def setup(seed: int = 0, deterministic: bool = True, verbose: bool = True) -> None:
    """Set up a notebook's process: quiet TF import, seeds, op determinism, PNG figures.

    Prints one line per setting, so that a stored notebook says how its numbers were made.
    """
    os.environ.setdefault(TF_LOG_ENV, "2")
    with quiet():  # TensorFlow's C++ start-up lines, printed once at import
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    set_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    from compress_lib import plots

    plots.setup()
    if verbose:
        print(f"setup: seeds (Python, NumPy, Keras) = {seed}; TensorFlow op determinism "
              f"{'on' if deterministic else 'off'}; {TF_LOG_ENV}={os.environ[TF_LOG_ENV]}; "
              "figures as PNG")
