"""Every explorer of every notebook, run and moved in JupyterLab by a real browser.

make test-browser: the notebooks run top to bottom in the quick profile, then each explorer's
main control is dragged (or a new option picked) and the redrawn figure is checked.
"""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from compress_lib.widgets import NOTE

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 900
UPDATE_TIMEOUT_S = 180


def _explorer_count(path: Path) -> int:
    """How many explorers the stored notebook displays (each leaves its note there)."""
    cells = json.loads(path.read_text())["cells"]
    return sum("".join(out.get("data", {}).get("text/plain", "")).startswith(NOTE)
               for c in cells for out in c.get("outputs", []))


NOTEBOOKS = [p.name for p in sorted((ROOT / "notebooks").glob("0*.ipynb")) if _explorer_count(p)]
assert NOTEBOOKS, "no stored notebook shows an explorer's note"

KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && w.context.isReady; }"""
ALL_RUN = """() => { const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const code = w.content.widgets.filter(c => c.model.type === 'code');
  const busy = [...w.node.querySelectorAll('.jp-InputPrompt')]
    .some(p => p.textContent.includes('*'));
  return !!k && k.status === 'idle' && !busy
    && code.every(c => c.model.executionCount !== null); }"""
NOTHING_RUN = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .every(c => c.model.type !== 'code'
              || (c.model.executionCount === null && !c.model.outputs.length))"""
ERRORS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code').flatMap(c => c.model.outputs.toJSON())
  .filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)"""


def figure_pixels(src: str) -> float:
    """Fraction of a data-URI PNG's pixels that differ from its most common colour."""
    png = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    pixels = np.asarray(png).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return float(np.mean(np.any(pixels != colours[counts.argmax()], axis=1)))


def _move(page, control) -> None:
    """Drag a slider's handle a third of its track away from its end, or pick another option."""
    select = control.locator("select")
    if select.count():
        options = select.locator("option").all_inner_texts()
        current = select.input_value()
        select.select_option(next(o for o in options if o != current))
        return
    track = control.locator(".noUi-target").bounding_box()
    handle = control.locator(".noUi-handle").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    step = track["width"] / 3 * (-1 if x > track["x"] + track["width"] / 2 else 1)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + step / 2, y, steps=5)
    page.mouse.move(x + step, y, steps=5)
    page.mouse.up()


def _readout(control) -> str:
    """A control's displayed value."""
    select = control.locator("select")
    if select.count():
        return select.input_value()
    return control.locator(".widget-readout").inner_text()


def _figure(explorer) -> str | None:
    """The data URI of the explorer's figure, or None while it shows none."""
    return explorer.evaluate("e => { const i = e.querySelector('.jp-OutputArea-output img');"
                             " return i ? i.src : null; }")


def _error_boxes(explorer) -> list[str]:
    """The texts of stderr and error outputs inside the explorer."""
    return explorer.locator('[data-mime-type="application/vnd.jupyter.stderr"], '
                            '[data-mime-type*="error"]').all_inner_texts()


def _wait(page, explorer, name: str, done) -> str:
    """Poll until done(figure) holds with the kernel idle; fail with what the widget shows."""
    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    while not (done(src := _figure(explorer)) and page.evaluate(KERNEL_IDLE)):
        assert _error_boxes(explorer) == [], f"{name}: the widget shows an error"
        if time.monotonic() > deadline:
            text = explorer.locator(".jp-OutputArea-output").all_inner_texts()
            pytest.fail(f"{name}: {'no' if src is None else 'the same'} figure after "
                        f"{UPDATE_TIMEOUT_S} s; the widget shows {text}")
        time.sleep(0.25)
    return src


def _check_explorer(page, explorer, shots: Path, name: str) -> None:
    """Move the explorer's main control; the readout and figure change, the figure has ink."""
    control = explorer.locator(".widget-slider, .widget-dropdown, .widget-hslider").first
    explorer.scroll_into_view_if_needed()
    before_src = _wait(page, explorer, name, lambda src: src is not None)
    before_value = _readout(control)
    explorer.screenshot(path=shots / f"{name}_before.png")
    _move(page, control)
    _wait(page, explorer, name, lambda src: src is not None and src != before_src)
    time.sleep(0.5)  # the last redraw replaces the image; let it land
    after_src, after_value = _figure(explorer), _readout(control)
    explorer.screenshot(path=shots / f"{name}_after.png")
    assert after_value != before_value, f"{name}: the readout still says {before_value}"
    assert after_src not in (None, before_src), f"{name}: the figure did not stay redrawn"
    ink = figure_pixels(after_src)
    assert ink > 0.02, f"{name}: the new figure is blank ({ink:.1%} of its pixels drawn)"
    assert _error_boxes(explorer) == [], f"{name}: the widget shows an error"
    assert explorer.locator(".jp-OutputArea-output img").count() == 1, f"{name}: two figures"


def test_lab_delivers_widget_messages_on_the_main_thread(lab):
    settings = lab.api("lab/api/settings/@jupyterlab/apputils-extension:kernels-settings")
    default = settings["schema"]["properties"]["commsOverSubshells"]["default"]
    assert default == "disabled"  # JupyterLab's own default is perCommTarget: the override acts
    assert "commsOverSubshells" not in settings["settings"]  # and no user setting replaces it


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_explorer_redraws_in_jupyterlab(lab, browser, screenshots, notebook):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console = []
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    try:
        page.goto(lab.url(notebook))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=500)
        page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        page.wait_for_function(NOTHING_RUN, timeout=30_000, polling=200)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_RUN, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
        assert page.evaluate(ERRORS) == []
        panel = page.evaluate("window.jupyterapp.shell.currentWidget.id")
        explorers = page.locator(f"[id='{panel}'] .compress-explorer")
        assert explorers.count() == _explorer_count(ROOT / "notebooks" / notebook)
        for i in range(explorers.count()):
            _check_explorer(page, explorers.nth(i), screenshots, f"{notebook[:2]}_explorer{i + 1}")
        page.screenshot(path=screenshots / f"{notebook[:2]}_page.png")
        assert console == []
    finally:
        page.close()
        for kernel in lab.api("api/kernels"):
            lab.api(f"api/kernels/{kernel['id']}", method="DELETE")
