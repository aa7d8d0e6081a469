"""What every layer shares: the pose Dataset (:mod:`poselab.core.poses`), the error base
class (:mod:`poselab.core.errors`), atomic file writes (:mod:`poselab.core.files`) and the one
input validator (:mod:`poselab.core.validate`)."""
