"""Real-browser end-to-end test of the review widget (Voila and JupyterLab, Debian chromium).

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_review_browser.py -s``. A notebook opens
the review widget on predictions of a synthetic video that hold one wrong snout; the test jumps
to the outlier with the button, drags the wrong point with the mouse, presses "send corrected
frames to the label store" and reads the SQLite store: the frame is there, with the dragged
coordinates (within 0.5 px). Screenshots and the frame-switch latency of the review widget
(``review_latency_<frontend>.json``) go to ``$POSELAB_TEST_ARTIFACTS`` (or tmp_path).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from browser import notebook_page

pytestmark = pytest.mark.e2e

PARTS = ["snout", "body_centre", "tail_base"]
W_, H_ = 640, 480
BAD_FRAME = 12  # after the 8 timed "next frame" clicks
HUMAN_FRAME = 3  # labeled by a person before the review: a correction there must not replace it
HUMAN_SNOUT = (100.0, 120.0)

NOTEBOOK_CODE = """
import os
import ipywidgets as W
from IPython.display import display
from poselab.core import poses
from poselab.project import Project
project = Project.open(os.environ["POSELAB_E2E_PROJECT"])
predictions = poses.load(os.environ["POSELAB_E2E_POSES"], lazy=False)
widget = project.review(predictions, min_gap=3, display_width=640)
saved = W.HTML("0")
saved.add_class("poselab-e2e-saved")
def _ack(*_):  # runs after the widget's own drag_end callback has stored the correction
    saved.value = str(int(saved.value) + 1)
