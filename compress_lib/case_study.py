"""The MNIST case study's glue: the article's claims, its listing's failures, one deployment table.

- `ARTICLE_CLAIMS`: the source article's section 5.4 table (accuracy, parameters, time of
  its initial, pruned, quantized and distilled models), published figures, not ours.
- `attempt`: run one step of the article's section 5.2 listing and turn a failure into a
  result row (the exception's type and first line), so that the notebook records which
  errors today's Keras raises.
- `deployment_rows`: accuracy, parameters, nonzeros, `.tflite` bytes (raw and gzip) and
  batch-1 LiteRT latency of several models, timed in one interleaved run, beside the
  article's claim for the model it corresponds to.
Taught in notebooks/06_mnist_case_study.ipynb.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import keras
import numpy as np

from compress_lib import coding
from compress_lib import export
from compress_lib import measure
from compress_lib._checks import check_callable
from compress_lib._checks import check_int
from compress_lib._checks import check_labelled
from compress_lib._checks import check_model

__all__ = ["ARTICLE_CLAIMS", "attempt", "deployment_rows"]

# The article's section 5.4 table: accuracy (fraction), parameters, "running speed" (ms).
ARTICLE_CLAIMS = {
    "initial": {"accuracy": 0.90, "params": 128_000, "ms": 100.0},
    "pruned": {"accuracy": 0.85, "params": 12_800, "ms": 50.0},
    "quantized": {"accuracy": 0.80, "params": 12_800, "ms": 40.0},
    "distilled": {"accuracy": 0.80, "params": 12_800, "ms": 30.0},
}


def _first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message that says what went wrong, cut to `limit`.

    Keras wraps errors raised inside a layer call in a first line "Exception encountered when
    calling ..." and bold-face escape codes; both are skipped.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("Exception encountered when")]
    text = lines[0] if lines else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def attempt(step: str, call: str, fn: Callable[[], object]) -> tuple[object, dict]:
    """Run fn(); (its value or None, a row naming the step, the call and the error if any)."""
    if not isinstance(step, str) or not isinstance(call, str):
        raise TypeError(f"step and call must be str, got {type(step).__name__} and "
                        f"{type(call).__name__}")
    check_callable("fn", fn)
    try:
        value = fn()
    except Exception as error:  # the point: record whatever the article's call raises
        return None, {"step": step, "call": call, "error_type": type(error).__name__,
                      "message": _first_line(error)}
    return value, {"step": step, "call": call, "error_type": None, "message": ""}


def _check_entries(entries: dict) -> None:
    """entries: name -> (Keras model, .tflite bytes, article claim key or None)."""
    if not isinstance(entries, dict):
        raise TypeError("entries must be a dict of name -> (model, tflite bytes, article key or "
                        f"None), got {type(entries).__name__}")
    if not entries:
        raise ValueError("entries must hold at least one model, got an empty dict")
    for name, entry in entries.items():
        if not isinstance(entry, tuple) or len(entry) != 3:
            raise TypeError(f"entries[{name!r}] must be (model, tflite bytes, article key)")
        check_model(entry[0], f"entries[{name!r}][0]")
        if not isinstance(entry[1], bytes):
            raise TypeError(f"entries[{name!r}][1] must be .tflite bytes")
        if entry[2] is not None and entry[2] not in ARTICLE_CLAIMS:
            raise ValueError(f"entries[{name!r}][2] must be None or one of "
                             f"{sorted(ARTICLE_CLAIMS)}, got {entry[2]!r}")


def deployment_rows(entries: dict[str, tuple[keras.Model, bytes, str | None]],
                    data: tuple[np.ndarray, np.ndarray], repeats: int = 200) -> list[dict]:
    """One row per model: LiteRT accuracy on data, sizes, batch-1 latency vs the first model.

    All models are timed in one interleaved run (export.compare_latency, one thread).
    """
    _check_entries(entries)
    data = check_labelled(data)
    repeats = check_int("repeats", repeats, low=10)  # compare_latency's 10 rounds
    latency = export.compare_latency({n: e[1] for n, e in entries.items()}, repeats=repeats)
    first = next(iter(entries))
    rows = []
    for name, (model, buffer, key) in entries.items():
        claim = ARTICLE_CLAIMS.get(key, {})
        rows.append({
            "model": name, "accuracy": export.evaluate_tflite(buffer, data),
            "params": measure.count_params(model), "nonzero": measure.count_nonzero(model),
            "tflite_bytes": len(buffer), "tflite_gzip_bytes": coding.gzip_size(buffer),
            "latency_us": 1e3 * latency[name].median_ms,
            "latency_ratio": latency[name].median_ms / latency[first].median_ms,
            "article_model": key, "article_accuracy": claim.get("accuracy"),
            "article_params": claim.get("params"), "article_ms": claim.get("ms")})
    return rows
