"""Video analysis: values, chunked checkpoints and resume, bad frames, Dask equality, labeled video."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
import xarray as xr

from poselab.core import poses
from poselab.core.errors import ResourceError
from poselab.core.resources import BatchSizeWarning, Resources
from poselab.inference import (
    CPU_BATCH_SIZE,
    GPU_BATCH_SIZE,
    AnalysisOptions,
    analyze_video,
    analyze_videos,
)
from poselab.io.video import open_video, write_video
from poselab.model import create_model
from poselab.model.memory import ANALYSIS_MEMORY

PARTS = ["head", "tail"]


def _frames(n: int, width: int = 96, height: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = np.full((height, width, 3), 40, np.uint8)
        x, y = 10 + (i * 3) % (width - 20), 10 + (i * 2) % (height - 20)
        image[y - 3 : y + 4, x - 3 : x + 4] = (250, 80, 80)
        image[height - y - 4 : height - y + 3, width - x - 4 : width - x + 3] = (80, 80, 250)
        yield np.clip(image + rng.integers(0, 8, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4", _frames(70), fps=25.0)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    model = create_model("tf_efficientnet_lite0", PARTS, pretrained=False, head_channels=32, input_size=64)
    path = model.save(tmp_path_factory.mktemp("model") / "model.safetensors")
    return model, path


def test_results_equal_direct_prediction(video, model):
    model, _ = model
    ds = analyze_video(model, video, batch_size=8, progress=False)
    poses.validate(ds)
    assert ds.sizes == {"animal": 1, "part": 2, "frame": 70, "coord": 2}
    assert ds.attrs["fps"] == 25.0 and ds.attrs["width"] == 96 and ds.attrs["bad_frames"] == 0
    with open_video(video) as reader:
        frames = np.stack([reader.read(i) for i in (0, 33, 69)])
    xy, likelihood = model.predict(frames, batch_size=8)
    got = ds["position"].sel(animal="animal0", frame=[0, 33, 69]).transpose("frame", "part", "coord").values
    np.testing.assert_allclose(got, xy, atol=1e-4)
    np.testing.assert_allclose(ds["likelihood"].sel(frame=[0, 33, 69]).values[0].T, likelihood, atol=1e-6)
    assert [p["operation"] for p in poses.provenance(ds)] == ["analyze_video"]


def test_default_batch_size_is_small_on_a_cpu_and_larger_on_a_gpu(video, model):
    model, _ = model
    ds = analyze_video(model, video, frames=(0, 10), progress=False)  # the CPU default
    assert poses.provenance(ds)[-1]["parameters"]["batch_size"] == CPU_BATCH_SIZE == 4
    reference = analyze_video(model, video, frames=(0, 10), batch_size=8, progress=False)
    np.testing.assert_allclose(ds["position"].values, reference["position"].values, atol=1e-4)
    options = AnalysisOptions(chunk_frames=1000).checked()
    assert options.batch_size is None and options.chunk_frames == 1000  # settled with the device
    assert options.on(torch.device("cpu")).chunk_frames == 1000  # a multiple of 4
    assert options.on(torch.device("cuda")).batch_size == GPU_BATCH_SIZE == 16
    assert options.on(torch.device("cuda")).chunk_frames == 992
    assert AnalysisOptions(batch_size=2).on(torch.device("cuda")).batch_size == 2  # asked for: kept


def test_parallel_decoding_gives_the_same_frames_in_order(video, model, one_thread):
    model, _ = model
    one = analyze_video(model, video, batch_size=4, decode_workers=1, progress=False)
    # 70 frames in stretches of 8 batches of 4: three threads, the last stretch short
    three = analyze_video(model, video, batch_size=4, decode_workers=3, progress=False)
    assert three.sizes["frame"] == 70
    np.testing.assert_array_equal(three["frame"].values, np.arange(70))
    np.testing.assert_array_equal(three["position"].values, one["position"].values)
    part = analyze_video(model, video, batch_size=4, decode_workers=2, frames=(5, 41), progress=False)
    np.testing.assert_array_equal(part["position"].values, one["position"].isel(frame=slice(5, 41)).values)
    with pytest.raises(ValueError, match="decode_workers must be >= 1"):
        analyze_video(model, video, decode_workers=0, progress=False)


def test_crop_and_downscale_report_full_frame_pixels(video, model):
    model, _ = model
    full = analyze_video(model, video, batch_size=8, progress=False, frames=(0, 8))
    cropped = analyze_video(model, video, batch_size=8, progress=False, frames=(0, 8), crop=(8, 4, 96, 64))
    assert cropped.sizes["frame"] == 8
    # Positions are in full-frame pixels: the crop offset is added back.
    assert np.nanmin(cropped["position"].sel(coord="x").values) >= 8 - 0.5
    small = analyze_video(model, video, batch_size=8, progress=False, frames=(0, 8), downscale=2.0)
    assert np.isfinite(small["position"]).all() and np.isfinite(full["position"]).all()


def test_analysis_lowers_the_batch_size_to_fit_the_free_memory_or_stops_with_a_message(
        tmp_path, video, model, one_thread):
    model, _ = model
    gib = 2**30
    memory = ANALYSIS_MEMORY["tf_efficientnet_lite0"]
    per_frame = memory.per_item(96 * 64)

    def server(free: float) -> Resources:  # 1 CPU, 2 GiB, ``free`` bytes of it left
        return Resources(cpus=1, threads=1, memory_bytes=2 * gib, memory_used_bytes=2 * gib - int(free),
                         limited=True)

    with pytest.warns(BatchSizeWarning, match="batch_size 16 needs about .*: video analysis with batch_size 5") \
            as caught:
        ds = analyze_video(model, video, batch_size=16, frames=(0, 24), progress=False,
                           resources=server(memory.fixed_bytes + 5.5 * per_frame))
    assert len(caught) == 1 and caught[0].filename == __file__
    assert poses.provenance(ds)[-1]["parameters"]["batch_size"] == 5
    reference = analyze_video(model, video, batch_size=8, frames=(0, 24), progress=False)
    np.testing.assert_allclose(ds["position"].values, reference["position"].values, atol=1e-4)
    # downscale 2: a quarter of the pixels per frame, so 16 frames fit in the same memory
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analyze_video(model, video, batch_size=16, frames=(0, 24), downscale=2, progress=False,
                      resources=server(memory.fixed_bytes + 5.5 * per_frame))
    with pytest.raises(ResourceError, match=r"video analysis needs about 0\.\d\d GiB with batch_size 1.*"
                                            r"2\.00 GiB limit.*downscale \(now 1\)"):
        analyze_video(model, video, out=tmp_path / "poses.nc", progress=False,
                      resources=server(memory.fixed_bytes / 2))
    assert not any(tmp_path.iterdir())  # stopped before anything was written


def test_saved_chunks_and_resume_give_the_same_file(tmp_path, video, model, one_thread):
    model, model_path = model
    whole = analyze_video(model, video, out=tmp_path / "whole.nc", batch_size=8, chunk_frames=16, progress=False)
    # Kill a job after its first chunks are on disk, then resume it.
    out = tmp_path / "resumed.nc"
    script = textwrap.dedent(
        f"""
        import torch
        torch.set_num_threads(1)
        import poselab.inference as inference
        from poselab.model import load_model
        import poselab.core.poses as poses, os, signal
        original = poses.append_zarr
        count = 0
        def append_then_die(ds, path, **kw):
            global count
            original(ds, path, **kw)
            count += 1
            if count == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        poses.append_zarr = append_then_die
        inference.analyze_video(load_model({str(model_path)!r}), {str(video)!r}, out={str(out)!r},
                                batch_size=8, chunk_frames=16, progress=False)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=300)
    assert result.returncode == -signal.SIGKILL
    partial = tmp_path / "resumed.nc.partial.zarr"
    assert partial.exists() and not out.exists()
    assert xr.open_zarr(partial, consolidated=False).sizes["frame"] == 32
    # A marker in the saved chunks shows that they are kept, not computed again; the number of
    # decoding threads is not part of what a resumed run must share.
    import zarr

    stored = zarr.open_group(str(partial), mode="r+")["position"]
    marked = stored[...]
    marked.flat[0] = 12345.0
    stored[...] = marked
    resumed = analyze_video(model, video, out=out, batch_size=8, chunk_frames=16, decode_workers=2, progress=False)
    assert not partial.exists()
    assert resumed["position"].values.flat[0] == 12345.0
    resumed["position"].values.flat[0] = whole["position"].values.flat[0]
    xr.testing.assert_identical(resumed, whole)
    np.testing.assert_array_equal(resumed["position"].values, whole["position"].values)


