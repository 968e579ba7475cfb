import json
import os
import subprocess

import pytest

from compress_lib import results
from compress_lib import tables

README = "# T\n\nintro\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\ntail\n"


def _record_two(tmp_path):
    results.record("a_table", [{"model": "m", "acc": 0.98123, "bytes": 1066440}],
                   title="A", notebook="notebooks/01_x.ipynb", profile="full", directory=tmp_path)
    results.record("b_table", [{"x": 1, "ok": True}, {"x": 2, "y": None}],
                   profile="full", seeds=[0, 1], directory=tmp_path)


def test_record_writes_rows_and_provenance(tmp_path):
    _record_two(tmp_path)
    doc = json.loads((tmp_path / "a_table.json").read_text())
    assert doc["rows"] == [{"model": "m", "acc": 0.98123, "bytes": 1066440}]
    prov = doc["provenance"]
    assert prov["profile"] == "full" and prov["seeds"] == [0]
    assert {"commit", "utc", "cpu", "cores", "threads", "cache_bytes", "isa",
            "versions"} <= set(prov)
    assert "tensorflow" in prov["versions"] and "numpy" in prov["versions"]
    assert not list(tmp_path.glob(".*tmp"))  # the temp file was renamed away


def test_record_stores_the_sweep_backend_only_for_a_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPRESS_BACKEND", "ray")
    results.record("a_table", [{"acc": 0.5}], directory=tmp_path)  # rows made without sweep
    assert "sweep_backend" not in json.loads((tmp_path / "a_table.json").read_text())[
        "provenance"]
    assert "sweep backend" not in results.markdown(tmp_path / "a_table.json")
    results.record("a_table", [{"acc": 0.5}], directory=tmp_path, backend="ray")
    assert json.loads((tmp_path / "a_table.json").read_text())["provenance"]["sweep_backend"] \
        == "ray"
    results.record("a_table", [{"acc": 0.5}], directory=tmp_path, backend="serial")
    assert json.loads((tmp_path / "a_table.json").read_text())["provenance"]["sweep_backend"] \
        == "serial"
    text = results.markdown(tmp_path / "a_table.json")
    assert "seeds [0], sweep backend `serial`, commit" in text
    with pytest.raises(ValueError, match="backend must be one of"):
        results.record("b_table", [{"acc": 0.5}], directory=tmp_path, backend="dask")
    assert not (tmp_path / "b_table.json").exists()


def test_record_replaces_table_so_profiles_never_mix(tmp_path):
    _record_two(tmp_path)
    results.record("a_table", [{"acc": 0.5}], profile="quick", directory=tmp_path)
    doc = json.loads((tmp_path / "a_table.json").read_text())
    assert doc["provenance"]["profile"] == "quick" and doc["rows"] == [{"acc": 0.5}]


def test_quick_profile_never_writes_into_results(monkeypatch):
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    assert results.results_dir("quick") != results.ROOT / "results"
    assert results.results_dir("full") == results.ROOT / "results"


def test_render_is_deterministic_and_fills_readme(tmp_path):
    _record_two(tmp_path)
    readme = tmp_path / "README.md.top"
    readme.write_text(README)
    first = results.render(tmp_path, readme)
    files1 = ((tmp_path / "README.md").read_bytes(), readme.read_bytes())
    second = results.render(tmp_path, readme)
    files2 = ((tmp_path / "README.md").read_bytes(), readme.read_bytes())
    assert first == second and files1 == files2
    text = readme.read_text()
    assert text.startswith("# T\n\nintro") and text.endswith("<!-- results:end -->\n\ntail\n")
    full = (tmp_path / "README.md").read_text()
    assert "| model | acc | bytes |" in full and "| m | 0.9812 | 1,066,440 |" in full
    assert "| model |" not in text and "results/README.md" in text
    assert text.count("\n- ") == len(results.load(tmp_path))
    assert "| 2 | – | – |" in first  # missing cells and None render as a dash


def test_rendered_tables_link_their_notebook_only_in_results_readme(tmp_path):
    _record_two(tmp_path)
    results.render(tmp_path, tmp_path / "absent.md")
    page = (tmp_path / "README.md").read_text()
    assert "[`notebooks/01_x.ipynb`](../notebooks/01_x.ipynb), profile" in page  # from results/
    shown = results.markdown(tmp_path / "a_table.json")  # inside a notebook: no link
    assert "`notebooks/01_x.ipynb`, profile" in shown and "](" not in shown
    with pytest.raises(TypeError, match="link"):
        results.render_table(results.load(tmp_path)[0], link="yes")


def test_render_requires_markers(tmp_path):
    _record_two(tmp_path)
    readme = tmp_path / "R.md"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        results.render(tmp_path, readme)


