"""compress_lib.sweep: serial and Ray backends give identical rows, in order, and fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compress_lib import sweep as sw

TESTS = Path(__file__).resolve().parent
CONFIGS = [{"seed": 0, "width": 16}, {"seed": 1, "width": 16}, {"seed": 0, "width": 32},
           {"seed": 2, "width": 8}]


def train_tiny(cfg: dict) -> dict:
    """One epoch of a one-hidden-layer MLP on 300 bundled MNIST images: accuracy and loss."""
    from compress_lib import data
    from compress_lib import models

    (x, y), test = data.load_mnist(flatten=True, n_train=300, n_test=200)
    model = models.mlp((cfg["width"],))
    history = models.train(model, (x, y), epochs=1, batch_size=32, progress=False)
    return {"seed": cfg["seed"], "width": cfg["width"],
            "accuracy": models.accuracy(model, test), "loss": history.history["loss"][-1]}


def train_or_die_once(cfg: dict) -> dict:
    """train_tiny, except that a configuration with a marker kills its worker on the first try."""
    marker = Path(cfg.get("marker", os.devnull))
    if "marker" in cfg and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return train_tiny(cfg)


def fail_on_width_32(cfg: dict) -> dict:
    """Raise for the configuration of width 32, return a row otherwise."""
    if cfg["width"] == 32:
        raise ArithmeticError("width 32 is not allowed here")
    return {"width": cfg["width"]}


@pytest.fixture(scope="module")
def serial_rows():
    """The serial sweep's rows, with TensorFlow op determinism on (config.setup)."""
    from compress_lib import config

    config.setup(seed=0, verbose=False)
    return sw.sweep(train_tiny, CONFIGS, backend="serial")


@pytest.fixture(scope="module")
def ray_session():
    """One local 2-CPU Ray for the module (workers import this file), shut down after it."""
    if os.environ.get("CI"):
        import ray
    else:
        ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


def test_serial_rows_come_in_configuration_order(serial_rows):
    assert [(r["seed"], r["width"]) for r in serial_rows] == \
        [(c["seed"], c["width"]) for c in CONFIGS]
    assert serial_rows[0] != serial_rows[1]  # the seed matters, so the rows can tell it apart


def test_serial_rerun_is_bit_identical(serial_rows):
    assert sw.sweep(train_tiny, CONFIGS[::-1], backend="serial") == serial_rows[::-1]


def test_ray_rows_are_bit_identical_to_serial(serial_rows, ray_session, capsys):
    rows = sw.sweep(train_tiny, CONFIGS, backend="ray", desc="tiny MLPs")
    assert rows == serial_rows  # == on floats: bit-identical accuracies and losses
    assert "tiny MLPs: 100%" in capsys.readouterr().out
    assert ray_session.is_initialized()  # the caller's Ray is left running


def test_killed_worker_is_retried_with_the_same_rows(serial_rows, ray_session, tmp_path):
    marker = tmp_path / "died_once"
    configs = [{**c, "marker": str(marker)} if i == 1 else c for i, c in enumerate(CONFIGS)]
    rows = sw.sweep(train_or_die_once, configs, backend="ray")
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker died
    assert rows == serial_rows


@pytest.mark.parametrize("backend", ["serial", "ray"])
def test_a_failing_configuration_is_named_with_its_traceback(backend, request):
    if backend == "ray":
        request.getfixturevalue("ray_session")
    with pytest.raises(sw.SweepError) as info:
        sw.sweep(fail_on_width_32, CONFIGS, backend=backend)
    text = str(info.value)
    assert "configuration 2 {'seed': 0, 'width': 32} failed" in text
    assert "Traceback" in text and "in fail_on_width_32" in text
    assert "ArithmeticError: width 32 is not allowed here" in text


def test_desc_none_shows_no_progress_bar(capsys):
    assert sw.sweep(fail_on_width_32, [{"width": 8}], desc=None) == [{"width": 8}]
    captured = capsys.readouterr()
    assert "config" not in captured.out + captured.err
    sw.sweep(fail_on_width_32, [{"width": 8}], desc="shown")
    captured = capsys.readouterr()
    assert "shown: 100%" in captured.out + captured.err


