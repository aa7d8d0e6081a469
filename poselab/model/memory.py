"""What a step of a pose model needs in memory on the CPU, measured: the tables that training,
evaluation and video analysis fit their batch sizes to (:func:`poselab.core.resources.fit_batch_to_memory`).

Each entry is ``fixed + batch * pixels * bytes_per_pixel`` (:class:`~poselab.core.resources.StepMemory`),
fitted with ``benchmarks/batch_memory.py`` and raised by 25 %; backbones not measured get the
largest entry (:func:`~poselab.core.resources.step_memory`).
"""

from __future__ import annotations

from poselab.core.resources import StepMemory

__all__ = ["ANALYSIS_MEMORY", "TRAIN_MEMORY"]

# One training step (augmentation, forward, backward, AdamW update): bytes per network-input
# pixel of each image in the batch, and fixed bytes (gradients, AdamW state). Fitted on 2026-12-05
# (peak RSS growth in fresh processes, one torch thread, torch 2.14 on a 2-core x86 CPU): lite0
# from 10 cases of 128-320 px crops and 2-16 images (1837 B/px + 104 MB), lite1 and lite2 from
# 3 cases each (--quick). train() lowers the batch size to fit.
TRAIN_MEMORY: dict[str, StepMemory] = {
    "tf_efficientnet_lite0": StepMemory(bytes_per_pixel=2296, fixed_bytes=130e6),
    "tf_efficientnet_lite1": StepMemory(bytes_per_pixel=2923, fixed_bytes=140e6),  # 2338 B/px + 112 MB
    "tf_efficientnet_lite2": StepMemory(bytes_per_pixel=3287, fixed_bytes=129e6),  # 2630 B/px + 103 MB
}

# A forward pass over whole frames, as video analysis runs it (decoded frames in the queue, the
# network's batch, the decoder, the results): bytes per network-input pixel of each frame in a
# batch, and fixed bytes. Fitted on 2026-12-05 (peak RSS growth of analyze_video in a process
# that has trained first, as a notebook does: up to 2x a fresh process's growth for small
# batches, as glibc keeps more of the freed memory; one torch thread, torch 2.14, a 2-core x86
# CPU): lite0 from 8 cases of 320x240-1280x720 frames and 1-32 frames a batch (304 B/px +
# 296 MB; a fresh process: 277 B/px + 127 MB), lite1 and lite2 from 3 cases each (--quick).
# analyze_video lowers its batch size to fit, and so does the scoring of test images in training.
ANALYSIS_MEMORY: dict[str, StepMemory] = {
    "tf_efficientnet_lite0": StepMemory(bytes_per_pixel=380, fixed_bytes=370e6),
    "tf_efficientnet_lite1": StepMemory(bytes_per_pixel=445, fixed_bytes=403e6),  # 356 B/px + 322 MB
    # lite2's 3 cases fitted 340 B/px + 343 MB, below lite1's per pixel: lite1's kept (generous)
    "tf_efficientnet_lite2": StepMemory(bytes_per_pixel=445, fixed_bytes=428e6),
}
