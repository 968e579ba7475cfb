"""The results pipeline loses nothing: atomic notebooks, staged tables, one run at a time.

Every test runs tiny throwaway notebooks in tmp folders, with $COMPRESS_RESULTS_DIR pointing
at a tmp results folder, so the real notebooks/ and results/ are never touched.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from compress_lib import results

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))
import run_notebooks  # noqa: E402

PARAMS = 'import os\nPROFILE = os.environ.get("COMPRESS_PROFILE", "full")'
RECORD = "from compress_lib import results\nresults.record('zz_new', [{'a': 1}], notebook='t')"
README = "# T\n\n<!-- results:start -->\nold\n<!-- results:end -->\n"


def _notebook(path: Path, *bodies: str) -> bytes:
    """Write a notebook (title, parameters cell, one code cell per body); return its bytes."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params,
                *[nbformat.v4.new_code_cell(b) for b in bodies]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path.read_bytes()


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder (hidden ones included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _leftovers(*folders: Path) -> list[Path]:
    """Temp files and staging folders the pipeline may create."""
    return [p for f in folders for pattern in (".*.tmp", ".staging-*", ".lock", "*/.*.tmp")
            for p in f.glob(pattern)]


@pytest.fixture
def workbook(tmp_path, monkeypatch):
    """A tmp workbook: notebooks/, results/ (one old table, a README) and the env set."""
    folder, res = tmp_path / "notebooks", tmp_path / "results"
    folder.mkdir()
    results.record("zz_old", [{"acc": 0.5}], profile="full", directory=res)
    results.record("zz_new", [{"a": 0}], profile="full", directory=res)
    (tmp_path / "README.md").write_text(README)
    results.render(res, tmp_path / "README.md")
    monkeypatch.setattr(run_notebooks, "NOTEBOOKS", folder)
    monkeypatch.setattr(run_notebooks, "ROOT", tmp_path)
    monkeypatch.setenv(results.RESULTS_ENV, str(res))
    return tmp_path


def _script(tmp_path: Path, body: str) -> Path:
    """A python script that runs the runner on the tmp workbook after `body` (patches)."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""\
        import os, signal, sys
        sys.path.insert(0, {str(TOOLS)!r})
        from pathlib import Path
        import run_notebooks
        run_notebooks.ROOT = Path({str(tmp_path)!r})
        run_notebooks.NOTEBOOKS = run_notebooks.ROOT / "notebooks"
        """) + textwrap.dedent(body) + "\nsys.exit(run_notebooks.main(['--profile', 'full']))\n")
    return script


