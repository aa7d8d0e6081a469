"""TrainingWidget / TrainingSession: really trains a tiny model on a tiny synthetic project."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("bqplot")
pytest.importorskip("torch")

from poselab.model import Recipe, TrainConfig  # noqa: E402
from poselab.project import Project  # noqa: E402
from poselab.widgets.training import TrainingWidget  # noqa: E402
from poselab.widgets.training_logic import TrainingSession, TrainingSessionError, epoch_ticks, on_change  # noqa: E402

PARTS = ["snout", "body_centre", "tail_base"]
TINY = dict(recipe=Recipe(input_size=64, scale=0.25, head_channels=32, stride=8,
                          train=TrainConfig(batch_size=4, eval_every=1, num_threads=1)))


@pytest.fixture(autouse=True, scope="module")
def _restore_torch_threads():
    # train(num_threads=1) sets torch's global thread count: give the next test files theirs back
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from poselab.datasets.synthetic import synthetic

    tmp = tmp_path_factory.mktemp("train")
    world = synthetic(tmp / "m.mp4", n_frames=24, size=(320, 240), seed=1)
    proj = Project.create(tmp / "p", PARTS, animals=["mouse0"], videos=[world.video])
    images = proj.select_frames(n=8, method="uniform")
    records = {r.image: r for r in proj.labels.images()}
    for image in images:
        xy = world.poses["position"].sel(animal="mouse0", frame=records[image].frame, part=PARTS).values
        proj.labels.set_points(image, {("mouse0", p): tuple(v) for p, v in zip(PARTS, xy)})
    yield proj
    proj.close()


def _wait_for(cond, timeout=60.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError
        time.sleep(0.02)


def test_widget_trains_and_curves_equal_the_history(project):
    w = TrainingWidget(project, name="tiny", epochs=3, **TINY)
    assert w.epochs.value == 3 and w.stop_button.disabled and not w.start_button.disabled
    for figure in (w.loss_figure, w.rmse_figure):  # the planned epochs, whole numbers, before training
        assert list(figure.axes[0].tick_values) == [1, 2, 3]
    seen = []
    on_change(w.session, lambda s: seen.append((s.state, s.status(), w.start_button.disabled)))
    w.start_button.click()
    s = w.session
    # the click is answered at once: "preparing" and the button disabled, before any epoch
    assert seen[0][0] == "preparing" and seen[0][1].startswith("preparing:") and w.start_button.disabled
    assert s.run_dir == project.models_dir / "tiny" / "run-001"
    assert s.wait(120) == "finished", s.status()
    history = s.job.history
    df = history.to_dataframe()
    assert list(w.loss_line.x) == [1, 2, 3]
    assert [st for st, *_ in seen][:2] == ["preparing", "running"] and seen[-1][0] == "finished"
    axis = w.loss_figure.axes[0]
    assert list(axis.tick_values) == [1, 2, 3] and (axis.scale.min, axis.scale.max) == (1.0, 3.0)
    np.testing.assert_array_equal(np.asarray(w.loss_line.y, dtype=float), df["loss"].to_numpy())
    np.testing.assert_array_equal(np.asarray(w.rmse_line.x), df["epoch"].to_numpy())
    np.testing.assert_array_equal(np.asarray(w.rmse_line.y, dtype=float), df["test_rmse_px"].to_numpy())
    best_epoch = int(df["epoch"][df["test_rmse_px"].idxmin()])
    assert history.best_epoch == best_epoch == s.best()["epoch"]
    assert list(w.rmse_best.x) == [best_epoch]
    assert s.best_path == s.run_dir / "best.safetensors" and s.best_path.is_file()
    assert "run-001/best.safetensors" in w.checkpoint.value
    assert s.eta_seconds() == 0.0 and "finished: epoch 3/3" in w.status.value
    assert not w.start_button.disabled and w.stop_button.disabled
    model = s.best_model()
    assert model.parts == PARTS
    # a second start writes a new run folder, fine-tuning from the previous best
    s2 = TrainingSession(project, name="tiny", epochs=1, init_from="previous", **TINY)
    assert s2.start() == project.models_dir / "tiny" / "run-002"
    assert s2.wait(120) == "finished" and len(s2.records) == 1


def test_stop_keeps_the_kernel_free_and_ends_training(project):
    w = TrainingWidget(project, name="stop", epochs=500, **TINY)
    s = w.session
    w.start()
    assert s.running and w.stop_button.disabled is False and w.start_button.disabled
    _wait_for(lambda: len(s.records) >= 1)  # the kernel thread is free while training runs
    assert s.eta_seconds() > 0 and "ETA" in s.status()
    with pytest.raises(TrainingSessionError, match="already running"):
        s.start()
    w.start()  # a notebook cell run after the button was clicked: guidance, not an error
    assert "already running" in w.notice.value and "session.wait()" in w.notice.value
    assert "red" not in w.status.value
    assert sorted(p.name for p in (project.models_dir / "stop").iterdir()) == ["run-001"]
    w.stop_button.click()
    assert s.wait(60) == "stopped"
    assert 1 <= len(s.records) < 500
    assert list(w.loss_line.x) == [r["epoch"] for r in s.records]
    assert "stopped" in w.status.value and not w.start_button.disabled
    assert (s.run_dir / "last.safetensors").is_file()  # the epochs done are kept


def test_errors_are_shown_not_raised(tmp_path):
    proj = Project.create(tmp_path / "empty", PARTS)
    w = TrainingWidget(proj, epochs=1, **TINY)
    w.start_button.click()
    assert "label at least 3 frames" in w.status.value and w.session.state == "idle"
    proj.close()


def test_eta_best_and_status_from_records(project):
    s = TrainingSession(project, minutes=1.0)
    assert s.eta_seconds() is None and s.status() == "idle" and s.best() is None
    s.state = "running"
    s.records = [{"epoch": 1, "loss": 2.0, "seconds": 12.0, "epoch_seconds": 12.0}]
    assert s.eta_seconds() == 48.0  # the rest of the 1-minute budget
    assert s.status() == "running: epoch 1, loss 2.000, ETA 48 s"
    s = TrainingSession(project, epochs=5)
    s.state = "running"
    s.records = [
        {"epoch": 1, "loss": 2.0, "seconds": 3.0, "epoch_seconds": 2.0, "eval_seconds": 1.0, "test_rmse_px": 9.0},
        {"epoch": 2, "loss": 1.5, "seconds": 6.0, "epoch_seconds": 2.0, "eval_seconds": 1.0, "test_rmse_px": 7.5},
        {"epoch": 3, "loss": 1.2, "seconds": 8.0, "epoch_seconds": 2.0},  # no test this epoch
    ]
    assert s.eta_seconds() == pytest.approx(2 * (2 + 2 + 2 + 1 + 1) / 3)
    assert s.curves() == {"epoch": [1, 2, 3], "loss": [2.0, 1.5, 1.2], "test_epoch": [1, 2],
                          "test_rmse_px": [9.0, 7.5]}
    assert s.best()["epoch"] == 2
    assert s.status() == ("running: epoch 3/5, loss 1.200, best 7.50 px at epoch 2, ETA 5 s")


def test_the_model_swaps_the_projects_configured_left_right_pairs(tmp_path):
    # Names that give no left/right hint: only poselab.yaml's flip_pairs can say which parts
    # trade places in a mirrored training crop (the widget used to guess from the names).
    parts = ["nose", "ear_a", "ear_b", "tail"]
    proj = Project.create(tmp_path / "flip", parts, flip_pairs=[["ear_a", "ear_b"]])
    session = TrainingSession(proj, epochs=1, **TINY)
    model = session.make_model()
    assert model.card["flip_pairs"] == [[1, 2]]
    unconfigured = Project.create(tmp_path / "guess", ["left_ear", "right_ear", "nose"])
    assert TrainingSession(unconfigured, epochs=1, **TINY).make_model().card["flip_pairs"] == [[0, 1]]
    proj.close()
    unconfigured.close()


def test_epoch_ticks_are_whole_epochs_each_once():
    assert epoch_ticks([], 30) == (1, 30, [1, 10, 20, 30])  # before training: the planned epochs
    assert epoch_ticks([], None) == (1, 2, [1, 2])  # a time budget: no planned length yet
    assert epoch_ticks([1, 2, 3], 3) == (1, 3, [1, 2, 3])
    assert epoch_ticks([1], 1) == (1, 2, [1, 2])
    assert epoch_ticks(list(range(1, 8)), None) == (1, 7, [1, 2, 4, 6])
    assert epoch_ticks(list(range(31, 41)), 10) == (31, 40, [31, 32, 34, 36, 38, 40])  # a retraining run
    for n in (1, 2, 3, 7, 13, 30, 99, 250, 1000, 12345):
        low, high, ticks = epoch_ticks(range(1, n + 1), n)
        assert ticks == sorted(set(ticks)) and all(isinstance(t, int) for t in ticks)
        assert ticks[0] == 1 and ticks[-1] <= high and 2 <= len(ticks) <= 6


def test_a_failing_display_does_not_end_training(project):
    s = TrainingSession(project, name="display", epochs=2, **TINY)

    def broken_display(_session):
        raise RuntimeError("Set changed size during iteration")

    on_change(s, broken_display)
    s.start()
    assert s.wait(120) == "finished" and len(s.records) == 2
    assert isinstance(s.listener_error, RuntimeError)


def test_stop_while_preparing_trains_nothing(project):
    s = TrainingSession(project, name="early", epochs=50, **TINY)
    states = []

    def stop_at_once(session):  # "stop" clicked while the model is still being built
        states.append(session.state)
        if session.state == "preparing":
            session.stop()

    on_change(s, stop_at_once)
    s.start()
    assert s.wait(120) == "stopped" and s.records == [] and s.job is None
    assert states == ["preparing", "stopping", "stopped"]
    assert s.run_dir == project.models_dir / "early" / "run-001"


def test_training_can_start_from_a_zoo_model_adapted_to_the_project_videos(project):
    from poselab.zoo import AdaptConfig

    # the zoo model sees whole-scale images (TINY's quarter scale would shrink the mouse to 14 px)
    recipe = Recipe(input_size=128, train=TrainConfig(batch_size=4, eval_every=1, num_threads=1))
    s = TrainingSession(project, name="zoo", epochs=1, init_from="topview_mouse",
                        adapt=AdaptConfig(frames=12, epochs=1, batch_size=4), recipe=recipe)
    s.start()
    assert s.wait(300) == "finished", s.error
    card = s.model.card
    assert card["init_from"]["zoo"] == "topview_mouse"
    assert card["init_from"]["parts"] == {p: p for p in PARTS}
    assert card["adapted_to"]["video"] == "m.mp4" and card["adapted_to"]["frames_kept"] >= 8
    assert s.model.parts == PARTS
