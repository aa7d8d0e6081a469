"""Real-browser end-to-end test of the training widget (Voila and JupyterLab, Debian chromium).

Run with ``pytest -m e2e -o addopts="" tests/e2e/test_training_browser.py -s``. The "start
training" button is clicked with the mouse; training runs in a kernel thread and updates the
widget after every epoch. The test records every status text the page shows: it must say "preparing" at
once (the button greyed), see the epochs go by live ("running: epoch k/N"), end "finished", draw
one loss point per epoch, and label the epoch axis with whole epochs, each once.
"""

from __future__ import annotations

import pytest
from browser import notebook_page

pytestmark = pytest.mark.e2e

PARTS = ["snout", "body_centre", "tail_base"]
EPOCHS = 8
TICKS = ["1", "2", "4", "6", "8"]  # poselab.widgets.training_logic.epoch_ticks([], 8)

NOTEBOOK_CODE = f"""
import os
from IPython.display import display
from poselab.model import Recipe, TrainConfig
from poselab.project import Project
project = Project.open(os.environ["POSELAB_E2E_PROJECT"])
widget = project.train_widget(
    name="e2e", epochs={EPOCHS},
    recipe=Recipe(input_size=64, scale=0.25, head_channels=32, stride=8,
                  train=TrainConfig(batch_size=4, eval_every=1, num_threads=1)))
display(widget)
"""

WATCH_JS = """() => {
  window.__texts = [];
  const root = document.querySelector('.poselab-training');
  const obs = new MutationObserver(() => {
    const t = root.querySelector('.widget-html-content').innerText;
    if (window.__texts[window.__texts.length - 1] !== t) window.__texts.push(t);
  });
  obs.observe(root, {childList: true, subtree: true, characterData: true});
}"""


def _epoch_tick_texts(page) -> list[str]:
    """The tick labels of the loss figure's epoch axis, as shown."""
    return page.evaluate("""() => {
      const fig = document.querySelectorAll('.poselab-training .bqplot')[0];
      const axis = [...fig.querySelectorAll('g.axis')].find(a => a.textContent.includes('epoch'));
      return [...axis.querySelectorAll('.tick text')].map(t => t.textContent.trim());
    }""")


@pytest.fixture
def train_project(tmp_path):
    from poselab.datasets.synthetic import synthetic
    from poselab.project import Project

    world = synthetic(tmp_path / "m.mp4", n_frames=24, size=(320, 240), seed=1)
    proj = Project.create(tmp_path / "proj", PARTS, animals=["mouse0"], videos=[world.video])
    images = proj.select_frames(n=8, method="uniform")
    records = {r.image: r for r in proj.labels.images()}
    for image in images:
        xy = world.poses["position"].sel(animal="mouse0", frame=records[image].frame, part=PARTS).values
        proj.labels.set_points(image, {("mouse0", p): tuple(v) for p, v in zip(PARTS, xy)})
    proj.close()
    return proj.root


@pytest.mark.parametrize("frontend", ["voila", "lab"])
def test_training_widget_live_in_browser(frontend, tmp_path, train_project, artifacts):
    work = tmp_path / f"serve-{frontend}"
    with notebook_page(frontend, work, train_project, NOTEBOOK_CODE, height=1000) as page:
        page.wait_for_selector(".poselab-training button:has-text('start training')", timeout=90000)
        page.wait_for_timeout(500)
        page.evaluate(WATCH_JS)
        page.screenshot(path=str(artifacts / f"training-{frontend}-before.png"))
        assert _epoch_tick_texts(page) == TICKS  # the planned epochs, whole, each once
        page.locator(".poselab-training button:has-text('start training')").first.click()
        # the click is answered at once: "preparing..." and the button greyed
        page.wait_for_function("() => document.querySelector('.poselab-training').innerText"
                               ".includes('preparing')", timeout=10000)
        assert page.locator(".poselab-training button:has-text('start training')").first.is_disabled()
        page.screenshot(path=str(artifacts / f"training-{frontend}-preparing.png"))
        page.wait_for_function(
            "() => document.querySelector('.poselab-training').innerText.includes("
            f"'finished: epoch {EPOCHS}/{EPOCHS}')", timeout=120000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"training-{frontend}-finished.png"))
        texts = page.evaluate("() => window.__texts")
        assert [t for t in texts if t != "idle"][0].startswith("preparing"), texts
        live = {t.split(",")[0] for t in texts if t.startswith("running: epoch")}
        assert len(live) >= 2, texts  # epochs shown as they ended, not only at the end
        # one drawn point per epoch on the loss curve (bqplot Lines markers)
        n_dots = page.evaluate("() => document.querySelectorAll("
                               "'.poselab-training .bqplot')[0].querySelectorAll('.dot').length")
        assert n_dots == EPOCHS
        assert page.locator(".poselab-training button:has-text('start training')").first.is_enabled()
        assert _epoch_tick_texts(page) == TICKS
    assert (train_project / "models/e2e/run-001/best.safetensors").is_file()
