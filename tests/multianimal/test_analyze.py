"""Multi-animal video analysis through the one analysis engine: values against the truth and
against frame-by-frame detection, checkpoints that resume after a kill, re-tracking without the
network, a Dask cluster, and clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from poselab.core import poses
from poselab.inference import (
    AnalysisError,
    DetectionStore,
    MultiAnimalOptions,
    analyze_video,
    analyze_videos,
    split_detections,
)
from poselab.io.video import open_video, write_video
from poselab.model import ModelError, create_model, load_model
from poselab.multianimal import (
    MultiAnimalImages,
    TrackingConfig,
    analyze_multianimal,
    create_multianimal_model,
    detect_animals,
    track,
    train_multianimal,
)

PARTS = ["head", "middle", "tail"]
SKELETON = [[0, 1], [1, 2]]
N_FRAMES = 48


def _moving_animals(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two three-part animals gliding in opposite directions on grey: frames and truth.

    Returns ``(n, 96, 128, 3)`` uint8 frames and ``(n, 2, 3, 2)`` part positions (pixels).
    """
    import cv2

    frames = np.full((n, 96, 128, 3), 90, np.uint8)
    truth = np.zeros((n, 2, 3, 2))
    for t in range(n):
        for a, (x0, y0, vx) in enumerate([(20.0, 28.0, 1.2), (100.0, 66.0, -1.2)]):
            start = np.array([x0 + vx * t, y0 + 6 * np.sin(t / 9 + a)])
            truth[t, a] = start + np.arange(3)[:, None] * np.array([12.0, 2.0])
            cv2.polylines(frames[t], [truth[t, a].round().astype(np.int32)], False, (200, 200, 200), 3)
            for p, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
                cv2.circle(frames[t], tuple(int(v) for v in truth[t, a, p].round()), 3, colour, -1)
    return frames, truth


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    frames, truth = _moving_animals(N_FRAMES)
    folder = tmp_path_factory.mktemp("two_animals")
    video = write_video(folder / "two.avi", frames, fps=12.0, codec="MJPG")
    with open_video(video) as reader:  # what the network sees: the decoded frames
        decoded = np.stack([reader.read(i) for i in range(N_FRAMES)])
    return video, decoded, truth


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory):
    _, decoded, truth = world
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = create_multianimal_model(PARTS, SKELETON, scale=1.0, input_size=(96, 128), head_channels=32,
                                     max_length=[30.0, 30.0])
    data = MultiAnimalImages(list(decoded[::2]), truth[::2], PARTS)
    train_multianimal(model, data, epochs=30, batch_size=4, lr=3e-3, augment=False, freeze_backbone=True,
                      cached_views=1, progress=False)
    path = model.save(tmp_path_factory.mktemp("model") / "two.safetensors")
    return model, path


def test_tracks_follow_the_animals_and_equal_frame_by_frame_detection(world, trained, one_thread):
    video, decoded, truth = world
    model, _ = trained
    ds = analyze_video(model, video, animals=2, batch_size=8, progress=False)
    assert ds.sizes == {"animal": 2, "part": 3, "frame": N_FRAMES, "coord": 2}
    assert ds.attrs["bad_frames"] == 0
    # Each identity stays on one animal, within a few pixels of its parts, in nearly every frame.
    position = ds["position"].transpose("frame", "animal", "part", "coord").values
    which = [np.argmin([np.nanmedian(np.linalg.norm(position[:, a] - truth[:, b], axis=-1))
                        for b in range(2)]) for a in range(2)]
    assert sorted(which) == [0, 1]
    error = np.linalg.norm(position - truth[:, which], axis=-1)
    assert np.nanmedian(error) < 2.0, np.nanmedian(error)
    assert np.mean(error < 5.0) > 0.9, np.mean(error < 5.0)
    # The streamed engine gives what detecting frame by frame and tracking gives.
    found = detect_animals(model, decoded)
    direct = track(found, 2, parts=PARTS)
    np.testing.assert_allclose(ds["position"].values, direct["position"].values, atol=1e-3)
    # The old entry point is the same analysis.
    again = analyze_multianimal(model, video, 2, batch_size=8, progress=False)
    np.testing.assert_array_equal(again["position"].values, ds["position"].values)
    history = poses.provenance(ds)[-1]
    assert history["operation"] == "analyze_video" and history["parameters"]["n_animals"] == 2


