"""Real-browser end-to-end test of the labeling widget (JupyterLab, Notebook 7 and Voila; Debian chromium).

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_labeling_browser.py -s``. It serves a
generated notebook on 127.0.0.1, places a point by a mouse click and moves one by a mouse drag,
then reads the SQLite label store and checks the coordinates (within 0.5 px). A second test
(issue 20) checks the occluded marks (legend and on the image), the names' halo and layout,
that bqplot's own toolbar stays hidden, and the pan/zoom mode line, outline and click message.
Screenshots and latencies (``latency_<frontend>.json``) go to ``$POSELAB_TEST_ARTIFACTS`` (or
tmp_path).
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


# --- issue 20: occluded marks, readable names, one pan/zoom mode indicator --------------------------

# The legend, the marks on the image and the mode indicator, read from the page in one go.
MARKS_JS = """() => {
  const root = document.querySelector('.poselab-labeling');
  const fig = root.querySelector('.poselab-labeling-figure');
  const rect = el => { const r = el.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height}; };
  const shown = el => !!el && getComputedStyle(el).display !== 'none' && el.getBoundingClientRect().width > 0;
  const legend = [...root.querySelectorAll('.poselab-legend-part')].map(
    el => ({state: el.dataset.state, text: el.textContent.trim()}));
  const key = root.querySelector('.poselab-legend-key');
  const dots = [...fig.querySelectorAll('path.dot')].map(el => { const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {fill: cs.fill, stroke: cs.stroke, cx: r.x + r.width / 2, cy: r.y + r.height / 2}; });
  const labels = [...fig.querySelectorAll('text.label')].map(el => { const cs = getComputedStyle(el);
    return {text: el.textContent, rect: rect(el), paintOrder: cs.paintOrder, stroke: cs.stroke,
            strokeWidth: cs.strokeWidth, fill: cs.fill, pointerEvents: cs.pointerEvents}; });
  const scatterNames = [...fig.querySelectorAll('text.dot_text')].filter(shown).length;
  const toolbar = fig.querySelector('.toolbar_div');
  const banner = root.querySelector('.poselab-labeling-banner');
  const notice = root.querySelector('.poselab-labeling-notice');
  const frame = root.querySelector('.poselab-labeling-frame');
  const fcs = getComputedStyle(frame);
  return {legend, key: key && key.textContent, dots, labels, scatterNames,
          toolbarShown: shown(toolbar), toolbarExists: !!toolbar,
          banner: shown(banner) ? banner.textContent.trim() : null,
          bannerBackground: getComputedStyle(banner).backgroundColor,
          notice: notice ? notice.textContent.trim() : null,
          frameOutline: fcs.outlineStyle + ' ' + fcs.outlineColor + ' ' + fcs.outlineWidth,
          panzoomClass: root.classList.contains('poselab-labeling-panzoom')};
}"""

RIGHT_EAR_RGB = "rgb(255, 225, 25)"  # PART_COLORS[2], #ffe119
ORANGE = "rgb(255, 140, 0)"  # pan/zoom mode
PANZOOM_ON_JS = "() => document.querySelector('.poselab-labeling').classList.contains('poselab-labeling-panzoom')"


@pytest.fixture
def marks_project(tmp_path):
    """Two frames with a dark "animal"; on the first, snout and left_ear placed close together
    (their names would overlap) and right_ear occluded with a position; on the second, snout
    occluded without one."""
    cv2 = pytest.importorskip("cv2")
    from poselab.project import Project
    from poselab.project.labels import ImageRecord

    proj = Project.create(tmp_path / "marks", PARTS)
    (proj.root / "frames/v").mkdir(parents=True)
    records = []
    for i in range(2):
        img = np.full((H_, W_, 3), 170, np.uint8)
        cv2.ellipse(img, (300, 220), (170, 90), 0, 0, 360, (25, 20, 20), -1)  # the dark animal
        rel = f"frames/v/img{i:03d}.png"
        cv2.imwrite(str(proj.root / rel), img)
        records.append(ImageRecord(rel, "v.mp4", i, W_, H_))
    proj.labels.add_images(records)
    proj.labels.set_point("frames/v/img000.png", "snout", 200.0, 200.0)
    proj.labels.set_point("frames/v/img000.png", "left_ear", 204.0, 206.0)
    proj.labels.set_point("frames/v/img000.png", "right_ear", 330.0, 250.0, occluded=True)
    proj.labels.set_point("frames/v/img001.png", "snout", None, None, occluded=True)
    proj.close()
    return proj.root


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("frontend", ["voila", "lab"])
def test_marks_names_and_panzoom_mode_in_browser(frontend, tmp_path, marks_project, artifacts):
    work = tmp_path / f"serve-marks-{frontend}"
    with notebook_page(frontend, work, marks_project, NOTEBOOK_CODE, height=1200) as page:
        page.wait_for_selector(".poselab-labeling-figure svg image", timeout=90000)
        page.wait_for_selector(".poselab-labeling-figure text.label >> nth=2", timeout=30000)
        page.wait_for_timeout(500)
        box = page.locator(".poselab-labeling-figure svg image").first.bounding_box()
        sx, sy = box["width"] / W_, box["height"] / H_

        def to_screen(x, y):
            return box["x"] + (x + 0.5) * sx, box["y"] + (y + 0.5) * sy

        page.mouse.move(*to_screen(500, 400))  # hovering: bqplot would show its toolbar now
        page.wait_for_timeout(300)
        m = page.evaluate(MARKS_JS)
        page.screenshot(path=str(artifacts / f"{frontend}-marks-occluded-and-names.png"))
        # the legend: its own mark per state, and the key to the marks
        assert m["legend"] == [{"state": "placed", "text": "■ snout"}, {"state": "placed", "text": "■ left_ear"},
                               {"state": "occluded", "text": "⊘ right_ear"}]
        assert "■ placed" in m["key"] and "□ not placed" in m["key"] and "⊘ occluded" in m["key"]
        # on the image: two filled dots and one hollow ring in right_ear's colour at its position
        rings = [d for d in m["dots"] if d["fill"] == "none"]
        assert len(m["dots"]) == 3 and len(rings) == 1
        assert rings[0]["stroke"] == RIGHT_EAR_RGB
        rx, ry = to_screen(330.0, 250.0)
        assert abs(rings[0]["cx"] - rx) < 2 and abs(rings[0]["cy"] - ry) < 2
        # names: white with a black halo, click-through, none overlapping (snout and left_ear are
        # 7 px apart), and the scatter's own names are off
        assert sorted(lab["text"] for lab in m["labels"]) == ["left_ear", "right_ear (occluded)", "snout"]
        for lab in m["labels"]:
            assert lab["paintOrder"].startswith("stroke") and lab["stroke"] == "rgb(0, 0, 0)"
            assert lab["fill"] == "rgb(255, 255, 255)" and lab["strokeWidth"] == "3px"
            assert lab["pointerEvents"] == "none"
        rects = [lab["rect"] for lab in m["labels"]]
        assert not any(_overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:])
        assert m["scatterNames"] == 0
        # bqplot's own toolbar is not shown, even while hovering
        assert not m["toolbarShown"]
        # label mode: the mode line says what a click does, no orange
        assert m["banner"] == "label mode: click the image to place snout, drag a point to move it"
        assert not m["panzoomClass"] and m["notice"] == "" and ORANGE not in m["frameOutline"]
        image_y = box["y"]

        # pan/zoom mode by the key: orange mode line and outline; a click says it placed nothing
        page.keyboard.press("z")
        page.wait_for_function(PANZOOM_ON_JS, timeout=10000)
        page.wait_for_timeout(300)
        m = page.evaluate(MARKS_JS)
        assert m["banner"].startswith("pan/zoom mode: drag to pan, wheel to zoom")
        assert m["bannerBackground"] == ORANGE and m["frameOutline"] == f"solid {ORANGE} 4px"
        assert not m["toolbarShown"]
        # the image did not move (the mode line is always there)
        assert page.locator(".poselab-labeling-figure svg image").first.bounding_box()["y"] == image_y
        page.screenshot(path=str(artifacts / f"{frontend}-panzoom-mode.png"))
        before = _stored(marks_project, "frames/v/img000.png")
        page.mouse.click(*to_screen(450.0, 100.0))
        page.wait_for_function("() => document.querySelector('.poselab-labeling-notice').textContent"
                               ".includes('click not placed: pan/zoom mode is on')", timeout=10000)
        page.wait_for_timeout(300)
        assert _stored(marks_project, "frames/v/img000.png") == before
        assert page.locator(".poselab-labeling-figure svg image").first.bounding_box()["y"] == image_y
        page.screenshot(path=str(artifacts / f"{frontend}-panzoom-click-message.png"))

        # back to labeling by the button: banner and border gone, a click places again
        page.locator(".poselab-labeling button:has-text('pan/zoom')").first.click()
        page.wait_for_function(f"() => !({PANZOOM_ON_JS})()", timeout=10000)
        m = page.evaluate(MARKS_JS)
        assert m["banner"].startswith("label mode") and ORANGE not in m["frameOutline"]
        page.mouse.click(*to_screen(450.0, 100.0))  # all parts done: the active snout moves there
        deadline = time.time() + 10
        while _stored(marks_project, "frames/v/img000.png")["snout"] == before["snout"] and time.time() < deadline:
            time.sleep(0.1)
        assert _stored(marks_project, "frames/v/img000.png")["snout"][:2] == pytest.approx((450.0, 100.0), abs=1.5)
        page.wait_for_function("() => document.querySelector('.poselab-labeling-notice').textContent === ''",
                               timeout=10000)

        # an occluded part without a position: the legend mark alone, nothing on the image
        page.locator(".poselab-labeling button:has-text('next')").first.click()
        page.wait_for_function("() => document.querySelector('.poselab-labeling').innerText"
                               ".includes('frame 2/2')", timeout=10000)
        page.wait_for_timeout(500)
        m = page.evaluate(MARKS_JS)
        assert m["legend"][0] == {"state": "occluded", "text": "⊘ snout"}
        assert [e["state"] for e in m["legend"][1:]] == ["unplaced", "unplaced"]
        assert m["legend"][1]["text"].startswith("□")
        assert m["dots"] == [] and m["labels"] == []
        page.screenshot(path=str(artifacts / f"{frontend}-occluded-without-position.png"))