@pytest.mark.parametrize("table,rows,err", [
    ("Bad Name", [{"a": 1}], ValueError), ("t", [], ValueError), ("t", [{}], ValueError),
    ("t", [{"a": [1, 2]}], TypeError), ("t", [{"a": float("nan")}], ValueError)])
def test_record_bad_input(tmp_path, table, rows, err):
    with pytest.raises(err):
        results.record(table, rows, directory=tmp_path)


def test_render_checks_the_markers_before_writing_anything(tmp_path):
    _record_two(tmp_path)
    (tmp_path / "README.md").write_text("old tables")
    readme = tmp_path / "R.md"
    readme.write_text("<!-- results:end --> wrong order <!-- results:start -->")
    with pytest.raises(ValueError, match=r"readme .*R\.md must contain the markers"):
        results.render(tmp_path, readme)
    assert (tmp_path / "README.md").read_text() == "old tables"  # all or nothing
    assert not list(tmp_path.glob(".*"))


def test_load_names_the_broken_file(tmp_path):
    _record_two(tmp_path)
    (tmp_path / "c_table.json").write_text('{"rows": [')  # truncated by a full disk
    with pytest.raises(ValueError, match=r"c_table\.json: not a valid results table"):
        results.load(tmp_path)
    (tmp_path / "c_table.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"c_table\.json: not a results table"):
        results.load(tmp_path)
    with pytest.raises(ValueError, match=r"c_table\.json"):
        results.markdown(tmp_path / "c_table.json")


def test_record_writes_normal_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        path = results.record("a_table", [{"a": 1}], directory=tmp_path)
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # 0666 less the umask, not 0600


def test_failed_write_leaves_old_table_and_no_temp_file(tmp_path, monkeypatch):
    _record_two(tmp_path)
    before = (tmp_path / "a_table.json").read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        results.record("a_table", [{"a": 2}], directory=tmp_path)
    assert (tmp_path / "a_table.json").read_bytes() == before
    assert not list(tmp_path.glob(".*"))


def test_write_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    assert results.write_atomic(path, "new\n") == path and path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def _lscpu() -> dict[str, str]:
    """lscpu's key: value lines (an independent reader of the same facts), {} if absent."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_machine_facts_agree_with_lscpu():
    facts, listed = results.machine(), _lscpu()
    if not listed:
        pytest.skip("lscpu is not installed")
    assert facts["cpu"] == listed["Model name"]
    assert facts["cores"] == int(listed["CPU(s)"]) and 1 <= facts["threads"] <= facts["cores"]
    assert set(facts["isa"]) == set(results.ISA_FLAGS) & set(listed.get("Flags", "").split())
    l3 = listed.get("L3 cache", "").split()  # e.g. "32 MiB (1 instance)"
    if l3 and "L3" in facts["cache_bytes"]:
        scale = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[l3[1]]
        instances = int(l3[2].lstrip("(")) if len(l3) > 2 else 1
        assert facts["cache_bytes"]["L3"] * instances == float(l3[0]) * scale


@pytest.mark.parametrize(("text", "expected"), [("48K", 49152), ("1024K", 1 << 20),
                                                 ("2M", 2 << 20), ("512", 512)])
def test_cache_size_strings(text, expected):
    assert results._size_bytes(text) == expected


def test_describe_machine_names_caches_isa_and_versions():
    facts = {"cpu": "X", "cores": 4, "threads": 2, "isa": ["avx2"],
             "cache_bytes": {"L1d": 49152, "L2": 1 << 20},
             "versions": {"tensorflow": "2.21.0", "keras": "3.15.1", "ai-edge-litert": "2.3.0"}}
    line = results.describe_machine(facts)
    assert line == ("X, 4 cores (2 usable), caches (CPU 0) L1d 48 KiB / L2 1 MiB, ISA avx2, "
                    "TF 2.21.0, Keras 3.15.1, LiteRT 2.3.0")


# ------------------------------------------------------------ model points and Pareto front

def _record_models(directory):
    """Hand-made tables shaped like those of notebooks 01, 02, 03, 05 and 06."""
    def rec(table, rows):
        results.record(table, rows, profile="full", directory=directory)
    rec("01_baseline", [{"model": "mlp", "params": 1000, "test_accuracy": 0.97}])
    rec("02_ptq", [{"model": "mlp", "mode": "int8", "bytes": 1200, "litert_accuracy": 0.96,
                    "b1_median_ms": 0.002}])
    rec("03_claims", [{"criterion": "c", "value": 1.0, "holds": True}])  # no model points
    rec("05_mnist_cnn", [{"model": "sep", "float32_acc": 0.99, "float32_kb": 135.1,
                          "float32_ms": 0.016, "int8_acc": 0.98, "int8_kb": 58.8,
                          "int8_ms": 0.01}])
    article = {"article_model": "initial", "article_accuracy": 0.9, "article_params": 128000,
               "article_ms": 100.0}
    none = dict.fromkeys(article)
    rec("06_case_study", [
        {"model": "base", "accuracy": 0.978, "params": 100, "nonzero": 100, "tflite_bytes": 4000,
         "tflite_gzip_bytes": 3000, "latency_us": 3.5, "latency_ratio": 1.0, **article},
        {"model": "small", "accuracy": 0.95, "params": 10, "nonzero": 10, "tflite_bytes": 900,
         "tflite_gzip_bytes": 800, "latency_us": 0.5, "latency_ratio": 0.14, **none},
        {"model": "base2", "accuracy": 0.977, "params": 100, "nonzero": 100, "tflite_bytes": 4000,
         "tflite_gzip_bytes": 3000, "latency_us": 3.5, "latency_ratio": 1.0, **article}])
    rec("06_deep_compression", [
        {"network": "LeNet-5", "source": source, "error_pct": error, "original_bytes": 1720000,
         "compressed_bytes": size, "ratio": 1720000 / size}
        for source, error, size in (("measured", 0.8, 43000), ("paper", 0.74, 44000))])


def _point(table, model, accuracy, size, latency, source="measured"):
    return {"notebook": table[:2], "table": table, "model": model, "accuracy": accuracy,
            "bytes": size, "latency_ms": latency, "source": source}


def test_model_points_reads_every_table_with_models(tmp_path):
    _record_models(tmp_path)
    points = results.model_points(tmp_path)
    assert points == [
        _point("01_baseline", "mlp (float32, 4 B/param)", 0.97, 4000, None),
        _point("02_ptq", "mlp int8", 0.96, 1200, 0.002),
        _point("05_mnist_cnn", "sep CNN float32", 0.99, 135100, 0.016),
        _point("05_mnist_cnn", "sep CNN int8", 0.98, 58800, 0.01),
        _point("06_case_study", "base", 0.978, 4000, pytest.approx(0.0035)),
        _point("06_case_study", "small", 0.95, 900, pytest.approx(0.0005)),
        _point("06_case_study", "base2", 0.977, 4000, pytest.approx(0.0035)),
        _point("06_case_study", "article: initial model", 0.9, None, 100.0, "article"),
        _point("06_deep_compression", "LeNet-5 Deep Compression (measured)",
               pytest.approx(0.992), 43000, None),
        _point("06_deep_compression", "LeNet-5 Deep Compression (paper)",
               pytest.approx(0.9926), 44000, None, "paper")]
    (tmp_path / "06_case_study.json").unlink()  # a missing table gives no points
    assert {p["table"] for p in results.model_points(tmp_path)} == {
        "01_baseline", "02_ptq", "05_mnist_cnn", "06_deep_compression"}


def test_model_points_refuses_tables_it_cannot_read(tmp_path):
    results.record("02_ptq", [{"model": "m", "mode": "int8", "bytes": 10,
                               "litert_accuracy": 97.5, "b1_median_ms": 0.1}],
                   profile="full", directory=tmp_path)
    with pytest.raises(ValueError, match=r"02_ptq row 0's accuracy must be .* \[0, 1\]"):
        results.model_points(tmp_path)
    results.record("02_ptq", [{"model": "m", "mode": "int8", "size": 10,
                               "litert_accuracy": 0.975, "b1_median_ms": 0.1}],
                   profile="full", directory=tmp_path)
    with pytest.raises(ValueError, match="02_ptq row 0 has no column 'bytes'"):
        results.model_points(tmp_path)
    with pytest.raises(ValueError, match="directory"):
        results.model_points(tmp_path / "missing")


def test_model_points_of_the_recorded_results_are_valid():
    """The tables in results/ follow the columns model_points reads (a schema change fails)."""
    points = results.model_points(results.ROOT / "results")
    tables.pareto_front(points)  # raises on a malformed point
    recorded = {doc["table"] for doc in results.load()}
    assert {p["table"] for p in points} == recorded & set(results._POINTS)  # each gives points


def test_model_points_in_a_staging_folder_see_the_recorded_tables(tmp_path):
    """Inside a `make results` run (a .staging-* folder), the tables beside it count too."""
    doc = {"table": "01_baseline", "title": "", "notebook": "", "provenance": {},
           "rows": [{"model": "mlp", "params": 10, "test_accuracy": 0.9}]}
    (tmp_path / "01_baseline.json").write_text(json.dumps(doc))
    staging = tmp_path / f"{results.STAGING_PREFIX}x"
    staging.mkdir()
    (staging / "01_baseline.json").write_text(json.dumps(
        {**doc, "rows": [{"model": "mlp", "params": 10, "test_accuracy": 0.95}]}))
    assert [p["accuracy"] for p in results.model_points(staging)] == [0.95]  # staged wins
    (staging / "01_baseline.json").unlink()
    assert [p["accuracy"] for p in results.model_points(staging)] == [0.9]
