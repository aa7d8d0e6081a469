"""Write notebooks 04 (kinematics and gait) and 05 (behaviour) from the cells below.

    .venv/bin/python notebooks/make_analysis_notebooks.py

Each notebook runs on synthetic worlds with ground truth in about 2 minutes on one CPU core (04 analyzes
its video with the zoo model)
(``pytest --nbmake notebooks/04_kinematics_and_gait.ipynb notebooks/05_behaviour.ipynb``).
"""
from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

NB04 = [
    ("md", """# 04 · Kinematics and gait
From a video to the gait, on a network's own output: the model zoo's `topview_mouse` (trained
on other synthetic worlds only, so no label is needed here) analyzes a synthetic video whose
truth is known; then filters (the documented chain, and the likelihood-weighted state-space
smoother on a noisier copy), speed and heading, automatic stance/swing, strides, a per-animal
gait summary with circular inter-limb phases, each compared with the world's truth. With your
own model, `poses = poselab.load_poses("poses/mouse.nc")` takes the place of the analysis.

Its files go to `poselab-work/04-kinematics-and-gait/` beside this notebook; that folder holds
only what the notebook makes, so each run starts it afresh."""),
    ("code", """import shutil, numpy as np, matplotlib.pyplot as plt
from pathlib import Path
from poselab import zoo
from poselab.datasets import synthetic
from poselab.inference import analyze_video
from poselab.analysis import filters, kinematics, gait, plots
work = Path('poselab-work') / '04-kinematics-and-gait'   # beside this notebook
shutil.rmtree(work, ignore_errors=True)                  # only what this notebook makes: start afresh
print('working in', work.resolve())
w = synthetic(work / 'world.mp4', n_frames=450, seed=0)
truth_pos = w.poses['position']
model = zoo.load('topview_mouse')                        # shipped with poselab; no download
predicted = analyze_video(model, w.video, out=work / 'poses.nc')   # about 2 minutes on one core
error = np.linalg.norm(predicted['position'].values - truth_pos.values, axis=-1)   # px
paw = np.isin(predicted['part'].values, [str(p) for p in w.gait['paw'].values])
for name, e in (('paws', error[:, paw]), ('body', error[:, ~paw])):
    print(f"{name}: median {np.nanmedian(e):.2f} px, 90th percentile {np.nanpercentile(e, 90):.2f} px")"""),
    ("md", """## Filters against the truth
The documented chain: `mask_by_likelihood` (NaN below a cut-off), `interpolate_gaps` (short gaps
only) and `savgol(..., "auto")`, which picks for each track the Savitzky-Golay window with the
least expected error from the track's own noise (none for a precise paw, whose 3-frame swings a
fixed 7-frame window would spread). `kalman_smooth` is a constant-velocity state-space model
(statsmodels) whose observation variance is `measurement_noise^2 / likelihood`, so
low-likelihood points barely pull the track and gaps are bridged: it is shown on a noisier copy
of the truth with outliers and dropouts, as a poorer model would give."""),
    ("code", """def rmse(d):
    e = np.linalg.norm(d['position'].values - truth_pos.sel(part=d['part']).values, axis=-1)
    return float(np.sqrt(np.nanmean(e ** 2)))
ds = filters.savgol(filters.interpolate_gaps(filters.mask_by_likelihood(predicted, 0.5), 5), 'auto')
print(f"network {rmse(predicted):.2f} px, after the chain {rmse(ds):.2f} px")
print('windows chosen (frames):', dict(zip(ds['part'].values, filters.smoothing_windows(predicted).values[0])))
rng = np.random.default_rng(0)
noisy = w.poses.copy()                                   # a poorer model: 1.5 px noise, 3 % outliers
pos = truth_pos.values + rng.normal(0, 1.5, truth_pos.shape)
lik = np.ones(pos.shape[:3])
bad = rng.random(lik.shape) < 0.03                      # outliers, flagged by a low likelihood
pos[bad] += rng.normal(0, 15, (bad.sum(), 2)); lik[bad] = 0.1
pos[rng.random(lik.shape) < 0.02] = np.nan              # 2% dropouts
noisy['position'] = (truth_pos.dims, pos); noisy['likelihood'] = (w.poses['likelihood'].dims, lik)
quick = filters.savgol(filters.interpolate_gaps(filters.mask_by_likelihood(noisy, 0.5), 10), 7, 2)
ks = filters.kalman_smooth(noisy.sel(part=['body_centre', 'left_hind_paw']), fill_gaps=True)
print(f"noisy copy: raw {rmse(noisy):.2f} px, mask+interpolate+savgol {rmse(quick):.2f} px; kalman (2 parts) "
      f"{rmse(ks):.2f} px vs savgol on the same parts {rmse(quick.sel(part=['body_centre', 'left_hind_paw'])):.2f} px")"""),
    ("md", "## Speed and heading"),
    ("code", """fig, axes = plt.subplots(1, 2, figsize=(10, 3))
plots.trajectory(ds, ax=axes[0])
plots.speed_over_time(ds, ax=axes[1])
axes[1].plot(ds['time'], w.gait['speed'].isel(animal=0), 'k--', lw=0.8, label='truth')
axes[1].legend();
hd = kinematics.heading(ds, 'tail_base', 'neck')
print('heading range (rad):', float(hd.min()), float(hd.max()))"""),
    ("md", """## Stance / swing
A paw is in stance when it is fixed in the world: a frame is stance when it belongs to a
3-frame window whose positions all lie within 2 noise standard deviations of their mean. The
noise is estimated per paw from its own track (robust MAD of frame-to-frame steps), so the
threshold adapts to each paw. The edges of each stance run are then refined against its
foothold (the run's median position): a neighbouring frame belongs to the run while the paw's
displacement along the step direction stays within 3 SD of the positional noise. In groom and rear bouts the synthetic fore paws are off the
ground yet often still, which a top view cannot tell from stance, so accuracy is also shown for
the stepping (walk, turn) bouts."""),
    ("code", """paws = [str(p) for p in w.gait['paw'].values]
st = gait.stance(ds, paws)
truth_st = w.gait['stance'].sel(paw=paws)
ok = st.values == truth_st.values
stepping = np.isin(w.behaviour.values, [1, 2])[:, None, :].repeat(len(paws), 1)
print(f"stance accuracy: all frames {ok.mean():.3f}, stepping bouts {ok[stepping].mean():.3f}")
fig, axes = plt.subplots(2, 1, figsize=(10, 4), sharex=True)
plots.gait_diagram(st, ax=axes[0]); axes[0].set_title('detected')
plots.gait_diagram(truth_st, ax=axes[1]); axes[1].set_title('truth'); fig.tight_layout()"""),
    ("md", """## Strides and the gait summary
One row per stride of the reference paw: duration, cadence, stride length, stance and swing
durations, duty factor, step width (across the direction of travel, to the contralateral paw),
body speed and the phase of every other paw. `gait_summary` gives per-animal means and, for
phases, the circular mean and resultant length (1 = the same phase every stride)."""),
    ("code", """tab = gait.stride_table(ds, paws, reference='left_hind_paw', st=st)
ttab = gait.stride_table(w.poses, paws, reference='left_hind_paw', st=truth_st)
tab.head()"""),
    ("code", """import pandas as pd
summary = pd.concat([gait.gait_summary(tab, max_duration_s=1.0).assign(source='detected'),
                     gait.gait_summary(ttab, max_duration_s=1.0).assign(source='truth')])
summary.set_index('source').drop(columns='animal').T.round(3)"""),
    ("code", """fig = plt.figure(figsize=(10, 3.5))
plots.stride_vs_speed(tab[tab.duration_s <= 1.0], 'cadence_hz', ax=fig.add_subplot(1, 2, 1))
s = gait.gait_summary(tab, max_duration_s=1.0).iloc[0]
phases = {p: (s[f'phase_{p}_mean'], s[f'phase_{p}_r']) for p in paws if p != 'left_hind_paw'}
plots.phase_polar(phases, ax=fig.add_subplot(1, 2, 2, projection='polar'))
print({p: round(float(m), 3) for p, (m, r) in phases.items()}, 'truth offsets: LF 0.25, RH 0.5, RF 0.75')"""),
]

