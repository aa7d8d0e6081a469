"""Writes notebooks/07_model_zoo.ipynb (run: python notebooks/make_zoo_notebook.py)."""
from pathlib import Path

import nbformat
from make_analysis_notebooks import build  # this folder is on sys.path when run as a script

HERE = Path(__file__).resolve().parent

cells = [
("md", """# 7. The model zoo: poses before any label, then a few corrections

Until now every model started from ImageNet and needed labeled frames first. `poselab.zoo` holds
pose models that already know an animal. The first, **`topview_mouse`**, was trained by poselab on
its own synthetic worlds (black, brown and white mice, arenas of several sizes, colour and grey
cameras, no real frame), and ships with poselab: no download, no GPU.

1. **zero-shot**: analyze a new video with the zoo model, no labels;
2. the zoo model's predictions go into a project's label store: in the **labeling widget you
   correct** them instead of placing every point;
3. **fine-tune** from the zoo model on those frames, and compare with the same frames trained
   from ImageNet.

The video is a synthetic mouse with a seed the zoo model never saw, so every error is measured
against the truth. On real video (DeepLabCut's openfield mouse), the zoo model's zero-shot
figures are in BENCHMARKS.md. Everything goes into `poselab-work/07-model-zoo/` beside this
notebook, made afresh on each run; it fits a teaching server (2 GiB, one core)."""),
("code", """import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import poselab
from poselab import zoo
from poselab.datasets import synthetic

work = Path("poselab-work") / "07-model-zoo"     # beside this notebook
shutil.rmtree(work, ignore_errors=True)           # only what this notebook made: start afresh
work.mkdir(parents=True)
FINE_TUNE_EPOCHS = 15                             # each fine-tuning run: about a minute on one core"""),
("md", """## The zoo and a model's card

Each model comes with its card: species, camera view, what each keypoint marks, what it was
trained on, its licence and its measured accuracy. `zoo.load` checks the file against the
card's SHA-256 and reads only `.safetensors` files, which hold numbers and never code."""),
("code", """for card in zoo.list():
    print(card.name, "|", card.species, card.view, "view |", card.licence.split(" (")[0])
    print("  keypoints:", ", ".join(card.parts))
    print("  trained on:", card.training_data)
    for what, value in card.accuracy.items():
        print(f"  {what}: {value}")
card = zoo.card("topview_mouse")
card.keypoints["tail_base"], card.aliases["deeplabcut_openfield"]"""),
("md", """## 1. Zero-shot: a new video, no labels

A mouse the zoo model never saw (`seed=7001`, not among its training worlds). `analyze_video`
takes the zoo model as it takes any model."""),
("code", """world = synthetic(work / "new_mouse.mp4", n_frames=60, size=(480, 360), seed=7001)
model = zoo.load("topview_mouse")
poses = poselab.analyze_video(model, world.video, progress=False)

truth = world.poses.position.isel(animal=0)
visible = world.poses.visible.isel(animal=0)
def errors(predicted):
    \"\"\"Distance to the truth (pixels) per part, visible points only.\"\"\"
    d = np.linalg.norm(predicted.position.isel(animal=0).sel(part=truth.part) - truth, axis=-1)
    return np.where(visible.sel(part=truth.part).values, d, np.nan)
zero_shot = errors(poses)
body = [p for p in truth.part.values if "paw" not in p]
print(f"zero-shot median error: body {np.nanmedian(zero_shot[[list(truth.part.values).index(p) for p in body]]):.1f} px, "
      f"all parts {np.nanmedian(zero_shot):.1f} px")
for part, e in zip(truth.part.values, zero_shot):
    print(f"  {part:15s} median {np.nanmedian(e):5.1f} px   90th percentile {np.nanpercentile(e, 90):5.1f} px")"""),
("code", """import cv2
frame = 30
cap = cv2.VideoCapture(str(world.video)); cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
rgb = cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB); cap.release()
xy = poses.position.isel(animal=0).sel(frame=frame).values
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.imshow(rgb); ax.scatter(*truth.sel(frame=frame).values.T, s=40, facecolors="none", edgecolors="w", label="truth")
ax.scatter(*xy.T, s=12, c="r", label="zoo model, zero-shot"); ax.legend(loc="lower left"); ax.axis("off")
x0, y0 = np.nanmin(xy, 0) - 40; x1, y1 = np.nanmax(xy, 0) + 40
ax.set_xlim(x0, x1); ax.set_ylim(y1, y0); plt.show()"""),
("md", """## 2. Correct the zoo model's predictions instead of placing every point

A project with the keypoints *you* want, here four (DeepLabCut's openfield names: `leftear`, not
`left_ear`). `zoo.load(..., parts=project.parts)` carries the zoo model's keypoints over by name
(case, `_` and synonyms such as `nose`/`snout` ignored; or give a table). The predictions on the
frames to label go into the label store (`write_predictions`), and the **labeling widget** shows
them: drag a wrong point to where it belongs, and your correction is saved as a person's label."""),
("code", """from poselab.project import Project

project = Project.create(work / "project", ["snout", "leftear", "rightear", "tailbase"],
                         videos=[world.video], flip_pairs=[["leftear", "rightear"]])
mine = zoo.load("topview_mouse", parts=project.parts)
print(mine.card["keypoint_source"])
predicted = poselab.analyze_video(mine, world.video, progress=False)
frames = list(range(0, 60, 6))                               # 10 frames to label
images = project.write_predictions(predicted, frames, min_likelihood=0.5)
widget = project.label()
widget"""),
("md", """### Correcting, from code here (drag the points in the widget)

What a drag does, `session.move(part, x, y)` does. As a stand-in for your eye, every predicted
point more than 3 pixels from the truth is moved onto it, and a missing visible point is placed."""),
("code", """names = {"snout": "snout", "leftear": "left_ear", "rightear": "right_ear", "tailbase": "tail_base"}
session = widget.session
moved = placed = 0
for i in range(len(session.images)):
    session.goto(i)
    frame = session.image.frame
    for part, true_name in names.items():
        x, y = truth.sel(part=true_name, frame=frame).values
        if not visible.sel(part=true_name, frame=frame):
            continue
        have = session.points().get(part)
        if have is None or have[0] is None:
            session.select_part(part); session.place(float(x), float(y)); placed += 1
        elif np.hypot(have[0] - x, have[1] - y) > 3:
            session.move(part, float(x), float(y)); moved += 1
widget.refresh()
total = sum(visible.sel(part=list(names.values()), frame=f).values.sum() for f in frames)
print(f"{moved} points corrected and {placed} placed by hand, of {int(total)}: "
      f"the zoo model placed the other {int(total) - moved - placed}")"""),
("md", """## 3. Fine-tune from the zoo model, and compare with ImageNet

`Recipe.for_data(data, init_from=zoo.load(...))` starts from the zoo model (its keypoints carried
over, any new one learned from the labels); the model card records where it started. The same
frames, recipe and epochs from ImageNet show what the zoo model is worth. (The training widget
takes `init_from="topview_mouse"` too, and `adapt=True` to adapt it to the project's videos
first.)

On this synthetic video the zoo model needed hardly a correction: it is the world it learned
from. Fine-tuning it on 10 frames then costs a little accuracy, where the same 10 frames from
ImageNet are far from it: check a fine-tuned model against held-out frames before you trust
it. Real video is another matter: on DeepLabCut's openfield mouse the zoo model is 7.5 px off
(median) before any label, and 10 labeled frames bring it to 4.3 px RMSE, where ImageNet with
the same 10 frames gives 9.5 px (BENCHMARKS.md)."""),
("code", """from poselab.model import Recipe, TrainConfig, train
from poselab.model.recipe import project_images

data = project_images(project)
results, cards = {}, {}
for start in ("zoo model", "ImageNet"):
    init = zoo.load("topview_mouse") if start == "zoo model" else None
    recipe = Recipe.for_data(data, init_from=init, input_size=192,
                             train=TrainConfig(epochs=FINE_TUNE_EPOCHS, batch_size=4, progress=False))
    tuned = recipe.model(project.parts, flip_pairs=project.config.flip_pairs)
    train(tuned, data, recipe.train)
    results[start], cards[start] = poselab.analyze_video(tuned, world.video, progress=False), tuned.card
print("the fine-tuned zoo model's card:", {k: cards["zoo model"]["init_from"][k] for k in ("zoo", "parts")})
print("the ImageNet run's card has no init_from:", "init_from" not in cards["ImageNet"])"""),
("code", """def project_errors(predicted):
    d = np.linalg.norm(predicted.position.isel(animal=0).values
                       - truth.sel(part=list(names.values())).values, axis=-1)
    return np.where(visible.sel(part=list(names.values())).values, d, np.nan)

rows = {"zero-shot (no labels)": project_errors(predicted)}
rows.update({f"fine-tuned from {k}, {len(data)} frames": project_errors(v) for k, v in results.items()})
for name, e in rows.items():
    print(f"{name:42s} median {np.nanmedian(e):5.2f} px   within 5 px {np.nanmean(e[np.isfinite(e)] <= 5):6.1%}")
zoo_tuned = np.nanmedian(rows[f"fine-tuned from zoo model, {len(data)} frames"])
imagenet_tuned = np.nanmedian(rows[f"fine-tuned from ImageNet, {len(data)} frames"])"""),
("md", """## Exercises

1. Label only 3 frames (`frames = [0, 20, 40]`) and fine-tune again: how much does the zoo start
   help now, and the ImageNet start?
2. `zoo.adapt_to_video(model, world.video)` fine-tunes the zoo model on its own confident,
   consistent predictions (no labels at all). Compare its zero-shot error with the original's.
3. Give `zoo.load` a table for a keypoint it cannot guess by name, e.g. a project part
   `"tail_end"`: `zoo.load("topview_mouse", parts=[..., "tail_end"], table={"tail_tip": "tail_end"})`."""),
]


def main() -> None:
    nbformat.write(build(cells), HERE / "07_model_zoo.ipynb")


if __name__ == "__main__":
    main()
