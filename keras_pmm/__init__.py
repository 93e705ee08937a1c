"""keras-pmm: Parametric Matrix Models for Keras 3."""

from keras_pmm import initializers, layers, linalg

__version__ = "0.1.0"
