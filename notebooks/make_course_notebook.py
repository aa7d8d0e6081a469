"""Write the course notebook (a 90-minute lab: from a video to gait) from the cells below.

    .venv/bin/python notebooks/make_course_notebook.py

The notebook keeps its files in ``poselab-work/course`` beside it and can be run again from the
top (it opens what it made before). ``POSELAB_COURSE_MINUTES`` sets the training budget
(10 minutes for students; ``make test`` runs it with 1 minute).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent
NAME = "course_video_to_gait.ipynb"

CELLS = [
    ("md", """# Lab: from a video of a walking mouse to its gait (90 minutes)

You will do what a pose-estimation study does, end to end, on a short video of a mouse
(a synthetic one: poselab knows the truth, so you can check every step):

| step | what you do | about |
|---|---|---|
| 1 | look at the video and the project | 5 min |
| 2 | **label 20 frames** in the labeling widget (7 body parts each) | 25 min |
| 3 | **train** a pose model in the background (keep working meanwhile) | 10 min of computing |
| 4 | **analyze** the whole video and check the error against the truth | 3 min |
| 5 | **filter** the tracks, plot the **trajectory** and the **speed** | 10 min |
| 6 | **gait**: stance and swing of each paw, strides, duty factor | 15 min |
| 7 | exercises | the rest |

Everything is saved in `poselab-work/course/` beside this notebook: close the tab, come back
tomorrow, run the cells again from the top and you find your labels and your model where you
left them. On a teaching server you have 1 CPU and 2 GiB of memory; the memory in use shows at
the bottom of JupyterLab."""),
    ("code", """import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import poselab
from poselab.analysis import filters, gait, kinematics, plots
from poselab.core.resources import allowed_resources
from poselab.datasets import synthetic, load_synthetic

print("this server gives you:", allowed_resources())
work = Path("poselab-work") / "course"
work.mkdir(parents=True, exist_ok=True)
print("your files are in", work.resolve())
video = work / "mouse.mp4"
world = load_synthetic(video) if video.exists() else synthetic(video, n_frames=300, seed=0)
truth = world.poses["position"].isel(animal=0)   # where every part really is (pixels)
print(f"{world.poses.sizes['frame']} frames at {world.poses.attrs.get('fps', 30)} frames/s")"""),
    ("md", """## 1. The project

A project is a folder: the video, the frames to label, the labels (saved at every click in a
SQLite file) and the models. We track 7 parts: the snout, the body centre, the base of the
tail and the four paws. `select_frames` picks 20 frames that look different from each other
(k-means on small thumbnails), so that the model sees the animal in many postures."""),
    ("code", """PARTS = ["snout", "body_centre", "tail_base",
         "left_fore_paw", "right_fore_paw", "left_hind_paw", "right_hind_paw"]
PAWS = PARTS[3:]
if (work / "project").exists():
    project = poselab.Project.open(work / "project")
else:
    project = poselab.Project.create(
        work / "project", PARTS, videos=[video],
        skeleton=[["snout", "body_centre"], ["body_centre", "tail_base"],
                  ["body_centre", "left_fore_paw"], ["body_centre", "right_fore_paw"],
                  ["tail_base", "left_hind_paw"], ["tail_base", "right_hind_paw"]],
        flip_pairs=[["left_fore_paw", "right_fore_paw"], ["left_hind_paw", "right_hind_paw"]])
    project.select_frames(n=20, method="kmeans", seed=0)
project"""),
    ("md", """## 2. Label 20 frames

* **click** the image to place the active part (then the next part becomes active);
* **drag** a point to move it; the buttons choose the part;
* keys, with the mouse over the image: `n` next frame, `p` previous, `x` delete, `o` occluded
  (a paw hidden under the body), `z` pan/zoom (the orange line says when it is on).

Look closely at the paws: they are small and move fast. A wrong label teaches the model a
wrong answer, so zoom in (`z`, then the mouse wheel) when you are not sure.

