"""Shared code of the neural-network compression workbook (one module per technique)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: silences C++ logs (TensorFlow, TFLite converter)."""
    sys.stderr.flush()
    null, saved = os.open(os.devnull, os.O_WRONLY), os.dup(2)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe devices once, without its start-up log lines."""
    if "tensorflow" in sys.modules:
        return
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


_import_tensorflow_quietly()
