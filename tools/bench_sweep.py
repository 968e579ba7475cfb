"""Time a sweep shaped like notebook 03's T x alpha x seed grid at 1, 2, 4, ... Ray workers.

    python tools/bench_sweep.py                       # quick profile, 1, 2, 4, ... usable CPUs
    python tools/bench_sweep.py --workers 1,2 --rounds 2 --epochs 3

The sweep is notebook 03's: `distillation.student_run` distils 784-16-10 students from a
small teacher's cached logits, one configuration per (T, alpha, seed), on the profile's
MNIST subset, with the data and the teacher bound by functools.partial (Ray ships them to
the workers once, through its object store). Each round runs the serial backend in this
process and then every worker count, each on a fresh local Ray with that many CPUs
(`ray.init(num_cpus=workers)`, one CPU per task), so that all settings share the machine's
state. The times include each worker's start (importing TensorFlow) but not Ray's own
start. The table reports the median wall time per setting, the speedup over one worker, the
efficiency (speedup / workers), the core-seconds spent, and whether every run gave rows
identical to the serial run's.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import statistics
import sys
import time

from compress_lib import config
from compress_lib import data
from compress_lib import distillation
from compress_lib import models
from compress_lib import sweep as sw
from compress_lib import tables

T_VALUES = (1.0, 2.0, 4.0, 8.0, 20.0)  # notebook 03's SWEEP_T (full profile), at alpha 0.5


def bound_run(profile: config.Profile) -> functools.partial:
    """student_run with the data and a one-epoch 784-256-10 teacher (and its logits) bound."""
    train, test = data.load_mnist(flatten=True, n_train=profile.n_train, n_test=profile.n_test)
    config.set_seed(0)
    teacher = models.mlp((256,), name="teacher_256")
    models.train(teacher, train, epochs=1, progress=False)
    return functools.partial(distillation.student_run,
                             build=functools.partial(models.mlp, (16,), name="tiny_16"),
                             data=train, evals={"test": test}, teacher=teacher,
                             teacher_logits=models.predict_logits(teacher, train[0]))


def grid(seeds: int, epochs: int) -> list[dict]:
    """The configurations: every T at alpha 0.5 and alpha 0.1, 0.9 at T 1, for each seed."""
    settings = [(t, 0.5) for t in T_VALUES] + [(1.0, 0.1), (1.0, 0.9)]
    return [{"loss": "kd", "T": t, "alpha": a, "seed": s, "epochs": epochs,
             "learning_rate": 1e-2} for t, a in settings for s in range(seeds)]


def timed_run(run: functools.partial, configs: list[dict], workers: int
              ) -> tuple[float, list[dict]]:
    """Wall seconds and rows of one sweep: serial when workers is 0, else on a fresh Ray."""
    import ray

    if workers:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    try:
        start = time.perf_counter()
        rows = sw.sweep(run, configs, backend="ray" if workers else "serial",
                        desc=f"{workers or 'serial'} workers")
        return time.perf_counter() - start, rows
    finally:
        if workers:
            ray.shutdown()


def report(times: dict[int, list[float]], identical: dict[int, bool]) -> str:
    """The table: median wall time, speedup over 1 worker, efficiency, core-seconds, identity."""
    med = {w: statistics.median(ts) for w, ts in times.items()}
    one = med.get(1)
    rows = []
    for w, t in med.items():
        speedup = one / t if one and w else None
        rows.append({"workers": w or "serial", "wall_s": round(t, 1),
                     "speedup_vs_1": None if speedup is None else round(speedup, 2),
                     "efficiency": None if speedup is None else round(speedup / w, 2),
                     "core_s": round(t * max(w, 1), 1), "rows_identical": identical[w]})
    return tables.text_table(rows)


def worker_counts(text: str | None) -> list[int]:
    """'1,2,4' as [1, 2, 4]; by default 1, 2, 4, ... up to the usable CPUs (and that count)."""
    if text:
        return [int(w) for w in text.split(",")]
    cpus = len(os.sched_getaffinity(0))
    counts = [2**k for k in range(cpus.bit_length()) if 2**k <= cpus]
    return counts if counts[-1] == cpus else [*counts, cpus]


def main(argv: list[str] | None = None) -> int:
    """Parse the options, build the teacher and the grid, run the interleaved rounds, report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="quick", choices=sorted(config.PROFILES))
    ap.add_argument("--workers", help="comma-separated worker counts (default 1, 2, 4, ...)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median taken)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per (T, alpha) setting")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per student")
    args = ap.parse_args(argv)
    config.setup(seed=0)
    profile = config.get_profile(args.profile)
    counts = [0, *worker_counts(args.workers)]
    times: dict[int, list[float]] = {w: [] for w in counts}
    identical = dict.fromkeys(counts, True)
    run, configs = bound_run(profile), grid(args.seeds, args.epochs)
    print(f"{len(configs)} configurations, profile {profile.name}, {args.epochs} epoch(s) "
          f"each; machine: {len(os.sched_getaffinity(0))} usable CPUs")
    serial_rows = None
    for _ in range(args.rounds):
        for w in counts:
            seconds, rows = timed_run(run, configs, w)
            serial_rows = serial_rows or rows
            times[w].append(seconds)
            identical[w] &= rows == serial_rows
    print(report(times, identical))
    return 0 if all(identical.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
