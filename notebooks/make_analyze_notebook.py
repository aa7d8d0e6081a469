"""Writes notebooks/03_analyze_videos.ipynb (run: python notebooks/make_analyze_notebook.py)."""
from pathlib import Path

import nbformat
from make_analysis_notebooks import build  # this folder is on sys.path when run as a script

cells = [
("md", """# 3. Analyze videos: streaming, resumable, on a Dask cluster, labeled videos

Once a model is trained, analysis is the long part of a study: hours of video. This notebook shows
what `poselab.analyze_video` and `poselab.analyze_videos` do with a video, on synthetic mice whose
true poses we know:

1. train a small model (about two minutes on one CPU core) from labels taken from the ground truth;
2. **analyze** a video it never saw into the pose Dataset, **interrupt** it half-way: the same
   call then **resumes** it; measure its error against the truth;
3. run the **same call on a Dask cluster** (here a `LocalCluster` with one worker inside this
   kernel; on SLURM see the README): the result is identical to the interrupted-and-resumed one;
4. draw a **labeled video** (parts, skeleton, trails, likelihood as transparency);
5. run the model **live**, frame by frame, with a trigger.

Everything it makes goes into `poselab-work/03-analyze-videos/` beside this notebook (not a
temporary folder: on a JupyterHub it is in your home and stays). That folder holds only what the
notebook makes, so each run starts it afresh. The notebook is sized for a teaching server with
2 GiB of memory and one core: everything runs in this kernel, which keeps under 1.5 GB at its
peak (PyTorch included)."""),
("code", """import os, shutil, signal, threading, time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import poselab
from poselab.datasets import SYNTHETIC_PARTS, SYNTHETIC_SKELETON, synthetic
from poselab.model import LabeledImages, Recipe, TrainConfig, fit

work = Path("poselab-work") / "03-analyze-videos"   # beside this notebook
shutil.rmtree(work, ignore_errors=True)              # only what this notebook made: start afresh
print("working in", work.resolve())
# three mice to label and train on, and a fourth, never seen in training, to analyze
training = [synthetic(work / "videos" / f"train{seed}.mp4", n_frames=240, size=(320, 240), seed=seed)
            for seed in (0, 2, 3)]
world = synthetic(work / "videos" / "mouse1.mp4", n_frames=240, size=(320, 240), seed=1)
video = world.video
parts = list(SYNTHETIC_PARTS)
print(video, len(parts), "parts")"""),
("md", """## A small model

We label every 8th frame of the three training videos from the truth (visible parts only; paws
under the body stay unlabeled, as a human would leave them): 90 frames, a fifth held out for
testing. `fit` trains with poselab's recipe (the one `poselab train` and the training widget use):
`tf_efficientnet_lite0` with its ImageNet weights, 160-pixel crops, 30 epochs (about two minutes
on one core). Three videos rather than one: a model taught on one mouse in one arena does poorly
on the next.

Training runs in this kernel. It allocates several hundred MB; a Python process would keep what
it frees for its own later use, so when training (or a video analysis) ends poselab hands the
freed memory back to the system (`poselab.core.resources.release_freed_memory`) and the kernel
shrinks back. On a 2 GiB teaching server that is what leaves room for the analyses below. (A
training process of its own would hold a second copy of PyTorch, about 0.4 GB, while it runs.)
`model.save` writes one `.safetensors` file with the model card: the file is what workers load."""),
("code", """frames = np.arange(0, 240, 8)
images, keypoints = [], []
for w in training:
    truth = w.poses.isel(animal=0)
    with poselab.open_video(w.video) as reader:
        images += [reader.read(int(f)) for f in frames]
    xy = truth["position"].sel(frame=frames).transpose("frame", "part", "coord").values
    visible = truth["visible"].sel(frame=frames).transpose("frame", "part").values
    keypoints.append(np.where(visible[..., None], xy, np.nan))
data = LabeledImages(images, np.concatenate(keypoints), parts,
                     names=[f"{w.video.stem}-frame{f}" for w in training for f in frames])
recipe = Recipe(input_size=160, head_channels=64,
                train=TrainConfig(epochs=30, batch_size=8, lr=2e-3, eval_every=10, progress=False))
trained = fit(data, recipe)
print(f"test RMSE {trained.result['rmse_px']:.2f} px on {len(trained.test_set)} held-out frames")
model_path = trained.model.save(work / "mouse.safetensors")"""),
("md", """## Analyze a video, even if it is stopped half-way

`poselab.analyze_video` decodes frames in a background thread while the network runs, in batches,
and returns the pose Dataset (`animal x part x frame x coord`), saved as NetCDF (`.zarr` for very
long videos). While it runs, finished chunks are checkpointed in `<out>.partial.zarr`, so memory
does not grow with the video's length, and a job that is killed (a time limit on a shared
machine, a culled notebook server, a closed laptop) continues from the last written chunk.

Here the analysis writes a checkpoint every 32 frames, and a watcher thread interrupts it as soon
as three chunks are written, the way Jupyter's stop button (■) does: it sends this kernel
`SIGINT`. The same call then continues where the interrupted one stopped (its progress bar starts
at the frames already done). A job killed outright (`SIGKILL`, no chance to clean up: a culled
server, a SLURM time limit) resumes the same way; poselab's tests kill one to check. We do not
kill a second process here: it would hold a second copy of PyTorch beside this kernel, more than
a 2 GiB server has room for."""),
("code", """out = work / "poses" / "mouse1.nc"
partial = out.with_name(out.name + ".partial.zarr")

def interrupt_when_checkpointed(frames=96):
    # press the stop button (SIGINT to this kernel) once `frames` frames are checkpointed
    while True:
        try:
            if poselab.load_poses(partial).sizes["frame"] >= frames:
                break
        except Exception:  # not created yet, or a chunk being written
            pass
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt_when_checkpointed, daemon=True).start()
try:
    poselab.analyze_video(model_path, video, out=out, batch_size=8, chunk_frames=32, progress=False)
    print("it finished before we could interrupt it")
except KeyboardInterrupt:
    print(f"interrupted with {poselab.load_poses(partial).sizes['frame']} of 240 frames checkpointed")
poses = poselab.analyze_video(model_path, video, out=out, batch_size=8, chunk_frames=32)
poses"""),
("code", """truth1 = world.poses
error = np.linalg.norm(poses["position"].values - truth1["position"].values, axis=-1)
seen = truth1["visible"].values
print(f"median error {np.nanmedian(error[seen]):.2f} px over the visible parts of a video the model never saw; "
      f"{np.mean(error[seen] < 5):.0%} within 5 px")
fig, ax = plt.subplots(figsize=(8, 2.5))
for part in ["snout", "body_centre", "tail_base"]:
    ax.plot(poses["time"], poses["position"].sel(part=part, coord="x").isel(animal=0), label=part)
    ax.plot(truth1["time"], truth1["position"].sel(part=part, coord="x").isel(animal=0), "k:", lw=0.8)
ax.set_xlabel("time (s)"); ax.set_ylabel("x (pixels)"); ax.legend(ncol=3, fontsize=8);"""),
("md", """## The same call on a Dask cluster

`analyze_videos` takes a `distributed.Client`. Videos, or frame ranges of one long video
(`split_frames`), go to the workers, which load the model file once each. On SLURM, a
`dask_jobqueue.SLURMCluster` gives each worker a job of its own (with its own memory, e.g.
`memory="4GB"`) and nothing else changes (see the README).

Here a `LocalCluster` stands in for it, sized for a teaching server (2 GiB, one core): **one worker
with one thread, inside this kernel** (`processes=False`). A worker process would start its own
Python with its own PyTorch and model, about 1.3 GB on top of this kernel; the thread adds
only a batch of frames (tens of MB). `memory_limit=None`: the worker's memory is the kernel's,
so Dask must not pause it for what the kernel itself holds (its default, `"auto"`, would give it
1 GiB of a 2 GiB server). On a bigger machine, `n_workers=4, processes=True, memory_limit="2GB"`
analyzes four videos at a time."""),
("code", """from distributed import Client, LocalCluster

videos = [video, training[0].video]
with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, memory_limit=None,
                  dashboard_address=None) as cluster, Client(cluster) as client:
    on_cluster = poselab.analyze_videos(model_path, videos, client=client, split_frames=96, batch_size=8)
print([f"{ds.sizes['frame']} frames from {-(-ds.sizes['frame'] // 96)} tasks" for ds in on_cluster])
same = on_cluster[0]["position"].equals(poses["position"]) and on_cluster[0]["likelihood"].equals(poses["likelihood"])
print("mouse1 on the cluster, in one go, is identical to the interrupted-and-resumed run above:", same)"""),
("md", """## A labeled video

`poselab.io.render.labeled_video` draws every part (likelihood as opacity), the skeleton and fading
trails into a new mp4 with the same frame count and rate, vectorised over points."""),
("code", """labeled = poselab.labeled_video(poses, video, work / "mouse1_labeled.mp4",
                                skeleton=SYNTHETIC_SKELETON, trail_frames=10)
with poselab.open_video(labeled) as reader, poselab.open_video(video) as source:
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

`poselab.live.LiveSession` runs the model on each frame as a camera delivers it (here the video
analyzed above is replayed at its own 30 frames/s, as a rehearsal of a rig would). The newest frame wins:
if the model falls behind, frames are dropped and counted, never queued. `crop_size` runs the
network on a window that follows the animal; `predict_ahead_s` adds a constant-velocity Kalman
prediction of where each part will be when the output acts; a `RegionTrigger` fires when a part
enters a region (here: the mouse's body entering the right third of the arena, where it walks
after resting, would switch a light). Every
pose goes to a Zarr record as the session runs, so a crash loses nothing already seen."""),
("code", """from poselab.live import LiveSession, RegionTrigger, load_record

light = []
trigger = RegionTrigger("body_centre", region=(200, 0, 320, 240),  # pixels: x0, y0, x1, y1
                        hold_frames=3,  # 3 poses in a row on the other side: no flicker at the edge
                        on_enter=lambda pose: light.append(("on", pose.frame)),
                        on_exit=lambda pose: light.append(("off", pose.frame)))
session = LiveSession(model_path, video, crop_size=128, predict_ahead_s=0.0,
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
("code", """poselab.widgets.live_widget(model_path, video, crop_size=128, predict_ahead_s=0.0)"""),
]
nbformat.write(build(cells), Path(__file__).with_name("03_analyze_videos.ipynb"))
