import json
import os
import subprocess

import pytest

from compress_lib import results

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
