"""The sequential loop's layer: what drives the simulator and the estimator together."""

from .calibration_run import CalibrationReplicate, calibration_replicates, run_calibration

__all__ = ["CalibrationReplicate", "calibration_replicates", "run_calibration"]
