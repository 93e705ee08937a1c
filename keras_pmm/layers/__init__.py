"""PMM layers: primary matrices, the image encoder and read-outs."""

from keras_pmm import _registration
from keras_pmm.layers.affine_hermitian import AffineHermitian
from keras_pmm.layers.block_gram_encoder import BlockGramEncoder
from keras_pmm.layers.class_hamiltonians import ClassHamiltonians
from keras_pmm.layers.deskew import Deskew
from keras_pmm.layers.eigenvalue_readout import EigenvalueReadout
from keras_pmm.layers.feature_scaling import FeatureScaling
from keras_pmm.layers.low_rank_affine_hermitian import LowRankAffineHermitian
from keras_pmm.layers.matrix_input_hermitian import MatrixInputHermitian
from keras_pmm.layers.observable_readout import ObservableReadout

__all__ = [
    "AffineHermitian",
    "BlockGramEncoder",
    "ClassHamiltonians",
    "Deskew",
    "EigenvalueReadout",
    "FeatureScaling",
    "LowRankAffineHermitian",
    "MatrixInputHermitian",
    "ObservableReadout",
]

# Complete now: register the Keras classes if Keras came in mid-import.
_registration.register_when_keras_loads(finished=__name__)
