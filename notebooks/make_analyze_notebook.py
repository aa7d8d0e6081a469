"""Writes notebooks/03_analyze_videos.ipynb (run: python notebooks/make_analyze_notebook.py)."""
from pathlib import Path

import nbformat
from make_analysis_notebooks import build  # this folder is on sys.path when run as a script

cells = [
("md", """# 3. Analyze videos: streaming, resumable, on a Dask cluster, labeled videos

Once a model is trained, analysis is the long part of a study: hours of video. This notebook shows
what `poselab.analyze_video` and `poselab.analyze_videos` do with a video, on synthetic mice whose
true poses we know:

1. train a small model (about a minute on a laptop CPU) from labels taken from the ground truth;
2. **analyze** a video into the pose Dataset and measure its error against the truth;
3. **kill** an analysis half-way and **resume** it: the result equals an uninterrupted run;
4. run the **same call on a Dask cluster** (here a `LocalCluster` of two processes; on SLURM see the
   README): the result is identical to the local run;
5. draw a **labeled video** (parts, skeleton, trails, likelihood as transparency)."""),
("code", """import subprocess, sys, tempfile, time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import poselab
from poselab.datasets import SYNTHETIC_PARTS, SYNTHETIC_SKELETON, synthetic
from poselab.model import LabeledImages, create_model, evaluate, train

work = Path(tempfile.mkdtemp(prefix="poselab-analyze-"))
worlds = [synthetic(work / "videos" / f"mouse{i}.mp4", n_frames=240, size=(320, 240), seed=i)
          for i in range(2)]
videos = [w.video for w in worlds]
parts = list(SYNTHETIC_PARTS)
print(videos, len(parts), "parts")"""),
("md", """## A small model

We label every 6th frame of the first video from the truth (visible parts only; paws under the
body stay unlabeled, as a human would leave them) and train `tf_efficientnet_lite0` with its
ImageNet weights for a fixed number of epochs. `model.save` writes one `.safetensors` file with
the model card: the file is what workers load."""),
("code", """truth = worlds[0].poses.isel(animal=0)
frames = np.arange(0, 240, 6)
with poselab.open_video(videos[0]) as reader:
    images = [reader.read(int(f)) for f in frames]
xy = truth["position"].sel(frame=frames).transpose("frame", "part", "coord").values
visible = truth["visible"].sel(frame=frames).transpose("frame", "part").values
keypoints = np.where(visible[..., None], xy, np.nan)
data = LabeledImages(images, keypoints, parts, names=[f"frame{f}" for f in frames])
train_set, test_set = data.split(0.2, seed=0)

torch.manual_seed(0)
model = create_model("tf_efficientnet_lite0", parts, input_size=160, head_channels=64)
history = train(model, train_set, test_data=test_set, epochs=25, batch_size=8, lr=2e-3,
                eval_every=5, progress=False)
print(f"test RMSE {evaluate(model, test_set)['rmse_px']:.2f} px on {len(test_set)} held-out frames")
model_path = model.save(work / "mouse.safetensors")"""),
("md", """## Analyze a video

Frames are decoded in a background thread while the network runs, in batches; the progress bar
shows frames/s. The result is the pose Dataset (`animal x part x frame x coord`), saved as NetCDF
(`.zarr` for very long videos). While it runs, finished chunks are checkpointed in
`<out>.partial.zarr`, so memory does not grow with the video's length."""),
("code", """poses = poselab.analyze_video(model_path, videos[1], out=work / "poses" / "mouse1.nc", batch_size=16)
poses"""),
("code", """truth1 = worlds[1].poses
error = np.linalg.norm(poses["position"].values - truth1["position"].values, axis=-1)
seen = truth1["visible"].values
print(f"median error {np.nanmedian(error[seen]):.2f} px over the visible parts of a video the model never saw; "
      f"{np.mean(error[seen] < 5):.0%} within 5 px")
fig, ax = plt.subplots(figsize=(8, 2.5))
for part in ["snout", "body_centre", "tail_base"]:
    ax.plot(poses["time"], poses["position"].sel(part=part, coord="x").isel(animal=0), label=part)
    ax.plot(truth1["time"], truth1["position"].sel(part=part, coord="x").isel(animal=0), "k:", lw=0.8)
ax.set_xlabel("time (s)"); ax.set_ylabel("x (pixels)"); ax.legend(ncol=3, fontsize=8);"""),
("md", """## Kill it, start it again: it resumes

A job on a shared machine gets killed (time limits, a closed laptop). Here an analysis runs in
another process with a checkpoint every 32 frames; we kill it (`SIGKILL`, no chance to clean up)
as soon as some chunks are written, then run the same call again: it continues from the last
written chunk, and the result is the same as the uninterrupted one above."""),
("code", """out = work / "resumed" / "mouse1.nc"
partial = out.with_name(out.name + ".partial.zarr")
child = subprocess.Popen([sys.executable, "-c", f'''
import poselab
poselab.analyze_video({str(model_path)!r}, {str(videos[1])!r}, out={str(out)!r},
                      batch_size=16, chunk_frames=32, progress=False)
'''])
written = 0
while child.poll() is None and written < 96:
    time.sleep(0.05)
    try:
        written = poselab.load_poses(partial).sizes["frame"]
    except Exception:  # not created yet, or a chunk being written
        pass
child.kill(); child.wait()
print(f"killed with {written} of 240 frames checkpointed" if written < 240 else "it finished before we could kill it")
resumed = poselab.analyze_video(model_path, videos[1], out=out, batch_size=16, chunk_frames=32)
print("resumed result equals the uninterrupted run:",
      resumed["position"].equals(poses["position"]) and resumed["likelihood"].equals(poses["likelihood"]))"""),
("md", """## The same call on a Dask cluster

`analyze_videos` takes a `distributed.Client`. Videos, or frame ranges of one long video
(`split_frames`), go to the workers, which load the model file once each. Here a `LocalCluster`
of two worker processes stands in for a cluster; on SLURM, a `dask_jobqueue.SLURMCluster` takes its
place and nothing else changes (see the README)."""),
("code", """from distributed import Client, LocalCluster

with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \\
        Client(cluster) as client:
    on_cluster = poselab.analyze_videos(model_path, videos, client=client, split_frames=96, batch_size=16)
print([f"{ds.sizes['frame']} frames from {-(-ds.sizes['frame'] // 96)} tasks" for ds in on_cluster])
same = on_cluster[1]["position"].equals(poses["position"]) and on_cluster[1]["likelihood"].equals(poses["likelihood"])
print("mouse1 on the cluster is identical to the local run above:", same)"""),
("md", """## A labeled video

`poselab.io.render.labeled_video` draws every part (likelihood as opacity), the skeleton and fading
trails into a new mp4 with the same frame count and rate, vectorised over points."""),
("code", """labeled = poselab.labeled_video(poses, videos[1], work / "mouse1_labeled.mp4",
                                skeleton=SYNTHETIC_SKELETON, trail_frames=10)
with poselab.open_video(labeled) as reader, poselab.open_video(videos[1]) as source:
    print(len(reader), "frames, as the source:", len(source))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].imshow(source.read(120)); axes[0].set_title("frame 120")
    axes[1].imshow(reader.read(120)); axes[1].set_title("labeled (zoomed)")
    x, y = poses["position"].sel(part="body_centre", frame=120).isel(animal=0).values
    axes[1].set_xlim(x - 50, x + 50); axes[1].set_ylim(y + 35, y - 35)
    for ax in axes: ax.axis("off")"""),
("md", """## From a shell

The same analysis as a batch job (any number of videos; `--zarr` for very long ones;
`--scheduler tcp://host:8786` sends it to a running Dask scheduler):

```bash
poselab analyze mouse.safetensors videos/*.mp4 --out poses/
```"""),
("md", """## Live: pose frame by frame, for closed-loop experiments

`poselab.live.LiveSession` runs the model on each frame as a camera delivers it (here the second
video is replayed at its own 30 frames/s, as a rehearsal of a rig would). The newest frame wins:
if the model falls behind, frames are dropped and counted, never queued. `crop_size` runs the
network on a window that follows the animal; `predict_ahead_s` adds a constant-velocity Kalman
prediction of where each part will be when the output acts; a `RegionTrigger` fires when a part
enters a region (here: the mouse's body entering the right third of the arena, where it walks
after resting, would switch a light). Every
pose goes to a Zarr record as the session runs, so a crash loses nothing already seen."""),
("code", """from poselab.live import LiveSession, RegionTrigger, load_record

light = []
# this small model (25 epochs, 6 px test RMSE) gives likelihoods of 0.1-0.3 where a well-trained
# one gives > 0.8: cut-offs far below the defaults (0.5), for this demonstration only
trigger = RegionTrigger("body_centre", region=(200, 0, 320, 240), min_likelihood=0.02,  # pixels: x0, y0, x1, y1
                        hold_frames=3,  # 3 poses in a row on the other side: no flicker at the edge
                        on_enter=lambda pose: light.append(("on", pose.frame)),
                        on_exit=lambda pose: light.append(("off", pose.frame)))
session = LiveSession(model_path, videos[1], crop_size=128, crop_min_likelihood=0.05, predict_ahead_s=0.0,
                      processors=[trigger], record=work / "live.zarr")
print(session.run())  # the whole video, 8 s at its 30 frames/s
true_x = truth1["position"].sel(part="body_centre", coord="x").isel(animal=0).values
entered = int(np.argmax(true_x >= 200))
print("light switched at frames:", light[:6], f"(the true body centre enters the region at frame {entered})")
live = load_record(work / "live.zarr")
offline = poses.sel(frame=live["frame"].values)
distance = np.linalg.norm(live["position"].values - offline["position"].values, axis=-1)
print(f"{live.sizes['frame']} live poses recorded; median {np.nanmedian(distance):.2f} px from the offline analysis "
      f"of the same frames; latency {1000 * np.median(live['latency'].values):.1f} ms median")"""),
("md", """The live view in the notebook: the frame with the parts, frames/s and latency, Start and Stop, and
a trigger region you drag over the frame. Press Start to replay the video through it (from a shell:
`poselab live mouse.onnx 0 --crop-size 256 --record poses/live.zarr` for camera 0)."""),
("code", """poselab.widgets.live_widget(model_path, videos[1], crop_size=128, crop_min_likelihood=0.05, predict_ahead_s=0.0)"""),
]
nbformat.write(build(cells), Path(__file__).with_name("03_analyze_videos.ipynb"))
