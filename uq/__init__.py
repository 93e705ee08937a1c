"""Uncertainty quantification for PMMs (`keras_pmm.uq`).

- `DeepEnsemble`: M independently trained PMMs as one saveable model.
- Conformal prediction: `SplitConformalRegressor` (intervals),
  `SplitConformalClassifier` (APS / RAPS sets), `conformal_quantile`,
  `coverage`.
- Calibration: `expected_calibration_error`, `negative_log_likelihood`,
  `brier_score`, `predictive_entropy`, `mutual_information`, `auroc`,
  `ood_auroc`, `fit_temperature`, `apply_temperature`,
  `reliability_diagram`.
- Bayesian PMMs: `BayesianImagePMMClassifier`, the variational layers
  `VariationalAffineHermitian`, `VariationalClassHamiltonians`,
  `VariationalObservableReadout`, priors `GaussianPrior`, `GOEPrior`,
  `GUEPrior`, and `set_kl_weight`.
- `predict_with_uncertainty`: mean, total and epistemic uncertainty and
  conformal sets or intervals of any model in one call.
- `GaussianNLL`: the loss of mean / variance regression heads.
"""

from keras_pmm import _registration
from keras_pmm.uq.bayesian import BayesianImagePMMClassifier
from keras_pmm.uq.calibration import apply_temperature
from keras_pmm.uq.calibration import fit_temperature
from keras_pmm.uq.calibration import reliability_diagram
from keras_pmm.uq.conformal import SplitConformalClassifier
from keras_pmm.uq.conformal import SplitConformalRegressor
from keras_pmm.uq.conformal import conformal_quantile
from keras_pmm.uq.conformal import coverage
from keras_pmm.uq.ensemble import DeepEnsemble
from keras_pmm.uq.losses import GaussianNLL
from keras_pmm.uq.metrics import auroc
from keras_pmm.uq.metrics import brier_score
from keras_pmm.uq.metrics import calibration_curve
from keras_pmm.uq.metrics import classification_report
from keras_pmm.uq.metrics import expected_calibration_error
from keras_pmm.uq.metrics import mutual_information
from keras_pmm.uq.metrics import negative_log_likelihood
from keras_pmm.uq.metrics import ood_auroc
from keras_pmm.uq.metrics import predictive_entropy
from keras_pmm.uq.predict import predict_with_uncertainty
from keras_pmm.uq.priors import GaussianPrior
from keras_pmm.uq.priors import GOEPrior
from keras_pmm.uq.priors import GUEPrior
from keras_pmm.uq.variational import VariationalAffineHermitian
from keras_pmm.uq.variational import VariationalClassHamiltonians
from keras_pmm.uq.variational import VariationalObservableReadout
from keras_pmm.uq.variational import set_kl_weight

__all__ = [
    "BayesianImagePMMClassifier",
    "DeepEnsemble",
    "GOEPrior",
    "GUEPrior",
    "GaussianPrior",
    "GaussianNLL",
    "SplitConformalClassifier",
    "SplitConformalRegressor",
    "apply_temperature",
    "auroc",
    "brier_score",
    "calibration_curve",
    "classification_report",
    "conformal_quantile",
    "coverage",
    "expected_calibration_error",
    "fit_temperature",
    "mutual_information",
    "negative_log_likelihood",
    "ood_auroc",
    "predict_with_uncertainty",
    "predictive_entropy",
    "reliability_diagram",
    "set_kl_weight",
    "VariationalAffineHermitian",
    "VariationalClassHamiltonians",
    "VariationalObservableReadout",
]

# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