**Exercise 1.** Label at least 10 frames yourself. Where is the *body centre* when the mouse
turns? Write down how you decided."""),
    ("code", """labeler = project.label()
labeler"""),
    ("code", """# How good are your labels? The distance of each point you placed to the truth (pixels).
err = [np.hypot(*(np.array(xy[:2]) - truth.sel(part=part, frame=record.frame).values))
       for record in project.labels.images()
       for (_, part), xy in project.labels.points(record.image).items()]
if err:
    print(f"{len(err)} points placed; median distance to the truth {np.median(err):.2f} px, "
          f"worst {np.max(err):.1f} px")
else:
    print("no points placed yet")"""),
    ("md", """Short of time? The next cell fills **only the points you did not place** with the true
positions (this video is synthetic, so the truth is known; in your own study you would label
them). It never changes a point you placed."""),
    ("code", """store, animal = project.labels, project.animals[0]
filled = 0
for record in store.images():
    placed = store.points(record.image)
    missing = {(animal, part): tuple(float(v) for v in truth.sel(part=part, frame=record.frame).values)
               for part in PARTS if (animal, part) not in placed}
    if missing:
        store.set_points(record.image, missing)     # only these: a placed or occluded point stays as it is
        filled += len(missing)
labeler.refresh()
print(f"filled {filled} points; {labeler.session.progress()}")"""),
    ("md", """## 3. Train a pose model

The model is a small convolutional network (EfficientNet-Lite0, pretrained on ImageNet) with
a head that draws one score map per part. Press **start training** in the widget, or run the
cell after it, which starts training if you have not clicked and waits for it. Training runs
in the background: while it runs, scroll up and look at your labels again. The curves show the
training loss and the error on the labeled frames held out from training (test RMSE, pixels)."""),
    ("code", """from poselab.model import Recipe, TrainConfig

TRAIN_MINUTES = float(os.environ.get("POSELAB_COURSE_MINUTES", 10))
trainer = project.train_widget(
    name="course", minutes=TRAIN_MINUTES,
    recipe=Recipe(scale=0.5, input_size=192,        # half-size images: 4x faster on one CPU
                  # batch 4: 0.27 GiB less memory than 8, as accurate (benchmarks/course_batch_size.py)
                  train=TrainConfig(batch_size=4, lr=2e-3, eval_every=5, seed=0)))
trainer"""),
    ("code", """trainer.start()                  # does nothing if you clicked "start training" already
print(trainer.session.wait())    # waits for the end of training
print(trainer.session.status())"""),
    ("md", """## 4. Analyze the whole video

`analyze_video` runs the model on every frame and returns the pose Dataset: `position`
(pixels) and `likelihood` (0-1) for each frame, animal and part. Because the video is
synthetic we can say how far each predicted point is from the truth."""),
    ("code", """poses = poselab.analyze_video(trainer.session.best_path, video, out=work / "poses.nc", progress=False)
error = np.linalg.norm(poses["position"].isel(animal=0).sel(part=PARTS).values
                       - truth.sel(part=PARTS).values, axis=-1)          # (part, frame), pixels
for part, e in zip(PARTS, error):
    print(f"{part:15s} median {np.nanmedian(e):5.2f} px, 90th percentile {np.nanpercentile(e, 90):5.2f} px")
print(f"all parts: {100 * np.nanmean(error < 5):.0f} % of points within 5 px")"""),
    ("md", """**Exercise 2.** Which parts are hardest, and why? Find a frame with a large paw error
(`np.nanargmax(error[3])`) and look at it with `project.review(poses)`."""),
    ("md", """## 5. Filter; trajectory and speed

