"""Serve a one-cell notebook with JupyterLab, Notebook 7 or Voila on 127.0.0.1 and open it in chromium.

Shared by the real-browser tests (``pytest -m e2e tests/e2e``); Playwright drives Debian's
chromium (``$POSELAB_CHROMIUM``, default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("POSELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update"]
# JupyterLab's window.jupyterapp: the notebook is open and its kernel connected
LAB_READY_JS = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return w && w.context && w.context.isReady && w.sessionContext.session &&"
                " w.sessionContext.session.kernel.connectionStatus === 'connected'; }")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
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


def serve(frontend: str, workdir: Path, project: Path, code: str,
          extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Write ``code`` as a one-cell notebook in ``workdir`` and serve it; returns (server, url).

    The notebook finds the project folder in ``$POSELAB_E2E_PROJECT``.
    """
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
    port = free_port()
    server = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
              "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
              "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={workdir}", "--allow-root"]
    if frontend == "lab":
        cmd = [sys.executable, "-m", "jupyterlab", *server, "--LabApp.news_url=None",
               "--LabApp.expose_app_in_browser=True"]
        url = f"http://127.0.0.1:{port}/lab/tree/label.ipynb"
    elif frontend == "notebook7":
        cmd = [sys.executable, "-m", "notebook", *server, "--JupyterNotebookApp.expose_app_in_browser=True"]
        url = f"http://127.0.0.1:{port}/notebooks/label.ipynb"
    else:
        cmd = [sys.executable, "-m", "voila", str(workdir / "label.ipynb"), "--no-browser",
               "--Voila.ip=127.0.0.1", f"--port={port}", "--token=", "--show_tracebacks=True"]
        url = f"http://127.0.0.1:{port}/"
    log = open(workdir / f"{frontend}.log", "w")
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_http(url if frontend == "voila" else f"http://127.0.0.1:{port}/api", proc)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    """Stop a server and its kernels."""
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


@contextlib.contextmanager
def notebook_page(frontend: str, workdir: Path, project: Path, code: str, *, height: int = 1200,
                  extra_env: dict | None = None) -> Iterator:
    """A chromium page showing the served notebook, its cell run (JupyterLab) or rendered (Voila).

    Skips the test, saying why, when chromium, Playwright or the front end is missing.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set POSELAB_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing")
    pytest.importorskip({"voila": "voila", "lab": "jupyterlab", "notebook7": "notebook"}[frontend])
    workdir.mkdir(parents=True, exist_ok=True)
    proc, url = serve(frontend, workdir, project, code, extra_env)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.goto(url)
            if frontend == "lab":
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
            if frontend in ("lab", "notebook7"):
                page.wait_for_function(LAB_READY_JS, timeout=60000)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            yield page
            browser.close()
    finally:
        stop(proc)