def test_truncated_video_gives_nan_frames_and_a_warning(tmp_path, model):
    model, _ = model
    source = write_video(tmp_path / "full.avi", _frames(60), fps=25.0, codec="MJPG")
    data = source.read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = analyze_video(model, truncated, batch_size=8, progress=False)
    readable = np.isfinite(ds["likelihood"].values[0]).all(axis=0)
    assert ds.sizes["frame"] == 60  # the header's frame count: frames past the cut are NaN
    assert 0 < readable.sum() < 60 and readable[: readable.sum()].all()
    assert ds.attrs["bad_frames"] == int((~readable).sum())
    assert any("frame" in str(w.message) and "NaN" in str(w.message) for w in caught), \
        [str(w.message) for w in caught]


def test_damaged_frames_are_nan_in_the_poses_and_kept_in_the_labeled_video(tmp_path, model):
    from poselab.io.render import labeled_video
    from tests.io.test_video import _damage_avi_frames

    model, _ = model
    path = write_video(tmp_path / "clip.avi", _frames(40), fps=25.0, codec="MJPG")
    _damage_avi_frames(path, [10, 11, 30])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        ds = analyze_video(model, path, batch_size=8, progress=False)
        out = labeled_video(ds, path, tmp_path / "labeled.mp4", progress=False)
    unknown = np.isnan(ds["likelihood"].values[0]).all(axis=0)
    np.testing.assert_array_equal(np.flatnonzero(unknown), [10, 11, 30])
    assert ds.attrs["bad_frames"] == 3
    with open_video(out) as reader:
        assert len(reader) == 40  # the timing of the labeled video is the original's
        assert reader.read(10).max() < 40 and reader.read(12).mean() > 30  # damaged frame: black