def test_a_row_that_is_not_a_dict_is_an_error():
    with pytest.raises(sw.SweepError, match="must return a result row"):
        sw.sweep(len, [{"seed": 0}])


def test_backend_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(sw.BACKEND_ENV, raising=False)
    assert sw.backend_name() == "serial"
    monkeypatch.setenv(sw.BACKEND_ENV, "ray")
    assert sw.backend_name() == "ray" and sw.backend_name("serial") == "serial"
    monkeypatch.setenv(sw.BACKEND_ENV, "dask")
    with pytest.raises(ValueError, match="backend must be one of"):
        sw.backend_name()


@pytest.mark.parametrize("kwargs, error", [
    ({"configs": []}, ValueError),
    ({"configs": {"seed": 0}}, TypeError),
    ({"configs": [{"seed": 0}, 3]}, TypeError),
    ({"configs": [{"seed": -1}]}, ValueError),
    ({"configs": [{"seed": 0.5}]}, TypeError),
    ({"backend": "threads"}, ValueError),
    ({"backend": 1}, TypeError),
    ({"fn": "train_tiny"}, TypeError),
    ({"cpus_per_task": 0}, ValueError),
    ({"cpus_per_task": 1.5}, TypeError),
    ({"desc": 3}, TypeError),
])
def test_bad_input(kwargs, error):
    args = {"fn": fail_on_width_32, "configs": [{"seed": 0, "width": 8}], **kwargs}
    with pytest.raises(error):
        sw.sweep(**args)


