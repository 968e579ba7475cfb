"""Offline, checksum-verified MNIST.

Introduced in notebooks/01_losses.ipynb.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from compress_lib._checks import check_bool
from compress_lib._checks import check_int

__all__ = ["DATA_DIR", "MNIST_PATH", "MNIST_SHA256", "ChecksumError", "Split", "load_mnist",
           "sha256_file", "verify"]

MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MNIST_PATH = DATA_DIR / "mnist.npz"
_VERIFIED: set[Path] = set()

Split = tuple[np.ndarray, np.ndarray]


class ChecksumError(RuntimeError):
    """The bundled data file is corrupted or is not the file the workbook expects."""


def _check_path(path: object) -> None:
    """A file path: a str or an os.PathLike."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__} {path!r}")


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    _check_path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _restore_hint(path: Path) -> str:
    """How to get a good copy of the bundled file back."""
    return (f"Restore it with `git checkout -- data/mnist.npz` (or copy the original file to "
            f"{path}); see data/README.md for its checksum and provenance.")


def verify(path: Path, expected: str = MNIST_SHA256) -> None:
    """Check a file's sha256 once per process; raise ChecksumError on mismatch."""
    _check_path(path)
    if not isinstance(expected, str):
        raise TypeError(f"expected must be a sha256 hex str, got {type(expected).__name__}")
    if len(expected) != 64:
        raise ValueError(f"expected must be a sha256 of 64 hex digits, got {expected!r}")
    if path in _VERIFIED:
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(f"{path} is corrupted: sha256 {actual} != expected {expected}. "
                            + _restore_hint(path))
    _VERIFIED.add(path)


def _subset(x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator) -> Split:
    """A reproducible random subset of n examples (all of them when n is None)."""
    if n is None or n == len(x):
        return x, y
    idx = np.sort(rng.permutation(len(x))[:n])
    return x[idx], y[idx]


@functools.lru_cache(maxsize=2)
def _read_npz(path: Path) -> tuple[Split, Split]:
    """Read-only uint8 arrays of a verified file, cached per process."""
    verify(path)
    with np.load(path) as f:
        arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    for a in arrays:
        a.flags.writeable = False
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def _read_raw(path: Path, allow_download: bool) -> tuple[Split, Split]:
    """uint8 arrays from the bundled file, or from keras.datasets if opted in."""
    if path.exists():
        return _read_npz(path)
    if not allow_download:
        raise FileNotFoundError(f"MNIST file not found at {path}. " + _restore_hint(path)
                                + " Or pass allow_download=True to fetch it with "
                                "keras.datasets.mnist (needs internet).")
    import keras

    return keras.datasets.mnist.load_data()


def load_mnist(flatten: bool = False, n_train: int | None = None, n_test: int | None = None,
               seed: int = 0, path: str | os.PathLike | None = None,
               allow_download: bool = False) -> tuple[Split, Split]:
    """Return ((x_train, y_train), (x_test, y_test)): float32 images in [0, 1], int64 labels."""
    n_train = None if n_train is None else check_int("n_train", n_train, 1, 60000)
    n_test = None if n_test is None else check_int("n_test", n_test, 1, 10000)
    check_bool("flatten", flatten)
    check_bool("allow_download", allow_download)
    seed = check_int("seed", seed, low=0)
    if path is not None:
        _check_path(path)
    path = MNIST_PATH if path is None else Path(path)
    (x_tr, y_tr), (x_te, y_te) = _read_raw(path, allow_download)
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _subset(x_tr, y_tr, n_train, rng)
    x_te, y_te = _subset(x_te, y_te, n_test, rng)

    def prep(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32) / np.float32(255.0)
        return x.reshape(len(x), -1) if flatten else x

    return (prep(x_tr), y_tr.astype(np.int64)), (prep(x_te), y_te.astype(np.int64))
