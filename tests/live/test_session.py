"""The live session: newest frame wins (bounded, counted), poses match offline ones, the record survives a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from poselab.io.video import write_video
from poselab.live import (FramePredictor, IteratorSource, LiveConfig, LiveError, LiveSession, load_record,
                          open_source)
from poselab.model import create_model

PARTS = ["nose", "left_ear", "right_ear", "tail"]
REPO = Path(__file__).resolve().parents[2]


def tiny_model():
    torch.manual_seed(0)
    return create_model("tf_efficientnet_lite0", PARTS, pretrained=False, head_channels=32, input_size=64)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def frames(n: int, height: int = 72, width: int = 100, seed: int = 1) -> np.ndarray:
    """Noise with a bright blob that moves, so the poses differ between frames."""
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 60, (n, height, width, 3)).astype(np.uint8)
    for i, frame in enumerate(out):
        x, y = (20 + 2 * i) % (width - 10), (10 + i) % (height - 10)
        frame[y:y + 10, x:x + 10] = (230, 200, 180)
    return out


def test_live_poses_equal_the_models_predictions(model, one_thread):
    images = frames(12)
    session = LiveSession(model, images, drop_frames=False)
    stats = session.run()
    xy, likelihood = model.predict(images, batch_size=4)
    assert stats.frames_read == stats.frames_processed == 12 and stats.frames_dropped == 0
    np.testing.assert_allclose(np.stack([p.xy for p in session.results]), xy, atol=1e-4)
    np.testing.assert_allclose(np.stack([p.likelihood for p in session.results]), likelihood, atol=1e-5)
    assert [p.frame for p in session.results] == list(range(12))
    assert all(p.ready_time > p.capture_time >= 0 for p in session.results)
    assert stats.latency_median_ms > 0 and stats.latency_p99_ms >= stats.latency_median_ms


def test_newest_frame_wins_under_a_slow_processor(model, one_thread):
    """100 frames at 100 frames/s and a processor taking 35 ms: most frames dropped, each counted,
    the poses come from ever newer frames, and no more than a few frames are alive at once."""
    alive = weakref.WeakValueDictionary()
    most_alive = 0

    class Tracked(np.ndarray):
        pass

    def stream():
        nonlocal most_alive
        for i, image in enumerate(frames(100)):
            tracked = image.view(Tracked)
            alive[i] = tracked
            most_alive = max(most_alive, len(alive))
            yield tracked

    session = LiveSession(model, IteratorSource(stream(), fps=100), history=1000,
                          processors=[lambda pose: time.sleep(0.035)])
    stats = session.run()
    processed = [p.frame for p in session.results]
    assert stats.frames_read == 100
    assert stats.frames_processed + stats.frames_dropped == 100
    assert stats.frames_processed < 50 and stats.frames_dropped > 50  # the model cannot keep up
    assert processed == sorted(processed) and len(set(processed)) == len(processed)
    gaps = sum(p.dropped for p in session.results)  # per-pose counts add up to the dropped frames
    assert gaps == processed[-1] - processed[0] + 1 - len(processed)
    assert processed[0] == 0 or session.results[0].dropped == 0
    assert most_alive <= 4  # the mailbox, the frame being processed, the latest pose (+1 in hand)
    # latency stays bounded by about one processing step, instead of growing with a queue
    assert stats.latency_p99_ms < 200


def test_live_poses_from_the_onnx_model_match_torch(tmp_path, model, one_thread):
    pytest.importorskip("onnxruntime", reason="the ONNX path needs the extra 'onnx'")
    pytest.importorskip("onnx", reason="the ONNX export needs the extra 'onnx'")
    from poselab.model import export_onnx

    images = frames(10)
    path = export_onnx(model, tmp_path / "model.onnx")
    by_torch = LiveSession(model, images, drop_frames=False)
    by_torch.run()
    by_onnx = LiveSession(path, images, drop_frames=False)  # the file, as a rig script would give it
    by_onnx.run()
    xy_torch = np.stack([p.xy for p in by_torch.results])
    xy_onnx = np.stack([p.xy for p in by_onnx.results])
    assert np.abs(xy_onnx - xy_torch).max() < 0.1  # pixels
    assert np.ptp(xy_torch[:, 0, 0]) > 0


def test_the_network_runs_on_all_cores_but_one_unless_told(tmp_path, model, one_thread):
    from poselab.core.resources import cpu_limit

    assert LiveConfig().network_threads() == max(1, int(cpu_limit()) - 1)  # one core left to the camera
    assert LiveConfig(threads=3).network_threads() == 3
    with pytest.raises(LiveError, match="threads"):
        LiveConfig(threads=0).checked()
    seen = []
    session = LiveSession(model, frames(3), drop_frames=False, threads=2,
                          processors=lambda pose: seen.append(torch.get_num_threads()))
    session.run()
    assert seen == [2, 2, 2] and torch.get_num_threads() == 1  # set for the session, then restored

    pytest.importorskip("onnxruntime", reason="the ONNX path needs the extra 'onnx'")
    pytest.importorskip("onnx", reason="the ONNX export needs the extra 'onnx'")
    from poselab.model import export_onnx, load_onnx_model

    path = export_onnx(model, tmp_path / "model.onnx")
    assert LiveSession(path, frames(1), threads=1).model.net.threads == 1
    spinning_on_two = load_onnx_model(path, threads=2)  # as made for offline analysis
    live = LiveSession(spinning_on_two, frames(1), threads=1).model.net
    assert (live.threads, live.spinning, live.path) == (1, False, path)  # the same file, made again
    assert LiveSession(spinning_on_two, frames(1), threads=2).model.net.spinning is False


def test_the_crop_window_follows_the_animal_and_positions_stay_in_frame_pixels(model, one_thread):
    predictor = FramePredictor(model, LiveConfig(crop_size=64, crop_min_likelihood=0.5))
    xy = np.array([[100.0, 50.0], [110.0, 60.0], [np.nan, np.nan], [400.0, 400.0]])
    likelihood = np.array([0.9, 0.9, 0.0, 0.1])  # the far point is unsure: it does not move the window
    assert predictor.window((480, 640, 3), xy, likelihood) == (73, 23, 137, 87)
    assert predictor.window((480, 640, 3), np.array([[5.0, 470.0]] * 4), np.ones(4)) == (0, 416, 64, 480)
    assert predictor.window((480, 640, 3), xy, np.zeros(4)) is None  # nothing seen: whole frame
    assert predictor.window((480, 640, 3), None, None) is None
    image = frames(1, 120, 160)[0]
    fresh = tiny_model()  # in training mode, as create_model leaves it: one frame must not use batch statistics
    assert fresh.net.training
    xy_whole, _ = FramePredictor(fresh, LiveConfig())(image)
    np.testing.assert_allclose(xy_whole, fresh.predict(image[None])[0][0], atol=1e-4)
    assert fresh.net.training  # and the mode is left as it was
    window = (40, 30, 104, 94)
    xy_window, likelihood_window = predictor(image, window)
    xy_cropped, likelihood_cropped = predictor(np.ascontiguousarray(image[30:94, 40:104]))
    np.testing.assert_allclose(xy_window, xy_cropped + (40, 30), atol=1e-5)
    np.testing.assert_allclose(likelihood_window, likelihood_cropped, atol=1e-6)


def test_a_video_file_is_replayed_at_its_frame_rate(tmp_path, model, one_thread):
    video = write_video(tmp_path / "clip.mp4", iter(frames(20)), fps=50.0)
    session = LiveSession(model, video, predict_ahead_s=0.0, record=tmp_path / "live.zarr")
    stats = session.run()
    assert stats.frames_read == 20
    capture = np.array([p.capture_time for p in session.results])
    frame = np.array([p.frame for p in session.results])
    # each frame is released at its time (1/50 s apart) within a few milliseconds
    np.testing.assert_allclose(capture - capture[0], (frame - frame[0]) / 50.0, atol=0.01)
    assert 0.3 < stats.elapsed_s < 2.0
    ds = load_record(tmp_path / "live.zarr")
    assert ds["frame"].values.tolist() == frame.tolist()
    assert ds.attrs["fps"] == 50.0 and ds.attrs["width"] == 100 and ds.attrs["video"] == "clip.mp4"
    np.testing.assert_allclose(ds["latency"].values, [p.latency_s for p in session.results])
    np.testing.assert_allclose(ds["position"].values[0].transpose(1, 0, 2),
                               np.stack([p.xy for p in session.results]))
    assert not (tmp_path / "live.zarr.journal").exists()
    assert all(p.predicted_xy is not None for p in session.results)
    assert np.isfinite(stats.effective_latency_median_ms) and stats.effective_latency_median_ms <= 0.001


CHILD = textwrap.dedent("""
    import sys, numpy as np, torch
    sys.path.insert(0, {tests!r})
    from live.test_session import frames, tiny_model
    from poselab.live import LiveSession
    torch.set_num_threads(1)
    model = tiny_model()

    def forever():
        i = 0
        while True:
            yield frames(1, seed=i)[0]
            i += 1

    def report(pose):  # processors run before the pose is recorded: report the previous one
        if report.last is not None:
            print(report.last.frame, *np.round(report.last.xy, 4).ravel().tolist(), flush=True)
        report.last = pose
    report.last = None
    LiveSession(model, forever(), processors=[report], record={record!r}, flush_frames=16).run()