NB05 = [
    ("md", """# 05 · Behaviour
Egocentric window features from poses, unsupervised states (change points, and a Gaussian HMM
started from them) fitted across two sessions, a supervised classifier from a few labeled
bouts of another session, per-frame, boundary and bout-level scores against the synthetic
world's truth, and exports for keypoint-MoSeq, B-SOiD and SimBA.

Its files go to `poselab-work/05-behaviour/` beside this notebook; that folder holds only what
the notebook makes, so each run starts it afresh."""),
    ("code", """import shutil, numpy as np, matplotlib.pyplot as plt
from pathlib import Path
from poselab.datasets import synthetic
from poselab.analysis import behaviour as bh, filters, plots
work = Path('poselab-work') / '05-behaviour'   # beside this notebook
shutil.rmtree(work, ignore_errors=True)        # only what this notebook makes: start afresh
print('working in', work.resolve())
def session(seed):
    w = synthetic(work / f'world{seed}.mp4', n_frames=600, seed=seed)
    rng = np.random.default_rng(seed)
    ds = w.poses.copy()
    pos = ds['position'].values + rng.normal(0, 1.5, ds['position'].shape)
    pos[rng.random(pos.shape[:3]) < 0.02] = np.nan
    ds['position'] = (ds['position'].dims, pos)
    return w, filters.savgol(filters.interpolate_gaps(ds, 10), 7, 2)
(w1, ds1), (w2, ds2) = session(1), session(2)
truths = [w1.behaviour.isel(animal=0).values, w2.behaviour.isel(animal=0).values]
print(w1.states)"""),
    ("md", """## Features
Per frame, in body lengths (so sessions at other scales compare): body speed (norm of the
window-mean velocity, so keypoint noise does not add up while the animal is slow), forward speed,
turning rate, body length (rearing shortens it), fore paws to nose (grooming), fore paws ahead
of the centre, fore-paw motion in the body frame, hind-paw speed; averaged over 0.33 s."""),
    ("code", """f1, f2 = bh.pose_features(ds1), bh.pose_features(ds2)
f1.to_pandas().describe().T.round(2)"""),
    ("md", """## Unsupervised states across both sessions
`segment` standardises the sessions together, finds change points (PELT, ruptures), clusters the
segments (k-means, scikit-learn) and starts a Gaussian HMM's EM (hmmlearn, one model for both
sessions) from them. States are matched to the truth with the Hungarian algorithm only to score
them."""),
    ("code", """k = 5
hmm = bh.segment([f1.values, f2.values], k)
cp = bh.segment([f1.values, f2.values], k, method='changepoint')
for name, pred in (('HMM', hmm), ('change points', cp)):
    m = np.split(bh.match_states(np.concatenate(pred), np.concatenate(truths)), [len(truths[0])])
    print(f"{name}: frame accuracy {np.mean(np.concatenate(m) == np.concatenate(truths)):.3f}, "
          f"boundary F1 (5 frames) {np.mean([bh.boundary_f1(p, t, 5) for p, t in zip(m, truths)]):.3f}, "
          f"bout F1 {np.mean([bh.bout_scores(p, t)['macro'][2] for p, t in zip(m, truths)]):.3f}")
    if name == 'HMM':
        matched = m
plots.ethogram(matched[0], names=w1.states, truth=truths[0], time=ds1['time'].values);"""),
    ("md", """## Supervised from a few labeled bouts
Label the first bout of each behaviour in a third session, fit `BoutClassifier`
(Gaussian classes, sticky Viterbi decoding) and apply it to the two sessions above."""),
    ("code", """w3, ds3 = session(3)
t3 = w3.behaviour.isel(animal=0).values
labels = np.full(t3.shape, -1); seen = {}
for s, e, c in bh.bouts(t3):
    if seen.get(c, 0) < 1:
        labels[s:e] = c; seen[c] = seen.get(c, 0) + 1
print('labeled frames:', int((labels >= 0).sum()), 'of', labels.size)
clf = bh.BoutClassifier().fit(bh.pose_features(ds3).values, labels)
for f, t in ((f1, truths[0]), (f2, truths[1])):
    p = clf.predict(f.values)
    scores = bh.frame_scores(p, t)
    print(f"frame accuracy {scores['accuracy']:.3f}, bout P/R/F1 (macro) "
          f"{tuple(round(v, 3) for v in bh.bout_scores(p, t)['macro'])}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
plots.ethogram(p, names=w1.states, truth=t, ax=axes[0])
plots.bout_durations(p, fps=ds2.attrs['fps'], names=w1.states, ax=axes[1]); fig.tight_layout()"""),
    ("md", """## Export
`poselab.io.behaviour_tools` writes the inputs of other behaviour tools: keypoint-MoSeq takes the
coordinate and confidence dicts; B-SOiD and SimBA read DeepLabCut CSV files (unknown points
written as 0, 0 with likelihood 0)."""),
    ("code", """from poselab.io import behaviour_tools
coords, confs, parts = behaviour_tools.to_keypoint_moseq(ds1)
print({k: v.shape for k, v in coords.items()}, parts[:3])
print([p.name for p in behaviour_tools.to_bsoid(ds1, work / 'bsoid')],
      behaviour_tools.to_simba(ds1, work / 'simba').name)
print(open(behaviour_tools.to_simba(ds1, work / 'simba')).read().splitlines()[2][:80])"""),
]


def build(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md"
                else nbformat.v4.new_code_cell(src) for kind, src in cells]
    for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes only what changed
        cell.id = f"cell-{i:02d}"
    return nb


def main() -> None:
    nbformat.write(build(NB04), HERE / "04_kinematics_and_gait.ipynb")
    nbformat.write(build(NB05), HERE / "05_behaviour.ipynb")


if __name__ == "__main__":
    main()