def test_a_killed_job_resumes_from_its_detections_to_the_same_result(tmp_path, world, trained, one_thread):
    video, _, _ = world
    model, model_path = trained
    settings = dict(batch_size=4, chunk_frames=8, progress=False)
    whole = analyze_video(model, video, animals=2, out=tmp_path / "whole.nc", **settings)
    out = tmp_path / "resumed.nc"
    script = textwrap.dedent(
        f"""
        import os, signal, torch
        torch.set_num_threads(1)
        from poselab import inference
        from poselab.multianimal import load_multianimal_model
        original = inference.DetectionStore.write
        written = []
        def write_then_die(self, chunk):
            written.append(original(self, chunk))
            if len(written) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        inference.DetectionStore.write = write_then_die
        inference.analyze_video(load_multianimal_model({str(model_path)!r}), {str(video)!r}, animals=2,
                                out={str(out)!r}, batch_size=4, chunk_frames=8, progress=False)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=300)
    assert result.returncode == -signal.SIGKILL
    folder = tmp_path / "resumed.nc.detections"
    kept = sorted(folder.glob("frames-*.npz"))
    assert [p.name for p in kept] == [f"frames-{a:09d}-{a + 8:09d}.npz" for a in (0, 8, 16)]
    assert not out.exists()
    before = {p.name: p.stat().st_mtime_ns for p in kept}
    resumed = analyze_video(model, video, animals=2, out=out, **settings)
    after = sorted(folder.glob("frames-*.npz"))
    assert len(after) == N_FRAMES // 8
    assert all(p.stat().st_mtime_ns == before[p.name] for p in after if p.name in before)  # kept, not redone
    np.testing.assert_array_equal(resumed["position"].values, whole["position"].values)
    np.testing.assert_array_equal(resumed["likelihood"].values, whole["likelihood"].values)


def test_other_tracking_settings_relink_the_stored_detections(tmp_path, world, trained, one_thread):
    video, _, _ = world
    model, _ = trained
    out = tmp_path / "poses.nc"
    analyze_video(model, video, animals=2, out=out, batch_size=8, progress=False)
    folder = tmp_path / "poses.nc.detections"
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("frames-*.npz")}
    strict = TrackingConfig(max_gap=2, min_length=3)
    relinked = analyze_video(model, video, animals=MultiAnimalOptions(2, ("left", "right"), tracking=strict),
                             out=out, batch_size=8, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("frames-*.npz")} == stamps
    assert relinked["animal"].values.tolist() == ["left", "right"]
    # The same as tracking what the store holds with those settings.
    signature = (folder / "analysis.json").read_text()
    assert "signature" in signature
    import json

    stored = DetectionStore(folder, json.loads(signature)["signature"]).read(0, N_FRAMES)
    want = track(split_detections(stored, 3), 2, strict, parts=PARTS)
    np.testing.assert_array_equal(relinked["position"].values, want["position"].values)
    # Other decoding settings are another analysis: the detections are computed again.
    analyze_video(model, video, animals=MultiAnimalOptions(2, decoding={"threshold": 0.5}), out=out,
                  batch_size=8, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("frames-*.npz")} != stamps


def test_dask_cluster_gives_the_local_result(tmp_path, world, trained, one_thread):
    distributed = pytest.importorskip("distributed")
    video, _, _ = world
    model, _ = trained
    local = analyze_video(model, video, animals=2, batch_size=8, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        (remote,) = analyze_videos(model, [video], out_dir=tmp_path, client=client, split_frames=16,
                                   batch_size=8, animals=2)
    remote = poses.load(remote, lazy=False)
    np.testing.assert_array_equal(remote["position"].values, local["position"].values)
    np.testing.assert_array_equal(remote["likelihood"].values, local["likelihood"].values)
    assert remote["frame"].values.tolist() == list(range(N_FRAMES))


def test_multi_animal_settings_are_checked_with_clear_messages(tmp_path, world, trained):
    video, _, _ = world
    model, model_path = trained
    with pytest.raises(AnalysisError, match="needs the number of animals"):
        analyze_video(model, video, progress=False)
    with pytest.raises(AnalysisError, match="follow_crop follows one animal"):
        analyze_video(model, video, animals=2, follow_crop=64, progress=False)
    with pytest.raises(AnalysisError, match="unknown decoding setting"):
        analyze_video(model, video, animals=MultiAnimalOptions(2, decoding={"treshold": 0.3}), progress=False)
    with pytest.raises(AnalysisError, match="one name per animal"):
        analyze_video(model, video, animals=MultiAnimalOptions(2, ("only",)), progress=False)
    single = create_model("tf_efficientnet_lite0", PARTS, pretrained=False, head_channels=8, input_size=64)
    with pytest.raises(AnalysisError, match="finds one animal"):
        analyze_video(single, video, animals=3, progress=False)
    with pytest.raises(ModelError, match="load_multianimal_model"):
        load_model(model_path)
    assert os.path.exists(model_path)


def test_command_line_tracks_with_a_multi_animal_model(tmp_path, world, trained, one_thread):
    from poselab.cli import main

    video, _, _ = world
    model, model_path = trained
    assert main(["analyze", str(model_path), str(video), "--animals", "2", "--batch-size", "8",
                 "--out", str(tmp_path)]) == 0
    written = poses.load(tmp_path / "two.nc", lazy=False)
    direct = analyze_video(model, video, animals=2, batch_size=8, progress=False)
    np.testing.assert_array_equal(written["position"].values, direct["position"].values)
    assert (tmp_path / "two.nc.detections").is_dir()
