"""The papermill runner honours the parameters cell and stores clean notebooks."""

import sys
from pathlib import Path

import nbformat
import pytest

from compress_lib import results

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import run_notebooks  # noqa: E402

NOTEBOOKS = sorted((run_notebooks.NOTEBOOKS).glob("[0-9][0-9]_*.ipynb"))
PARAM_LINE = 'PROFILE = os.environ.get("COMPRESS_PROFILE", "full")'


@pytest.fixture(autouse=True)
def _tmp_results(tmp_path, monkeypatch):
    """Runs in these tests record (and lock) in a tmp results folder, never in results/."""
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "results"))


def _tiny_notebook(path: Path, fail: bool = False, body: str | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"import os\n{PARAM_LINE}\nEPOCHS = None")
    params.metadata["tags"] = ["parameters"]
    body = body or "print(PROFILE, os.environ['COMPRESS_PROFILE'])"
    body = "raise RuntimeError('boom')" if fail else body
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_parameters_cell_is_honoured_and_metadata_cleaned(tmp_path):
    src, out = tmp_path / "99_tiny.ipynb", tmp_path / "out.ipynb"
    _tiny_notebook(src)
    run_notebooks.execute(src, "quick", output=out, results_folder=tmp_path / "results")
    nb = nbformat.read(out, as_version=4)
    assert len(nb["cells"]) == 3  # papermill's injected cell was removed again
    assert nb["cells"][2]["outputs"][0]["text"] == "quick quick\n"
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    assert [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"] == [1, 2]
    assert all("papermill" not in c["metadata"] for c in nb["cells"])


def test_failure_names_notebook_and_cell(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _tiny_notebook(folder / "98_fails.ipynb", fail=True)
    before = (folder / "98_fails.ipynb").read_text()
    monkeypatch.setattr(run_notebooks, "NOTEBOOKS", folder)
    monkeypatch.setattr(run_notebooks, "ROOT", tmp_path)
    assert run_notebooks.main(["--profile", "full"]) == 1
    err = capsys.readouterr().err
    assert "notebooks/98_fails.ipynb" in err and "RuntimeError" in err and "boom" in err
    # the number the stored notebook shows (papermill's injected cell executed as [2])
    assert "at cell [2]: RuntimeError: boom" in err
    assert (folder / "98_fails.ipynb").read_text() == before  # nothing overwritten


def test_a_dead_kernel_is_not_reported_as_a_cell(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _tiny_notebook(folder / "97_dies.ipynb", body="os._exit(1)")
    monkeypatch.setattr(run_notebooks, "NOTEBOOKS", folder)
    monkeypatch.setattr(run_notebooks, "ROOT", tmp_path)
    assert run_notebooks.main(["--profile", "full"]) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("FAILED: notebooks/97_dies.ipynb: kernel died"), err


@pytest.mark.parametrize("cell_index,shown", [(1, 1), (2, 0), (3, 2), (4, 3), (None, None)])
def test_stored_cell_number_skips_the_injected_cell(tmp_path, cell_index, shown):
    path = tmp_path / "n.ipynb"
    _tiny_notebook(path)  # markdown, parameters [1], body [2]; papermill injects at index 2
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("pass"))  # [3]
    nbformat.write(nb, path)
    assert run_notebooks.stored_cell_number(path, cell_index) == shown  # 0: the injected one


def test_unknown_selector_exits():
    with pytest.raises(SystemExit, match="no notebook"):
        run_notebooks.find_notebooks("77")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_follows_the_template(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and PARAM_LINE in tagged[0].source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    sources = "\n".join(c.source for c in nb.cells)
    first = next(c.source for c in nb.cells if c.cell_type == "code" and "import" in c.source)
    assert "config.setup(" in first, "the first import cell must call config.setup()"
    setup_at = first.index("config.setup(")
    assert all(first.find(lib) in (-1,) or first.find(lib) > setup_at
               for lib in ("import keras", "import tensorflow")), \
        "config.setup() must run before keras/tensorflow are imported"
    assert sources.count("### BEGIN SOLUTION") >= 3
    assert sources.count("### BEGIN SOLUTION") == sources.count("### END SOLUTION")
    assert "results.record(" in sources
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "stored notebook must be fully executed"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_parses_every_parameter(path):
    from papermill.translators import PythonTranslator

    cell = next(c for c in nbformat.read(path, as_version=4).cells
                if "parameters" in c.metadata.get("tags", []))
    assigned = [line.split("=")[0].strip() for line in cell.source.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert [p.name for p in PythonTranslator.inspect(cell)] == assigned


def test_cpp_log_lines_are_stripped_but_real_stderr_kept():
    logs = ("E0000 00:00:1795868740.200448   11081 node_def_util.cc:682] NodeDef mentions x\n"
            "WARNING: All log messages before absl::InitializeLog() is called are written to "
            "STDERR\nI0000 00:00:1795868627.054531   10189 cudart_stub.cc:31] Could not find\n")
    outputs = [{"output_type": "stream", "name": "stderr", "text": logs},
               {"output_type": "stream", "name": "stderr", "text": logs + "UserWarning: real\n"},
               {"output_type": "stream", "name": "stdout", "text": logs}]
    kept = run_notebooks.strip_cpp_logs(outputs)
    assert [o["text"] for o in kept] == ["UserWarning: real\n", logs]


def test_progress_bar_redraws_are_merged_into_their_final_state():
    bars = [{"output_type": "stream", "name": "stderr", "text": "epochs:   0%|   | 0/2\r"},
            {"output_type": "stream", "name": "stderr", "text": "epochs:  50%|#  | 1/2\r"},
            {"output_type": "stream", "name": "stderr", "text": "epochs: 100%|## | 2/2\n"},
            {"output_type": "stream", "name": "stdout", "text": "acc 0.98\n"},
            {"output_type": "stream", "name": "stdout", "text": "a\rb\r\nc\n"}]
    merged = run_notebooks.coalesce_streams(bars)
    assert [(o["name"], o["text"]) for o in merged] == [
        ("stderr", "epochs: 100%|## | 2/2\n"), ("stdout", "acc 0.98\nb\r\nc\n")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebooks_show_each_progress_bar_once(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        streams = [o for o in cell.get("outputs", []) if o.output_type == "stream"]
        assert not [o for o in streams if run_notebooks.CARRIAGE_RETURN.search(o.text)], index
        kinds = [(o.output_type, o.get("name")) for o in cell.get("outputs", [])]
        repeats = [a for a, b in zip(kinds, kinds[1:], strict=False) if a == b and a[0] == "stream"]
        assert not repeats, (index, repeats)


def test_stored_widget_outputs_keep_only_their_note():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    outputs = [{"output_type": "display_data", "metadata": {},
                "data": {run_notebooks.WIDGET_VIEW: view, "text/plain": "Interactive explorer"}},
               {"output_type": "display_data", "metadata": {},
                "data": {run_notebooks.WIDGET_VIEW: view}},
               {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR"}}]
    kept = run_notebooks.drop_widget_views(outputs)
    assert [o["data"] for o in kept] == [{"text/plain": "Interactive explorer"},
                                         {"image/png": "iVBOR"}]
