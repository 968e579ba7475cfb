"""Run one function over a list of configurations, serially or as Ray tasks, rows in order.

`sweep(fn, configs)` calls `fn(config)` for each configuration (a dict) and returns the
result rows in configuration order. Backends: `serial` (in this process, the default) and
`ray` (each configuration a Ray task in its own worker process). $COMPRESS_BACKEND chooses
the default backend; `ray` starts a local Ray on demand, or joins the cluster at
$RAY_ADDRESS, and leaves it running for later sweeps (a Ray it starts does not forward the
workers' printed output; rows and errors come back). Before each call the process is seeded
from the configuration (`config.set_seed(config["seed"])`, seed 0 when it has none) and,
in a Ray worker, TensorFlow's op determinism is set as in the calling process and its thread
pools to the task's CPUs, so a row does not depend on which worker ran it or in what order.
The serial backend therefore leaves the calling process seeded as by its last configuration
(a Ray sweep leaves it untouched): a cell that draws random numbers after a sweep seeds
itself first.
NumPy-only at import: TensorFlow and Ray are imported when a sweep runs. Every sweep of
independent runs in the notebooks goes through it: notebook 03's students (seeds x losses,
its grids), notebook 04's scans, pruning methods and seeds, notebook 06's code widths and
grid. Taught in notebooks/03_distillation.ipynb.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

from compress_lib import _compat
from compress_lib import config
from compress_lib._checks import check_callable
from compress_lib._checks import check_choice
from compress_lib._checks import check_int

__all__ = ["BACKENDS", "BACKEND_ENV", "DEFAULT_SEED", "MAX_RETRIES", "SweepError",
           "backend_name", "sweep"]

BACKENDS = ("serial", "ray")
BACKEND_ENV = "COMPRESS_BACKEND"
DEFAULT_SEED = 0  # the seed of a configuration without a "seed" key
MAX_RETRIES = 3  # Ray re-runs a task this often when its worker process dies


class SweepError(RuntimeError):
    """A configuration's function raised: names the configuration, carries the traceback."""


def backend_name(backend: str | None = None) -> str:
    """The backend a sweep uses: `backend`, else $COMPRESS_BACKEND, else 'serial'."""
    if backend is None:
        backend = os.environ.get(BACKEND_ENV) or "serial"
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str in {BACKENDS} or None, "
                        f"got {type(backend).__name__} {backend!r}")
    return check_choice("backend", backend, BACKENDS)


def _check_configs(configs: Any) -> list[dict]:
    """A non-empty list (or tuple) of dicts, each with an int seed if it has one."""
    if not isinstance(configs, list | tuple):
        raise TypeError(f"configs must be a list of dicts, got {type(configs).__name__}")
    if not configs:
        raise ValueError("configs must be a non-empty list of dicts, got an empty one")
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, dict):
            raise TypeError(f"configs[{i}] must be a dict, got {type(cfg).__name__} {cfg!r}")
        if "seed" in cfg:
            check_int(f"configs[{i}]['seed']", cfg["seed"], 0, 2**32 - 1)
    return list(configs)


def _prepare_worker(deterministic: bool, threads: int) -> None:
    """In a Ray worker: TF's thread pools `threads` wide (if TF has not run yet), determinism."""
    os.environ.setdefault(config.TF_LOG_ENV, "2")
    with config.quiet():  # TF's C++ start-up lines, if this task imports it first
        import tensorflow as tf
    if tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TF already ran in this worker: its pools can no longer change
            pass
    if deterministic and not _compat.op_determinism_enabled():
        tf.config.experimental.enable_op_determinism()


def _run_one(fn: Callable[[dict], dict], cfg: dict,
             worker: tuple[bool, int] | None = None) -> tuple[bool, Any]:
    """Seed, call fn(cfg): (True, row), or (False, traceback text) if it raised or gave no dict.

    `worker` = (op determinism, threads) prepares a Ray worker first (_prepare_worker).
    """
    try:
        if worker is not None:
            _prepare_worker(*worker)
        config.set_seed(cfg.get("seed", DEFAULT_SEED))
        row = fn(cfg)
        if not isinstance(row, dict):
            raise TypeError(f"fn must return a result row (a dict), got {type(row).__name__}")
        return True, row
    except Exception:  # reported to the caller with its configuration (SweepError)
        return False, traceback.format_exc()


