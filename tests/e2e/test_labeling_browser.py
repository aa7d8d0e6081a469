"""Real-browser end-to-end test of the labeling widget (JupyterLab, Notebook 7 and Voila; Debian chromium).

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_labeling_browser.py -s``. It serves a
generated notebook on 127.0.0.1, places a point by a mouse click and moves one by a mouse drag,
then reads the SQLite label store and checks the coordinates (within 0.5 px). Screenshots and
latencies (``latency_<frontend>.json``) go to ``$POSELAB_TEST_ARTIFACTS`` (or tmp_path).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from browser import notebook_page

pytestmark = pytest.mark.e2e

PARTS = ["snout", "left_ear", "right_ear"]
W_, H_ = 640, 480

NOTEBOOK_CODE = """
import os, time
import ipywidgets as W
from IPython.display import display
from poselab.project import Project
from poselab.widgets import label
project = Project.open(os.environ["POSELAB_E2E_PROJECT"])
widget = label(project, display_width=640)
saved = W.HTML("0")
saved.add_class("poselab-e2e-saved")
def _ack(*_):  # runs after the widget's own drag_end callback has saved the point
    saved.value = str(int(saved.value) + 1)
widget.scatter.on_drag_end(_ack)
display(widget, saved)
"""


@pytest.fixture
def e2e_project(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from poselab.project import Project
    from poselab.project.labels import ImageRecord

    proj = Project.create(tmp_path / "proj", PARTS)
    (proj.root / "frames/v").mkdir(parents=True)
    yy, xx = np.mgrid[0:H_, 0:W_]
    records = []
    for i in range(4):
        img = np.full((H_, W_, 3), 90, np.uint8)
        img[((xx // 40 + yy // 40) % 2).astype(bool)] = 140
        cv2.circle(img, (100 + 80 * i, 200), 30, (0, 0, 255), -1)
        cv2.putText(img, f"frame {i}", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        rel = f"frames/v/img{i:03d}.png"
        cv2.imwrite(str(proj.root / rel), img)
        records.append(ImageRecord(rel, "v.mp4", i, W_, H_))
    proj.labels.add_images(records)
    proj.close()
    return proj.root


def _stored(root: Path, image: str) -> dict:
    from poselab.project.labels import LabelStore

    with LabelStore(root / "labels.sqlite", PARTS) as store:
        return {p: v for (_, p), v in store.points(image).items()}


LAT_JS = """(name) => {
  window.__lat = {};
  const fig = document.querySelector('.poselab-labeling-figure');
  const href = () => { const im = fig.querySelector('image');
    return im && (im.getAttribute('href') || im.getAttribute('xlink:href')); };
  const href0 = href();
  const btn = [...document.querySelectorAll('.poselab-labeling button')].find(b => b.textContent.trim() === name);
  btn.addEventListener('mousedown', () => { window.__lat.t0 = performance.now(); }, {once: true});
  const obs = new MutationObserver(() => {
    const h = href();
    if (h && h !== href0 && window.__lat.t0 !== undefined && window.__lat.href === undefined) {
      window.__lat.href = performance.now() - window.__lat.t0;
      obs.disconnect();
      fig.querySelector('image').addEventListener('load', () => {
        window.__lat.load = performance.now() - window.__lat.t0; }, {once: true});
    }
  });
  obs.observe(fig, {attributes: true, childList: true, subtree: true});
}"""

DRAG_JS = """() => {
  const el = document.querySelector('.poselab-e2e-saved');
  window.__drag = {n0: el.textContent.trim()};
  const obs = new MutationObserver(() => {
    if (el.textContent.trim() !== window.__drag.n0 && window.__drag.saved === undefined) {
      window.__drag.saved = performance.now() - window.__drag.up; obs.disconnect(); }
  });
  obs.observe(el, {childList: true, subtree: true, characterData: true});
  const up = () => { if (window.__drag.up === undefined) window.__drag.up = performance.now(); };
  window.addEventListener('pointerup', up, {capture: true});
  window.addEventListener('mouseup', up, {capture: true});
}"""


@pytest.mark.parametrize("frontend", ["voila", "lab", "notebook7"])
def test_label_in_browser(frontend, tmp_path, e2e_project, artifacts):
    work = tmp_path / f"serve-{frontend}"
    with notebook_page(frontend, work, e2e_project, NOTEBOOK_CODE, height=1200) as page:
        page.wait_for_selector(".poselab-labeling-figure svg image", timeout=90000)
        page.wait_for_timeout(500)
        image = page.locator(".poselab-labeling-figure svg image").first
        box = image.bounding_box()
        page.screenshot(path=str(artifacts / f"{frontend}-opened.png"))
        # undistorted: the drawn image has the frame's aspect ratio
        assert box["width"] / box["height"] == pytest.approx(W_ / H_, rel=2e-3)
        sx, sy = box["width"] / W_, box["height"] / H_

        def to_screen(x, y):  # the image spans [-0.5, size - 0.5] in pixel coordinates
            return box["x"] + (x + 0.5) * sx, box["y"] + (y + 0.5) * sy

        # click places snout, then left_ear (auto-advance). The browser delivers whole CSS
        # pixel mouse positions, so the expected value comes from the event's clientX/Y.
        page.evaluate("() => { window.__clicks = []; window.addEventListener('click', e =>"
                      " window.__clicks.push([e.clientX, e.clientY]), {capture: true}); }")
        page.mouse.click(*to_screen(200.0, 150.0))
        page.mouse.click(*to_screen(420.0, 300.0))
        deadline = time.time() + 10
        while len(_stored(e2e_project, "frames/v/img000.png")) < 2 and time.time() < deadline:
            time.sleep(0.1)
        pts = _stored(e2e_project, "frames/v/img000.png")
        clicks = page.evaluate("() => window.__clicks")
        for part, (cx, cy), aim in zip(["snout", "left_ear"], clicks, [(200, 150), (420, 300)]):
            expected = ((cx - box["x"]) / sx - 0.5, (cy - box["y"]) / sy - 0.5)
            assert pts[part][0] == pytest.approx(expected[0], abs=0.5)
            assert pts[part][1] == pytest.approx(expected[1], abs=0.5)
            assert np.hypot(pts[part][0] - aim[0], pts[part][1] - aim[1]) < 1.5  # whole-pixel mouse

        # drag left_ear by (+80, +40) screen px
        page.wait_for_selector(".poselab-labeling-figure path.dot >> nth=1", timeout=10000)
        start = pts["left_ear"]
        x0, y0 = to_screen(start[0], start[1])
        page.evaluate(DRAG_JS)
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(x0 + 8 * k, y0 + 4 * k)
        page.mouse.up()
        page.wait_for_function("() => window.__drag.saved !== undefined", timeout=10000)
        drag_ms = page.evaluate("() => window.__drag.saved")
        moved = _stored(e2e_project, "frames/v/img000.png")["left_ear"]
        assert moved[0] == pytest.approx(start[0] + 80 / sx, abs=0.5)
        assert moved[1] == pytest.approx(start[1] + 40 / sy, abs=0.5)
        assert _stored(e2e_project, "frames/v/img000.png")["snout"] == pts["snout"]
        page.screenshot(path=str(artifacts / f"{frontend}-after-click-drag.png"))

        # frame switches: mousedown on next/previous -> new <image> href -> image load;
        # 0 1 2 3 2 1 2 3 2 (ends on frame index 2)
        switches = []
        for name in ["next", "next", "next", "previous", "previous", "next", "next", "previous"]:
            page.evaluate(LAT_JS, name)
            page.locator(f".poselab-labeling button:has-text('{name}')").first.click()
            page.wait_for_function("() => window.__lat.load !== undefined", timeout=10000)
            switches.append(page.evaluate("() => window.__lat"))
            page.wait_for_timeout(150)
        page.screenshot(path=str(artifacts / f"{frontend}-after-next.png"))
        # keys while hovering: 'p' goes back one frame
        page.mouse.move(*to_screen(320, 240))
        page.keyboard.press("n")
        page.wait_for_function("() => document.querySelector('.poselab-labeling').innerText"
                               ".includes('frame 4/4')", timeout=10000)
        page.keyboard.press("p")
        page.wait_for_function("() => document.querySelector('.poselab-labeling').innerText"
                               ".includes('frame 3/4')", timeout=10000)
        page.wait_for_timeout(300)
        page.mouse.click(*to_screen(50.0, 60.0))
        deadline = time.time() + 10
        while not _stored(e2e_project, "frames/v/img002.png") and time.time() < deadline:
            time.sleep(0.1)
        cx, cy = page.evaluate("() => window.__clicks[window.__clicks.length - 1]")
        assert _stored(e2e_project, "frames/v/img002.png")["snout"][:2] == pytest.approx(
            ((cx - box["x"]) / sx - 0.5, (cy - box["y"]) / sy - 0.5), abs=0.5)
    loads = [s["load"] for s in switches]
    result = {"frontend": frontend, "frame": f"{W_}x{H_} JPEG q85",
              "frame_switch_href_ms": [s["href"] for s in switches], "frame_switch_load_ms": loads,
              "frame_switch_load_median_ms": float(np.median(loads)),
              "frame_switch_load_median_after_first_ms": float(np.median(loads[1:])),
              "drag_to_saved_ms": drag_ms}
    (artifacts / f"latency_{frontend}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