""")


def test_the_record_is_complete_after_the_process_is_killed(tmp_path):
    record = tmp_path / "live.zarr"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(REPO / "tests"), record=str(record)))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    reported = []
    try:
        for line in child.stdout:
            reported.append([float(v) for v in line.split()])
            if len(reported) >= 40:  # 40 poses reported recorded: two blocks of 16 stored, the rest journaled
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert len(reported) >= 40, "the live child process stopped early"
    journal = tmp_path / "live.zarr.journal"
    assert journal.exists()  # the poses after the last block are only there
    ds = load_record(record)
    assert not journal.exists()
    stored = {int(f): i for i, f in enumerate(ds["frame"].values)}
    for row in reported:
        frame = int(row[0])
        assert frame in stored, f"frame {frame} was recorded before the kill but is missing"
        xy = ds["position"].values[0, :, stored[frame]]
        np.testing.assert_allclose(np.round(xy, 4).ravel(), row[1:], atol=1e-9)


def test_bad_sources_and_settings_say_what_to_fix(tmp_path, model):
    with pytest.raises(LiveError, match="no video file"):
        open_source(tmp_path / "missing.mp4")
    with pytest.raises(LiveError, match="cannot read frames"):
        open_source(3.5)
    with pytest.raises(LiveError, match="uint8 RGB"):
        LiveSession(model, [np.zeros((10, 10), np.uint8)]).run()
    with pytest.raises(TypeError, match="unknown setting"):
        LiveSession(model, [], crop=64)
    with pytest.raises(LiveError, match="crop_size"):
        LiveSession(model, [], crop_size=8)
    with pytest.raises(LiveError, match="cannot open the camera"):
        open_source(97)


def test_a_session_runs_once(model, one_thread):
    session = LiveSession(model, frames(3), drop_frames=False)
    assert session.run().frames_processed == 3
    with pytest.raises(LiveError, match="runs once"):
        session.run()