def test_dask_cluster_gives_identical_results(tmp_path, video, model, one_thread):
    distributed = pytest.importorskip("distributed")
    model, model_path = model
    # Dask's nanny starts workers with OMP_NUM_THREADS=1: the local run uses one thread too.
    local = analyze_video(model, video, batch_size=8, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        (remote,) = analyze_videos(model_path, [video], client=client, split_frames=24, batch_size=8)
    np.testing.assert_array_equal(remote["position"].values, local["position"].values)
    np.testing.assert_array_equal(remote["likelihood"].values, local["likelihood"].values)
    assert remote["frame"].values.tolist() == list(range(70))
    assert poses.provenance(remote) == poses.provenance(local)


def test_labeled_video_has_the_marker_at_the_predicted_pixel(tmp_path, video, model):
    from poselab.io.render import labeled_video, part_colours

    model, _ = model
    ds = analyze_video(model, video, batch_size=8, progress=False)
    # Known positions make the check independent of what the (untrained) network predicts.
    position = ds["position"].values.copy()
    position[0, 0, :, :] = [30.0, 20.0]
    position[0, 1, :, :] = [70.0, 45.0]
    ds = ds.assign(position=(ds["position"].dims, position)).assign(likelihood=ds["likelihood"] * 0 + 1)
    out = labeled_video(ds, video, tmp_path / "labeled.mp4", skeleton=[PARTS], radius=4, progress=False)
    colours = part_colours(2).astype(int)
    with open_video(out) as reader:
        assert len(reader) == 70
        frame = reader.read(35).astype(int)
    for (x, y), colour in zip([(30, 20), (70, 45)], colours):
        patch = frame[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(axis=0)
        assert np.abs(patch - colour).max() < 40, (patch, colour)


def test_follow_crop_analyzes_each_batch_in_the_window_the_batch_before_placed(tmp_path):
    """The window follows the last pose of the batch before; positions come back in frame pixels;
    frames where the window lost the animal are analyzed whole."""
    from poselab.inference import follow_window

    torch.manual_seed(3)
    model = create_model("tf_efficientnet_lite0", PARTS, pretrained=False, head_channels=32, input_size=64)
    with torch.no_grad():
        model.net.scoremap.bias.fill_(4.0)  # confident everywhere: the window always has a pose to follow
    video = write_video(tmp_path / "wide.mp4", _frames(24, width=160, height=128, seed=4), fps=25.0)
    ds = analyze_video(model, video, batch_size=8, follow_crop=64, progress=False)
    assert ds.sizes["frame"] == 24
    assert poses.provenance(ds)[-1]["parameters"]["follow_crop"] == 64
    xy = ds["position"].values[0].transpose(1, 0, 2)  # (F, P, 2)
    likelihood = ds["likelihood"].values[0].T
    with open_video(video) as reader:
        frames = np.stack([reader.read(i) for i in range(24)])
    whole_xy, _ = model.predict(frames, batch_size=8)
    np.testing.assert_allclose(xy[:8], whole_xy[:8], atol=1e-4)  # the first batch: nothing to follow yet
    windowed = 0
    for first in (8, 16):
        window = follow_window(frames.shape[1:], xy[first - 1], likelihood[first - 1], 64)
        assert window is not None and window[2] - window[0] == 64 == window[3] - window[1]
        x0, y0, x1, y1 = window
        crop_xy, _ = model.predict(np.ascontiguousarray(frames[first:first + 8, y0:y1, x0:x1]), batch_size=8)
        for k in range(8):
            in_window = np.abs(xy[first + k] - (crop_xy[k] + (x0, y0))).max() < 1e-3
            analyzed_whole = np.abs(xy[first + k] - whole_xy[first + k]).max() < 1e-3
            assert in_window or analyzed_whole, f"frame {first + k} is neither its window's pose nor the whole frame's"
            windowed += in_window
    assert windowed >= 1  # (an untrained model puts many peaks at the window edges: those frames ran whole)


def test_follow_crop_settings_are_checked(video, model):
    model, _ = model
    with pytest.raises(ValueError, match="follow_crop is the side"):
        analyze_video(model, video, follow_crop=8, progress=False)
    with pytest.raises(ValueError, match="exclude each other"):
        analyze_video(model, video, follow_crop=64, crop=(0, 0, 50, 50), progress=False)
