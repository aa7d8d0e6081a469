"""Live pose for closed-loop experiments: frame by frame from a camera, with forward prediction.

* :class:`LiveSession` / :class:`LiveConfig`: the session (newest frame wins, latency measured
  from capture to pose, processors, Zarr record) (:mod:`poselab.live.session`);
* :func:`open_source`: a camera index or URL, a video file replayed at its frame rate, any
  iterable of frames (:mod:`poselab.live.sources`);
* :class:`ConstantVelocityKalman`: the forward prediction (:mod:`poselab.live.predict`);
* :class:`RegionTrigger`: a processor that fires when a part enters a region
  (:mod:`poselab.live.triggers`);
* :func:`load_record`: the recorded poses, complete even after a crash (:mod:`poselab.live.record`).

Example
-------
>>> from poselab.live import LiveSession, RegionTrigger
>>> trigger = RegionTrigger("snout", region=(400, 0, 640, 240), on_enter=lambda pose: print("in"))
>>> session = LiveSession("models/mouse.onnx", 0, crop_size=256, predict_ahead_s=0.0,
...                       processors=[trigger], record="poses/live.zarr")
>>> print(session.run(duration_s=60))                # 1800 poses at 30.0 frames/s, 0 dropped; ...

The live view in a notebook: :func:`poselab.widgets.live_widget`.
"""

from poselab.live.predict import ConstantVelocityKalman, KalmanConfig
from poselab.live.record import LiveRecorder, load_record
from poselab.live.session import FramePredictor, LiveConfig, LivePose, LiveSession, LiveStats
from poselab.live.sources import (CameraSource, FrameSource, IteratorSource, LiveError, LiveFrame,
                                  VideoFileSource, open_source)
from poselab.live.triggers import Region, RegionTrigger, TriggerEvent

__all__ = [
    "LiveSession", "LiveConfig", "LivePose", "LiveStats", "FramePredictor", "LiveError",
    "open_source", "FrameSource", "LiveFrame", "CameraSource", "VideoFileSource", "IteratorSource",
    "ConstantVelocityKalman", "KalmanConfig", "Region", "RegionTrigger", "TriggerEvent",
    "LiveRecorder", "load_record",
]
