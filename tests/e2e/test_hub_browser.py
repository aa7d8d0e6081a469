"""Two students on a real JupyterHub (``python -m poselab.hub``), each held to 1 CPU and 2 GiB.

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_hub_browser.py -s``. Needs root (the hub
enforces the limits with cgroups), ``configurable-http-proxy`` (``make e2e`` installs it with npm)
and chromium. Both students log in at once, get the course notebook through an nbgitpuller link,
place a label in the labeling widget and see it saved; then one student's kernel asks for more
than 2 GiB: it is stopped by the OOM killer, while the other student's kernel still answers and
every saved label is still on disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, LAB_READY_JS, free_port, stop, wait_http

pytestmark = pytest.mark.e2e

PASSWORD = "course-pw"
STUDENTS = ["alice", "bob"]
COURSE_NOTEBOOK = """
from pathlib import Path
from poselab.datasets.synthetic import synthetic
from poselab.project import Project
work = Path("poselab-work")
if (work / "project").exists():
    project = Project.open(work / "project")
else:
    world = synthetic(work / "m.mp4", n_frames=10, size=(320, 240), seed=1)
    project = Project.create(work / "project", ["snout", "tail_base"], videos=[world.video])
    project.select_frames(n=2, method="uniform")
widget = project.label(display_width=640)
widget
"""
EXECUTE_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code});
  let text = '';
  future.onIOPub = (msg) => { if (msg.content.text) text += msg.content.text;
                              if (msg.content.data) text += msg.content.data['text/plain']; };
  try { const reply = await future.done; return [reply.content.status, text]; }
  catch (e) { return ['failed', String(e)]; }
}"""


def _course_repo(tmp_path: Path) -> Path:
    import nbformat

    repo = tmp_path / "course"
    repo.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(COURSE_NOTEBOOK)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, repo / "label.ipynb")
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "course"], check=True)
    return repo


def _oom_kills(student: str) -> int:
    for path in (Path("/sys/fs/cgroup/poselab-hub") / student / "memory.events",
                 Path("/sys/fs/cgroup/memory/poselab-hub") / student / "memory.oom_control"):
        if path.exists():
            for line in path.read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    return -1


def _stored_points(home: Path) -> dict:
    from poselab.project import Project

    project = Project.open(home / "course" / "poselab-work" / "project")
    try:
        return {r.image: project.labels.points(r.image) for r in project.labels.images()}
    finally:
        project.close()


def test_two_students_label_and_one_over_its_memory_is_stopped_alone(tmp_path, artifacts):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing")
    pytest.importorskip("jupyterhub", reason="the hub extra is not installed (pip install poselab[hub])")
    pytest.importorskip("nbgitpuller", reason="the hub extra is not installed (pip install poselab[hub])")
    from poselab.core.resources import CgroupError, CgroupLimit
    from poselab.hub import find_proxy, gitpuller_link

    if os.geteuid() != 0:
        pytest.skip("the hub enforces the limits with cgroups: needs root")
    try:
        CgroupLimit("poselab-probe", memory_bytes=2**30).remove()
    except CgroupError as exc:
        pytest.skip(str(exc))
    state = tmp_path / "hub"
    state.mkdir()
    proxy_dir = os.environ.get("POSELAB_CHP_PREFIX")
    if find_proxy(state) is None and proxy_dir:
        (state / "node_modules").symlink_to(Path(proxy_dir) / "node_modules")
    if find_proxy(state) is None:
        pytest.skip("configurable-http-proxy not found (npm install configurable-http-proxy; make e2e does)")
    repo = _course_repo(tmp_path)
    port = free_port()
    log = open(tmp_path / "hub.log", "w")
    hub = subprocess.Popen([sys.executable, "-m", "poselab.hub", "--state", str(state), "--port", str(port),
                            "--password", PASSWORD, "--memory", "2G", "--cpus", "1",
                            "--lab-arg=--LabApp.expose_app_in_browser=True"],
                           stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    link = gitpuller_link(url, f"file://{repo}", "label.ipynb")
    try:
        wait_http(f"{url}/hub/login", hub, timeout=60)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            pages = {}
            for student in STUDENTS:  # both log in and open the course before either works
                page = browser.new_context(viewport={"width": 1300, "height": 1100}).new_page()
                page.goto(f"{url}/hub/login")
                page.fill("#username_input", student)
                page.fill("#password_input", PASSWORD)
                page.click("#login_submit")
                page.goto(link)
                pages[student] = page
            for student, page in pages.items():
                page.wait_for_function(LAB_READY_JS, timeout=180000)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            for k, (student, page) in enumerate(pages.items()):
                image = page.locator(".poselab-labeling-figure svg image").first
                image.wait_for(timeout=120000)
                page.wait_for_timeout(500)
                box = image.bounding_box()
                page.mouse.click(box["x"] + box["width"] * (0.3 + 0.2 * k), box["y"] + box["height"] * 0.5)
                page.wait_for_function("() => document.querySelector('.poselab-labeling').innerText"
                                       ".includes('1/2 parts')", timeout=20000)
                page.screenshot(path=str(artifacts / f"hub-{student}-labeled.png"))
            homes = {s: state / "home" / s for s in STUDENTS}
            saved = {s: _stored_points(homes[s]) for s in STUDENTS}
            for s in STUDENTS:
                placed = [p for points in saved[s].values() for p in points.values()]
                assert len(placed) == 1, (s, saved[s])
            assert _oom_kills("alice") == 0
            # alice asks for 3 GiB: her kernel, alone, is stopped by the OOM killer
            status, _ = pages["alice"].evaluate(EXECUTE_JS, "b = bytearray(3 * 2**30)")
            deadline = time.time() + 60
            while _oom_kills("alice") < 1 and time.time() < deadline:
                time.sleep(0.5)
            assert _oom_kills("alice") >= 1 and status != "ok"
            assert _oom_kills("bob") == 0
            assert pages["bob"].evaluate(EXECUTE_JS, "print(6 * 7)") == ["ok", "42\n"]
            assert {s: _stored_points(homes[s]) for s in STUDENTS} == saved  # every label kept
            pages["alice"].screenshot(path=str(artifacts / "hub-alice-after-oom.png"))
            browser.close()
    finally:
        stop(hub)
        log.close()
        for student in STUDENTS:  # the hub removes the groups at a clean stop; a killed one may not
            for base in (Path("/sys/fs/cgroup/poselab-hub"), Path("/sys/fs/cgroup/memory/poselab-hub"),
                         Path("/sys/fs/cgroup/cpu/poselab-hub")):
                if (base / student).is_dir():
                    subprocess.run(["sh", "-c", f"cat {base / student}/cgroup.procs | xargs -r kill -9"])
                    time.sleep(0.5)
                    (base / student).rmdir()
