"""PMM task models that compile themselves and train with `model.fit`."""

from keras_pmm import _registration
from keras_pmm.models.hybrid_pmm_classifier import HybridPMMClassifier
from keras_pmm.models.image_pmm_classifier import ImagePMMClassifier
from keras_pmm.models.matrix_function_pmm import MatrixFunctionPMM
from keras_pmm.models.pmm_classifier import PMMClassifier
from keras_pmm.models.pmm_classifier_task import PMMClassifierTask
from keras_pmm.models.pmm_regressor import PMMRegressor
from keras_pmm.models.pmm_task import PMMTask
from keras_pmm.models.sklearn_estimators import PMMSKLearnClassifier
from keras_pmm.models.sklearn_estimators import PMMSKLearnRegressor

__all__ = [
    "HybridPMMClassifier",
    "ImagePMMClassifier",
    "MatrixFunctionPMM",
    "PMMClassifier",
    "PMMClassifierTask",
    "PMMRegressor",
    "PMMSKLearnClassifier",
    "PMMSKLearnRegressor",
    "PMMTask",
]

# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
