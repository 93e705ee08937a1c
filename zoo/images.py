"""User images for prediction (`keras_pmm._images`, which needs no Keras)."""

from keras_pmm._images import IMAGE_SIZE
from keras_pmm._images import read_images

__all__ = ["IMAGE_SIZE", "read_images"]
