"""Run profiles (quick / full) and seeding.

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np

PROFILE_ENV = "COMPRESS_PROFILE"


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


def set_seed(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and Keras/TensorFlow; optionally make TF ops deterministic."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    import keras
    import tensorflow as tf

    random.seed(int(seed))
    np.random.seed(int(seed))
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
