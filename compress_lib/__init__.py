"""Shared code of the neural-network compression workbook (one module per technique)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Python- and C-level stdout/stderr and TF's logger (C++ logs, TFLite converter)."""
    sys.stdout.flush()
    sys.stderr.flush()
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    saved: list[tuple[int, int]] = []
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                saved.append((fd, os.dup(fd)))
                os.dup2(null, fd)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)
        tf_logger.setLevel(level)


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe devices once, without its C++ start-up log lines."""
    if "tensorflow" in sys.modules:
        return
    with quiet():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


_import_tensorflow_quietly()