def test_successful_run_commits_tables_and_notebook_together(workbook):
    path, res = workbook / "notebooks" / "96_ok.ipynb", workbook / "results"
    _notebook(path, RECORD, "print('ok')")
    assert run_notebooks.main(["--profile", "full"]) == 0
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[3].outputs[0]["text"] == "ok\n"
    assert [d["rows"] for d in results.load(res)] == [[{"a": 1}], [{"acc": 0.5}]]
    assert oct((res / "zz_new.json").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert not _leftovers(res, path.parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_failed_full_run_after_recording_leaves_results_identical(workbook, capsys):
    path, res = workbook / "notebooks" / "95_fails.ipynb", workbook / "results"
    before_nb = _notebook(path, RECORD, "raise RuntimeError('after the table')")
    before = _snapshot(res)
    assert run_notebooks.main(["--profile", "full"]) == 1
    assert "cell [3]: RuntimeError: after the table" in capsys.readouterr().err
    assert _snapshot(res) == before  # byte-identical, no staging folder, no lock left
    assert path.read_bytes() == before_nb


def test_write_failure_keeps_old_notebook_and_tables(workbook, monkeypatch, capsys):
    path, res = workbook / "notebooks" / "94_disk_full.ipynb", workbook / "results"
    before_nb = _notebook(path, RECORD)
    before = _snapshot(res)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # the runner's process only, not the kernel's
    assert run_notebooks.main(["--profile", "full"]) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("FAILED: notebooks/94_disk_full.ipynb: while writing the notebook")
    assert "No space left" in err and "cell" not in err
    assert path.read_bytes() == before_nb and _snapshot(res) == before
    assert not _leftovers(res, path.parent)


def test_sigkill_at_the_notebook_replace_keeps_old_notebook(workbook):
    path, res = workbook / "notebooks" / "93_killed.ipynb", workbook / "results"
    before_nb = _notebook(path, "print('new output')")
    script = _script(workbook, """\
        real_replace = os.replace
        def replace(src, dst):
            if str(dst).endswith('.ipynb'):
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)
        os.replace = replace
        """)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert path.read_bytes() == before_nb  # intact, and still a readable notebook
    nbformat.read(path, as_version=4)
    assert _leftovers(path.parent)  # a SIGKILL cannot clean up: the next run does
    _notebook(path, "print('second run')")
    assert run_notebooks.main(["--profile", "full"]) == 0
    assert "second run" in path.read_text()
    assert not _leftovers(res, path.parent)


def test_sigterm_cleans_up_everything(workbook):
    path, res = workbook / "notebooks" / "92_slow.ipynb", workbook / "results"
    before_nb = _notebook(path, RECORD + "\nimport time\ntime.sleep(60)")
    before = _snapshot(res)
    tmpdir = workbook / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}  # where the kernel's connection file goes
    proc = subprocess.Popen([sys.executable, str(_script(workbook, ""))], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(res.glob(".staging-*/zz_new.json")) and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until the table is staged and the cell sleeps
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert _snapshot(res) == before and path.read_bytes() == before_nb
    assert not list(tmpdir.iterdir()), "kernel connection file or temp folder left behind"


def test_second_concurrent_run_refuses_with_the_pid(workbook):
    res = workbook / "results"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""\
        import sys, time
        sys.path.insert(0, {str(TOOLS)!r})
        from pathlib import Path
        import run_notebooks
        with run_notebooks.run_lock(Path({str(res)!r}) / run_notebooks.LOCK_FILE):
            print('locked', flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        _notebook(workbook / "notebooks" / "91_any.ipynb", "print(1)")
        with pytest.raises(SystemExit, match=rf"another run is in progress \(pid {holder.pid}\)"):
            run_notebooks.main(["--profile", "full"])
    finally:
        holder.kill()
        holder.wait()
    assert run_notebooks.main(["--profile", "full"]) == 0  # a killed holder frees the lock


RENDERER = """\
import sys
from compress_lib import results
d = sys.argv[1]
for i in range(int(sys.argv[2])):
    results.record("zz_new", [{"a": i, "w": sys.argv[3]}], profile="full", directory=d)
    results.render(d, sys.argv[4])
"""


def test_concurrent_renders_never_leave_a_partial_readme(workbook):
    res, top = workbook / "results", workbook / "README.md"
    procs = [subprocess.Popen([sys.executable, "-c", RENDERER, str(res), "25", str(w), str(top)],
                              stderr=subprocess.PIPE, text=True) for w in range(4)]
    seen = 0
    while any(p.poll() is None for p in procs):
        text, summary = (res / "README.md").read_text(), top.read_text()
        assert text.startswith("# Results") and text.endswith(" |\n"), text
        assert summary.startswith("# T") and summary.endswith("<!-- results:end -->\n")
        seen += 1
    errors = [p.stderr.read() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    assert seen and not _leftovers(res, workbook)
    assert results.render(res, top) == results.render_all(results.load(res))


def test_sigterm_during_the_commit_waits_for_its_end():
    done, before = [], signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_info, run_notebooks.signals_exit():
        with run_notebooks.uninterrupted():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            done.append("renames finished")
    assert done == ["renames finished"] and exit_info.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before  # handler restored