widget.scatter.on_drag_end(_ack)
display(widget, saved)
"""

LAT_JS = """(title) => {
  window.__lat = {};
  const fig = document.querySelector('.poselab-review-figure');
  const href = () => { const im = fig.querySelector('image');
    return im && (im.getAttribute('href') || im.getAttribute('xlink:href')); };
  const href0 = href();
  const btn = document.querySelector(`.poselab-review button[title='${title}']`);
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


@pytest.fixture
def review_project(tmp_path):
    from poselab.core import poses
    from poselab.datasets.synthetic import synthetic
    from poselab.project import Project

    world = synthetic(tmp_path / "m.mp4", n_frames=20, size=(W_, H_), seed=4)
    pred = world.poses[["position"]].sel(part=PARTS).copy(deep=True)
    pred["likelihood"] = pred["position"].isel(coord=0, drop=True) * 0 + 0.95
    pred["position"].loc[dict(animal="mouse0", part="snout", frame=BAD_FRAME, coord="x")] += 40.0
    project = Project.create(tmp_path / "proj", PARTS, animals=["mouse0"], videos=[world.video])
    [image] = project.add_frames([HUMAN_FRAME])
    project.labels.set_points(image, {("mouse0", "snout"): HUMAN_SNOUT})
    project.close()
    path = poses.save(pred, tmp_path / "pred.nc")
    return project.root, path, pred


def _stored(root: Path, image: str) -> dict:
    from poselab.project.labels import LabelStore

    with LabelStore(root / "labels.sqlite", PARTS) as store:
        try:
            return {p: v for (_, p), v in store.points(image).items()}
        except ValueError:  # not registered yet
            return {}


@pytest.mark.parametrize("frontend", ["voila", "lab"])
def test_review_drag_and_send_in_browser(frontend, tmp_path, review_project, artifacts):
    root, poses_path, pred = review_project
    image_name = f"frames/m/img{BAD_FRAME:05d}.png"
    work = tmp_path / f"serve-{frontend}"
    with notebook_page(frontend, work, root, NOTEBOOK_CODE, height=1400, extra_env={"POSELAB_E2E_POSES": str(poses_path)}) as page:
        page.wait_for_selector(".poselab-review-figure svg image", timeout=90000)
        page.wait_for_selector(".poselab-review-figure path.dot", timeout=30000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"review-{frontend}-opened.png"))

        # frame switches with the "next frame" button: mousedown -> new href -> image load
        switches = []
        for _ in range(8):
            page.evaluate(LAT_JS, "next frame")
            page.locator(".poselab-review button[title='next frame']").first.click()
            page.wait_for_function("() => window.__lat.load !== undefined", timeout=10000)
            switches.append(page.evaluate("() => window.__lat"))
            page.wait_for_timeout(150)

        page.locator(".poselab-review button:has-text('next outlier')").first.click()
        page.wait_for_function("() => document.querySelector('.poselab-review').innerText"
                               f".includes('frame {BAD_FRAME} ')", timeout=10000)
        page.wait_for_timeout(500)
        image = page.locator(".poselab-review-figure svg image").first
        box = image.bounding_box()
        assert box["width"] / box["height"] == pytest.approx(W_ / H_, rel=2e-3)  # undistorted
        sx, sy = box["width"] / W_, box["height"] / H_
        start = tuple(float(v) for v in pred["position"].sel(animal="mouse0", part="snout",
                                                             frame=BAD_FRAME).values)
        x0 = box["x"] + (start[0] + 0.5) * sx
        y0 = box["y"] + (start[1] + 0.5) * sy
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(x0 - 6 * k, y0 + 3 * k)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector('.poselab-e2e-saved')"
                               ".textContent.trim() === '1'", timeout=10000)
        page.screenshot(path=str(artifacts / f"review-{frontend}-after-drag.png"))
        page.locator(".poselab-review button:has-text('send corrected frames')").first.click()
        deadline = time.time() + 10
        while "snout" not in _stored(root, image_name) and time.time() < deadline:
            time.sleep(0.1)
        stored = _stored(root, image_name)
        assert stored["snout"][0] == pytest.approx(start[0] - 60 / sx, abs=0.5)
        assert stored["snout"][1] == pytest.approx(start[1] + 30 / sy, abs=0.5)
        # the other parts are the predictions, unchanged
        for part in PARTS[1:]:
            expected = pred["position"].sel(animal="mouse0", part=part, frame=BAD_FRAME).values
            assert stored[part][:2] == pytest.approx(tuple(expected), abs=1e-9)
        page.wait_for_function("() => document.querySelector('.poselab-review').innerText"
                               ".includes('sent 1 frame')", timeout=10000)
        page.screenshot(path=str(artifacts / f"review-{frontend}-sent.png"))

        # a frame a person labeled: the drag and the send must leave the person's point as it was
        human_image = f"frames/m/img{HUMAN_FRAME:05d}.png"
        assert _stored(root, human_image)["snout"][:2] == pytest.approx(HUMAN_SNOUT, abs=1e-9)
        for _ in range(BAD_FRAME - HUMAN_FRAME):
            page.locator(".poselab-review button[title='previous frame']").first.click()
            page.wait_for_timeout(120)
        page.wait_for_function("() => document.querySelector('.poselab-review').innerText"
                               f".includes('frame {HUMAN_FRAME} ')", timeout=10000)
        page.wait_for_timeout(500)
        box = page.locator(".poselab-review-figure svg image").first.bounding_box()
        start = tuple(float(v) for v in pred["position"].sel(animal="mouse0", part="snout",
                                                             frame=HUMAN_FRAME).values)
        x0, y0 = box["x"] + (start[0] + 0.5) * sx, box["y"] + (start[1] + 0.5) * sy
        page.mouse.move(x0, y0)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(x0 + 4 * k, y0 + 4 * k)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector('.poselab-e2e-saved')"
                               ".textContent.trim() === '2'", timeout=10000)
        page.locator(".poselab-review button:has-text('send corrected frames')").first.click()
        page.wait_for_function("() => document.querySelector('.poselab-review').innerText"
                               ".includes('not written where a person had labeled')", timeout=10000)
        page.screenshot(path=str(artifacts / f"review-{frontend}-human-label-kept.png"))
        assert _stored(root, human_image)["snout"][:2] == pytest.approx(HUMAN_SNOUT, abs=1e-9)
        assert _stored(root, image_name)["snout"][:2] == pytest.approx(stored["snout"][:2], abs=1e-9)
    loads = [s["load"] for s in switches]
    result = {"frontend": frontend, "frame": f"{W_}x{H_} video frame, JPEG q85, shown {W_} px wide",
              "frame_switch_load_ms": loads, "frame_switch_load_median_ms": float(np.median(loads))}
    (artifacts / f"review_latency_{frontend}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
