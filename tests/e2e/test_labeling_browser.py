"""Real-browser end-to-end test of the labeling widget (JupyterLab and Voila, Debian chromium).

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_labeling_browser.py -s``. It serves a
generated notebook on 127.0.0.1, places a point by a mouse click and moves one by a mouse drag,
then reads the SQLite label store and checks the coordinates (within 0.5 px). Screenshots and
latencies (``latency_<frontend>.json``) go to ``$POSELAB_TEST_ARTIFACTS`` (or tmp_path).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("POSELAB_CHROMIUM", "/usr/bin/chromium")
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


@pytest.fixture
def artifacts(tmp_path) -> Path:
    path = Path(os.environ.get("POSELAB_TEST_ARTIFACTS", tmp_path / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def e2e_project(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from poselab.labels import ImageRecord
    from poselab.project import Project

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
    from poselab.labels import LabelStore

    with LabelStore(root / "labels.sqlite", PARTS) as store:
        return {p: v for (_, p), v in store.points(image).items()}


def _serve(frontend: str, workdir: Path, project: Path, code: str = NOTEBOOK_CODE,
           extra_env: dict | None = None):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, workdir / "label.ipynb")
    env = dict(os.environ, **(extra_env or {}), POSELAB_E2E_PROJECT=str(project),
               JUPYTER_CONFIG_DIR=str(workdir / "cfg"),
               JUPYTER_RUNTIME_DIR=str(workdir / "rt"), JUPYTERLAB_WORKSPACES_DIR=str(workdir / "ws"),
               JUPYTERLAB_SETTINGS_DIR=str(workdir / "settings"))
    settings = workdir / "settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews":"false","checkForUpdates":false}')
    port = _free_port()
    if frontend == "lab":
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={workdir}",
               "--allow-root", "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True"]
        url = f"http://127.0.0.1:{port}/lab/tree/label.ipynb"
    else:
        cmd = [sys.executable, "-m", "voila", str(workdir / "label.ipynb"), "--no-browser",
               "--Voila.ip=127.0.0.1", f"--port={port}", "--token=", "--show_tracebacks=True"]
        url = f"http://127.0.0.1:{port}/"
    log = open(workdir / f"{frontend}.log", "w")
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_http(f"http://127.0.0.1:{port}/api" if frontend == "lab" else url, proc)
    return proc, url


def _stop(proc: subprocess.Popen) -> None:
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        children = []
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    for child in children:
        try:
            child.kill()
        except Exception:
            pass


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


@pytest.mark.parametrize("frontend", ["voila", "lab"])
def test_label_in_browser(frontend, tmp_path, e2e_project, artifacts):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set POSELAB_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing")
    pytest.importorskip("voila" if frontend == "voila" else "jupyterlab")
    work = tmp_path / f"serve-{frontend}"
    work.mkdir()
    proc, url = _serve(frontend, work, e2e_project)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                               "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(url)
            if frontend == "lab":
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
                page.wait_for_function(
                    "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                    " return w && w.context && w.context.isReady && w.sessionContext.session &&"
                    " w.sessionContext.session.kernel.connectionStatus === 'connected'; }", timeout=60000)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
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
            browser.close()
    finally:
        _stop(proc)
    loads = [s["load"] for s in switches]
    result = {"frontend": frontend, "frame": f"{W_}x{H_} JPEG q85",
              "frame_switch_href_ms": [s["href"] for s in switches], "frame_switch_load_ms": loads,
              "frame_switch_load_median_ms": float(np.median(loads)),
              "frame_switch_load_median_after_first_ms": float(np.median(loads[1:])),
              "drag_to_saved_ms": drag_ms}
    (artifacts / f"latency_{frontend}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
