"""Uncertainty quantification for PMMs (`keras_pmm.uq`).

Ensembles, variational PMMs, conformal prediction and calibration metrics
arrive with the uncertainty issue.
"""

__all__ = []