Pose tracks jitter from frame to frame. We drop points the model is unsure of
(likelihood < 0.5), bridge short gaps and smooth with a Savitzky-Golay filter (a local
polynomial over a window of frames). `filters.smoothing_windows` (what `window_frames="auto"`
uses) chooses the window for each part from its own jitter: wide for a noisy track, none for
a precise one, because smoothing a paw that swings in 3 frames would spread its swing. Speed is
then in pixels per second."""),
    ("code", """clean = filters.interpolate_gaps(filters.mask_by_likelihood(poses, 0.5), 5)
windows = filters.smoothing_windows(clean)          # what window_frames="auto" chooses
smooth = filters.savgol(clean, window_frames=windows)
print("window per part (frames):", dict(zip(PARTS, windows.sel(part=PARTS).values[0].tolist())))
speed = kinematics.speed(smooth["position"].sel(part="body_centre"))
true_speed = kinematics.speed(world.poses["position"].sel(part="body_centre"))
print(f"median speed {float(speed.median()):.0f} px/s (truth {float(true_speed.median()):.0f} px/s)")
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
plots.trajectory(world.poses.sel(part=PARTS).assign_coords(animal=["truth"]), ax=axes[0])
plots.trajectory(smooth.assign_coords(animal=["your model"]), ax=axes[0])
plots.speed_over_time(smooth, ax=axes[1])
fig.tight_layout()"""),
    ("md", """**Exercise 3.** Set `window_frames` to 7 and then to 15 for every part. What happens to the
speed curve and its peaks, and (after running section 6) to the stance diagram? Which would you
report, and why?"""),
    ("md", """## 6. Gait

A paw is in **stance** when it is on the ground (still) and in **swing** when it moves.
`gait.stance` decides this per frame from the paw's speed relative to its own noise; the
diagram shows stance in black. `stride_table` cuts the walk into strides of the left hind
paw: duration, stride length, **duty factor** (the share of the stride in stance) and the
phase of the other paws."""),
    ("code", """st = gait.stance(smooth, PAWS)
true_st = world.gait["stance"].sel(paw=PAWS)
walking = np.isin(world.behaviour.values, [1, 2])[:, None, :].repeat(len(PAWS), 1)  # walking, turning
agree = (st.values == true_st.values)[walking]
print(f"stance right in {100 * agree.mean():.0f} % of the paw-frames of walking bouts")
fig, axes = plt.subplots(2, 1, figsize=(10, 4), sharex=True)
plots.gait_diagram(st, ax=axes[0]); axes[0].set_title("your model")
plots.gait_diagram(true_st, ax=axes[1]); axes[1].set_title("truth")
fig.tight_layout()"""),
    ("code", """strides = gait.stride_table(smooth, PAWS, reference="left_hind_paw", st=st)
true_strides = gait.stride_table(world.poses, PAWS, reference="left_hind_paw", st=true_st)
for name, table in (("your model", strides), ("truth", true_strides)):
    summary = gait.gait_summary(table, max_duration_s=1.0)
    if len(summary):
        row = summary.iloc[0]
        print(f"{name:10s}: {len(table)} strides, duty factor {row['duty_factor']:.2f}, "
              f"stride length {row['stride_length']:.0f} px")
    else:
        print(f"{name:10s}: no complete stride found")"""),
    ("md", """**Exercise 4.** Is the duty factor of your model's tracks close to the truth? Train
longer (`TRAIN_MINUTES = 20`) or label 10 more frames (`project.select_frames(n=10)`, then the
labeling widget) and compare. Which helps the paws more?

**Exercise 5.** A mouse walking faster has a lower duty factor. Plot the duty factor of each
stride against the body speed (`plots.stride_vs_speed(strides, "duty_factor")`). Do you see it?

## What you did

Labeled frames, trained a network, tracked every frame, filtered, and measured speed and gait,
each step checked against the truth. Your own videos go through the same cells: replace the
synthetic video by yours and label its frames (`project.select_frames`)."""),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in CELLS]
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes only what changed
        cell.id = f"cell-{i:02d}"
    return nb


def main() -> None:
    nbformat.write(build(), HERE / NAME)


if __name__ == "__main__":
    main()
