"""Analysis of pose Datasets: small functions that check their input and keep units.

- :mod:`~poselab.analysis.filters`: likelihood masks, gap filling, smoothing, Kalman filters;
- :mod:`~poselab.analysis.kinematics`: velocity, speed, path length, angles (dask-safe);
- :mod:`~poselab.analysis.gait`: stance and swing, stride tables, inter-limb phase;
- :mod:`~poselab.analysis.behaviour`: pose features, unsupervised and supervised segmentation;
- :mod:`~poselab.analysis.outliers`: scores of frames where a model is probably wrong;
- :mod:`~poselab.analysis.plots`: the figures people look at (matplotlib).

Usage: ``from poselab.analysis import filters, kinematics, gait, behaviour, plots``.
"""

from __future__ import annotations

from poselab.analysis import behaviour, filters, gait, kinematics, outliers, plots

__all__ = ["behaviour", "filters", "gait", "kinematics", "outliers", "plots"]