def test_the_environment_chooses_ray_which_starts_on_demand(ray_session, tmp_path):
    script = tmp_path / "ray_sweep.py"
    script.write_text(
        "import os\nfrom compress_lib import sweep\n\n"
        "def row(cfg):\n    return {'seed': cfg['seed'], 'pid': os.getpid()}\n\n"
        "rows = sweep.sweep(row, [{'seed': 3}, {'seed': 4}], desc='on demand')\n"
        "print([r['seed'] for r in rows], all(r['pid'] != os.getpid() for r in rows))\n")
    env = {**os.environ, sw.BACKEND_ENV: "ray"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    assert "on demand: 100%" in done.stdout and done.stdout.rstrip().endswith("[3, 4] True")
    assert "Token authentication" not in done.stderr  # Ray's start-up notice is kept out


def bound_student_rows(backend: str) -> list[dict]:
    """Notebook 03's three kinds of run (scratch, kd, the article's loss), a bound teacher."""
    from functools import partial

    from compress_lib import data
    from compress_lib import distillation
    from compress_lib import models

    config_setup_quiet()
    train, test = data.load_mnist(flatten=True, n_train=300, n_test=200)
    teacher = models.mlp((24,), name="teacher")  # untrained: only its logits matter here
    run = partial(distillation.student_run, build=partial(models.mlp, (8,)), data=train,
                  evals={"test": test}, teacher=teacher,
                  teacher_logits=models.predict_logits(teacher, train[0]), logits=True)
    configs = [{"loss": loss, "seed": 1, "epochs": 1, "T": 2.0} for loss in ("ce", "kd", "seed_kd")]
    return sw.sweep(run, configs, backend=backend)


def config_setup_quiet() -> None:
    """config.setup without its printed line (op determinism on)."""
    from compress_lib import config

    config.setup(seed=0, verbose=False)


def test_student_runs_with_a_bound_teacher_are_identical_on_ray(ray_session):
    serial, on_ray = bound_student_rows("serial"), bound_student_rows("ray")
    assert [r["loss"] for r in on_ray] == ["ce", "kd", "seed_kd"]
    for a, b in zip(serial, on_ray, strict=True):
        logits_a, logits_b = a.pop("test_logits"), b.pop("test_logits")
        assert a == b and np.array_equal(logits_a, logits_b)


def die(cfg: dict) -> dict:
    """Kill the worker process that runs it, on every try."""
    os._exit(1)


def test_a_worker_that_dies_on_every_try_fails_the_sweep(ray_session, monkeypatch):
    monkeypatch.setattr(sw, "MAX_RETRIES", 0)  # one death is enough
    with pytest.raises(sw.SweepError, match=r"configuration 0 \{'seed': 5\} failed"):
        sw.sweep(die, [{"seed": 5}], backend="ray")


def deep_compression_rows(backend: str) -> tuple[list[dict], list[dict], tuple]:
    """Notebook 06's two sweeps on a pruned tiny MLP: search_codes and compression_grid rows."""
    from compress_lib import data
    from compress_lib import deep_compression
    from compress_lib import graph
    from compress_lib import models
    from compress_lib import pruning

    config_setup_quiet()
    train, test = data.load_mnist(flatten=True, n_train=300, n_test=200)
    dense = models.mlp((16,))
    models.train(dense, train, epochs=1, progress=False)
    pruned = graph.copy_model(dense)
    pruning.prune(pruned, 0.8)
    pruned = pruning.strip(pruned)
    names = [layer.name for layer in graph.select_layers(pruned)]
    codes = deep_compression.search_codes(pruned, [dict.fromkeys(names, b) for b in (3, 4)],
                                          [4, 6], train, test, epochs=1, progress=False,
                                          backend=backend)
    grid = deep_compression.compression_grid(dense, test, [0.5, 0.9], [2, 4], backend=backend)
    return codes, grid, test


def test_deep_compression_sweeps_are_identical_on_ray(ray_session):
    from compress_lib import coding
    from compress_lib import deep_compression
    from compress_lib import models

    (serial, grid_serial, test), (on_ray, grid_ray, _) = (deep_compression_rows("serial"),
                                                          deep_compression_rows("ray"))
    assert grid_ray == grid_serial
    assert [(r["bits"], r["index_bits"]) for r in on_ray] == \
        [(r["bits"], r["index_bits"]) for r in serial]
    for a, b in zip(serial, on_ray, strict=True):
        plain = {"bits", "index_bits", "error_pct", "compressed_bytes", "ratio"}
        assert {k: a[k] for k in plain} == {k: b[k] for k in plain}
        assert coding.compressed_size(a["codes"]) == coding.compressed_size(b["codes"])
        logits = models.predict_logits(b["shared"], test[0])  # the pickled model still predicts
        assert np.array_equal(logits, models.predict_logits(a["shared"], test[0]))
        rebuilt = deep_compression.decode(lambda: models.mlp((16,)), b["codes"])
        assert np.array_equal(models.predict_logits(rebuilt, test[0]), logits)
    assert on_ray[0]["shared"] is on_ray[1]["shared"]  # one model per codebook width


def pruning_sweep_rows(backend: str) -> tuple[list[dict], ...]:
    """Notebook 04's sweeps on a tiny MLP: sensitivity_scan, allocation_curve, method_run,
    han_run."""
    from functools import partial

    from compress_lib import data
    from compress_lib import models
    from compress_lib import pruning

    config_setup_quiet()
    train, test = data.load_mnist(flatten=True, n_train=300, n_test=200)
    dense = models.add_l2(models.mlp((16,)), 1e-4)
    models.train(dense, train, epochs=1, progress=False)
    scan = pruning.sensitivity_scan(dense, test, [0.5, 0.9], progress=False, backend=backend)
    curve = pruning.allocation_curve(partial(pruning.copy_with_l2, dense, 1e-4), train, test,
                                     [0.8], 1, progress=False, backend=backend)
    configs = [{"method": m, "sparsity": 0.8, "epochs": 1, "seed": 0} for m in pruning.METHODS]
    configs[-1]["levels"] = [0.8]
    run = partial(pruning.method_run, dense=dense, data=train, test_data=test, l2=1e-4,
                  frequency=2)
    han = partial(pruning.han_run, data=train, test_data=test, base_epochs=(1, 0),
                  epochs=(1, 0), l2=1e-4, frequency=2)
    return (scan, curve, sw.sweep(run, configs, backend=backend),
            sw.sweep(han, [{"seed": 1}, {"seed": 2}], backend=backend))


def test_pruning_sweeps_are_identical_on_ray(ray_session):
    serial, on_ray = pruning_sweep_rows("serial"), pruning_sweep_rows("ray")
    assert [len(rows) for rows in serial] == [4, 2, 3, 2]
    assert on_ray == serial
