"""Real-browser end-to-end test of the live widget (Voila and JupyterLab, Debian chromium).

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_live_browser.py -s``. A notebook opens the
live widget on a synthetic video; the test drags a rectangle over the frame with the mouse (the
trigger region), presses Start, and waits for the video to play through: the region the kernel
received matches the rectangle dragged (within 2 px), the trigger fired, the readout reports every
frame processed, and the frame shown changed. Screenshots go to ``$POSELAB_TEST_ARTIFACTS``.
"""

from __future__ import annotations

import json

import pytest
from browser import notebook_page

pytestmark = pytest.mark.e2e

W_, H_ = 320, 240
N_FRAMES = 45

NOTEBOOK_CODE = """
import json, os
import ipywidgets as W
from IPython.display import display
import poselab
widget = poselab.widgets.live_widget(os.environ["POSELAB_E2E_MODEL"], os.environ["POSELAB_E2E_VIDEO"],
                                     refresh_s=0.05, drop_frames=False, display_width=640)
widget.trigger.min_likelihood = 0.0  # an untrained model: any position counts
region = W.HTML("")
region.add_class("poselab-e2e-region")
entered = W.HTML("0")
entered.add_class("poselab-e2e-entered")
def _show_region(change):  # runs after the widget's own handler has set the trigger's region
    if not change["new"] and widget.trigger.region is not None:
        region.value = json.dumps(widget.trigger.region.vertices.tolist())
widget.brush.observe(_show_region, names=["brushing"])
widget.trigger.on_enter = lambda pose: setattr(entered, "value", str(int(entered.value) + 1))
display(widget, region, entered)
"""


@pytest.fixture
def live_files(tmp_path):
    import torch

    from poselab.datasets.synthetic import synthetic
    from poselab.model import create_model

    world = synthetic(tmp_path / "m.mp4", n_frames=N_FRAMES, size=(W_, H_), seed=5)
    torch.manual_seed(0)
    model = create_model("tf_efficientnet_lite0", ["snout", "tail_base"], pretrained=False, head_channels=32,
                         input_size=64)
    return world.video, model.save(tmp_path / "model.safetensors")


@pytest.mark.parametrize("frontend", ["voila", "lab"])
def test_live_region_drawn_and_session_run_in_browser(frontend, tmp_path, live_files, artifacts):
    video, model = live_files
    work = tmp_path / f"serve-{frontend}"
    env = {"POSELAB_E2E_MODEL": str(model), "POSELAB_E2E_VIDEO": str(video)}
    with notebook_page(frontend, work, tmp_path, NOTEBOOK_CODE, height=1200, extra_env=env) as page:
        page.wait_for_selector(".poselab-live-frame svg image", timeout=90000)
        page.wait_for_timeout(1000)
        first_href = page.evaluate("() => { const im = document.querySelector('.poselab-live-frame svg image');"
                                   " return im.getAttribute('href') || im.getAttribute('xlink:href'); }")
        image = page.locator(".poselab-live-frame svg image").first
        box = image.bounding_box()
        sx, sy = box["width"] / W_, box["height"] / H_
        # drag from image pixel (20, 30) to (300, 200): the whole arena but its margins
        x0, y0 = box["x"] + (20 + 0.5) * sx, box["y"] + (30 + 0.5) * sy
        x1, y1 = box["x"] + (300 + 0.5) * sx, box["y"] + (200 + 0.5) * sy
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector('.poselab-e2e-region').textContent.trim() !== ''",
                               timeout=15000)
        vertices = json.loads(page.locator(".poselab-e2e-region").first.text_content())
        xs, ys = [v[0] for v in vertices], [v[1] for v in vertices]
        assert min(xs) == pytest.approx(20, abs=2) and max(xs) == pytest.approx(300, abs=2)
        assert min(ys) == pytest.approx(30, abs=2) and max(ys) == pytest.approx(200, abs=2)
        page.screenshot(path=str(artifacts / f"live-{frontend}-region.png"))
        page.locator(".poselab-live button:has-text('Start')").first.click()
        page.wait_for_function("() => document.querySelector('.poselab-live-readout').textContent"
                               f".includes('0 of {N_FRAMES} frames dropped')"
                               " && document.querySelector('.poselab-live-readout').textContent.includes('stopped')",
                               timeout=90000)
        readout = page.locator(".poselab-live-readout").first.text_content()
        assert "frames/s" in readout and "latency" in readout and " region (" in readout
        assert int(page.locator(".poselab-e2e-entered").first.text_content()) >= 1
        last_href = page.evaluate("() => { const im = document.querySelector('.poselab-live-frame svg image');"
                                  " return im.getAttribute('href') || im.getAttribute('xlink:href'); }")
        assert last_href != first_href  # the view showed the video's frames
        page.screenshot(path=str(artifacts / f"live-{frontend}-after-run.png"))