def _failed(index: int, cfg: dict, text: str) -> SweepError:
    """The error for configuration `index`, naming it and quoting the worker's traceback."""
    return SweepError(f"configuration {index} {cfg!r} failed; no rows are returned.\n"
                      f"Traceback from the worker:\n{text}")


def _bar(total: int, desc: str | None):
    """A text progress bar over completed configurations (models.progress); none if desc is None."""
    from compress_lib import models

    return models.progress(total=total, desc=desc, unit="config", disable=desc is None)


def _serial(fn: Callable[[dict], dict], configs: list[dict], desc: str | None) -> list[dict]:
    """Run every configuration in this process, in order."""
    rows = []
    with _bar(len(configs), desc) as bar:
        for i, cfg in enumerate(configs):
            ok, out = _run_one(fn, cfg)
            if not ok:
                raise _failed(i, cfg, out)
            rows.append(out)
            bar.update(1)
    return rows


def _ray():
    """The ray module, with Ray started if needed (local, or the cluster at $RAY_ADDRESS)."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the ray backend needs Ray: pip install 'compress_lib[ray]'") from exc
    if not ray.is_initialized():
        import logging

        # Ray 2.60 announces, as a warning, that the local Ray it starts uses token
        # authentication (its default); kept out of notebooks. Warnings of anything else show.
        notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = notice.level
        notice.setLevel(logging.ERROR)
        try:
            ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING)
        finally:
            notice.setLevel(level)
    return ray


def _gather(ray, refs: list, configs: list[dict], desc: str | None) -> list[dict]:
    """The tasks' rows in configuration order; the first failure cancels the rest and raises."""
    index = {ref: i for i, ref in enumerate(refs)}
    rows: list[Any] = [None] * len(refs)
    pending = list(refs)
    try:
        with _bar(len(refs), desc) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                i = index[done[0]]
                try:
                    ok, out = ray.get(done[0])
                except ray.exceptions.RayError as exc:  # its worker died MAX_RETRIES + 1 times
                    ok, out = False, str(exc)
                if not ok:
                    raise _failed(i, configs[i], out)
                rows[i] = out
                bar.update(1)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return rows


def _on_ray(fn: Callable[[dict], dict], configs: list[dict], cpus_per_task: int,
            desc: str | None) -> list[dict]:
    """Run every configuration as a Ray task with `cpus_per_task` CPUs; rows in order."""
    ray = _ray()
    task = ray.remote(num_cpus=cpus_per_task, max_retries=MAX_RETRIES,
                      retry_exceptions=False)(_run_one)
    fn_ref = ray.put(fn)
    worker = (_compat.op_determinism_enabled(), cpus_per_task)
    refs = [task.remote(fn_ref, cfg, worker) for cfg in configs]
    return _gather(ray, refs, configs, desc)


def sweep(fn: Callable[[dict], dict], configs: list[dict], backend: str | None = None,
          cpus_per_task: int = 1, desc: str | None = "configurations") -> list[dict]:
    """Run fn(config) for every configuration; return the result rows in configuration order.

    `fn` must be a picklable (top-level) function of one dict returning a dict. On Ray each
    task reserves `cpus_per_task` CPUs (ignored by the serial backend). A configuration that
    raises stops the sweep with a SweepError naming it (no rows are returned); on Ray, a
    worker process that dies is re-run up to MAX_RETRIES times. `desc` labels the text
    progress bar over completed configurations (None: no bar).
    """
    check_callable("fn", fn)
    configs = _check_configs(configs)
    backend = backend_name(backend)
    cpus_per_task = check_int("cpus_per_task", cpus_per_task, low=1)
    if desc is not None and not isinstance(desc, str):
        raise TypeError(f"desc must be a str or None, got {type(desc).__name__} {desc!r}")
    if backend == "serial":
        return _serial(fn, configs, desc)
    return _on_ray(fn, configs, cpus_per_task, desc)
