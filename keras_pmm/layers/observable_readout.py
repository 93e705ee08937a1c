"""AO-PMM read-out: bilinears of eigenvectors with trainable decoders."""

import math

import keras
import numpy as np
from keras import ops

from keras_pmm import _validation
from keras_pmm._inference import weight_constant
from keras_pmm.initializers import random_matrix_initializer
from keras_pmm.linalg.eigh import METHODS
from keras_pmm.linalg.eigh import eigh
from keras_pmm.linalg.hermitian import FIELDS
from keras_pmm.linalg.hermitian import hermitian_from_packed
from keras_pmm.linalg.hermitian import is_complex
from keras_pmm.linalg.hermitian import packed_size
from keras_pmm.linalg.selection import check_selection
from keras_pmm.linalg.selection import select_eigenpairs

DECODERS = ("pairwise", "shared", "expectation")


def _parts(x):
    """(real, imaginary or None) parts of a tensor."""
    return (ops.real(x), ops.imag(x)) if is_complex(x) else (x, None)


def _sum(terms):
    """Sum of the terms that are not None (None when all are)."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _bilinear(left, matrices, right, spec):
    """Real and imaginary parts of conj(a)^T D b from (real, imag) parts.

    With D b = (D_r b_r - D_i b_i) + i (D_r b_i + D_i b_r):
        Re = a_r D_r b_r - a_r D_i b_i + a_i D_r b_i + a_i D_i b_r
        Im = a_r D_r b_i + a_r D_i b_r - a_i D_r b_r + a_i D_i b_i
    Missing imaginary parts (None) are zero; real einsums only, so the
    read-out needs no complex arithmetic.
    """
    (a_re, a_im), (d_re, d_im), (b_re, b_im) = left, matrices, right

    def term(a, d, b, sign=1):
        if a is None or d is None or b is None:
            return None
        product = ops.einsum(spec, a, d, b)
        return product if sign > 0 else -product

    real = _sum(
        [
            term(a_re, d_re, b_re),
            term(a_re, d_im, b_im, -1),
            term(a_im, d_re, b_im),
            term(a_im, d_im, b_re),
        ]
    )
    imag = _sum(
        [
            term(a_re, d_re, b_im),
            term(a_re, d_im, b_re),
            term(a_im, d_re, b_re, -1),
            term(a_im, d_im, b_im),
        ]
    )
    return real, imag


def _squared_modulus(real, imag):
    return (
        ops.square(real)
        if imag is None
        else ops.square(real) + ops.square(imag)
    )


@keras.saving.register_keras_serializable(package="keras_pmm")
class ObservableReadout(keras.layers.Layer):
    """Observable (decoder) read-out of an AO-PMM.

    Diagonalises H = V diag(l) V^H, keeps r eigenvectors v_1..v_r and reads
    each output k from bilinears with trainable Hermitian decoders D:

    - `decoder="pairwise"` (the paper's AO-PMM, Cook et al. 2025): one decoder
      per output and eigenvector pair,
          z_k = b_k + sum_{i<=j<=r} ( |v_i^H D_kij v_j|^2 - 1/2 ||D_kij||_2^2 ).
    - `decoder="shared"` (as pyPMM's `TransitionAmplitudeSum` does, with its
      single centring term): one decoder per output for all pairs,
          z_k = b_k + sum_{i<=j<=r} |v_i^H D_k v_j|^2 - 1/2 ||D_k||_2^2.
    - `decoder="expectation"` (cheapest): z_k = b_k + sum_i v_i^H D_k v_i.

    ||.||_2 is the spectral norm (largest |eigenvalue|); since
    |v^H D w|^2 <= ||D||_2^2 the centring term puts each amplitude in
    [-||D||^2/2, ||D||^2/2]. Outputs are invariant to the phase of every
    eigenvector. Input axes between the batch and the matrix axes (for
    example one Hamiltonian per class) each get their own decoders.

    Weights: S * units * P * L (+ S * units biases), with S the product of
    the extra input axes, P = r(r+1)/2 for `"pairwise"` and 1 otherwise, and
    L = packed_size(n, field).

    Args:
        units: outputs per matrix, >= 1.
        r: eigenvectors to use, 1 <= r <= n.
        which: `"lowest"`, `"highest"` or `"largest_magnitude"`.
        decoder: `"pairwise"`, `"shared"` or `"expectation"`.
        field: `"real"` (real symmetric decoders) or `"complex"` (complex
            Hermitian decoders). Either works with real or complex H.
        centered: subtract the centring terms above.
        use_bias: add a trainable bias b_k.
        method: eigensolver, `"lapack"` or `"jacobi"`.
        decoder_initializer: initializer of the packed decoders; GOE/GUE of
            scale 1 by default.
        bias_initializer, decoder_regularizer, bias_regularizer: as usual.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        inputs: (batch, ..., n, n) Hermitian matrices.

    Returns:
        (batch, ..., units).

    Example:
    >>> import numpy as np
    >>> from keras_pmm.layers import ObservableReadout
    >>> readout = ObservableReadout(units=3, r=2)
    >>> tuple(readout(np.diag([3.0, 1.0, 2.0]).astype("float32")[None]).shape)
    (1, 3)

    References:
        Cook et al., "Parametric matrix models", Nat. Commun. 16, 5929 (2025).
    """

    def __init__(
        self,
        units,
        r,
        which="lowest",
        decoder="pairwise",
        field="real",
        centered=True,
        use_bias=True,
        method="lapack",
        decoder_initializer=None,
        bias_initializer="zeros",
        decoder_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _validation.check_positive_int(units, "units")
        self.r = check_selection(r, None, which)
        self.which = which
        self.decoder = _validation.check_choice(decoder, "decoder", DECODERS)
        self.field = _validation.check_choice(field, "field", FIELDS)
        self.centered = bool(centered)
        self.use_bias = bool(use_bias)
        self.method = _validation.check_choice(method, "method", METHODS)
        self.decoder_initializer = keras.initializers.get(
            decoder_initializer or random_matrix_initializer(field, 1.0)
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.decoder_regularizer = keras.regularizers.get(decoder_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    @property
    def num_decoders_per_output(self):
        """P: r(r+1)/2 for pairwise decoders, 1 otherwise."""
        return self.r * (self.r + 1) // 2 if self.decoder == "pairwise" else 1

    def build(self, input_shape):
        _validation.check_square(input_shape, "inputs")
        if len(input_shape) < 3:
            raise ValueError(
                "ObservableReadout expects (batch, ..., n, n) matrices. "
                f"Received: input_shape={input_shape}"
            )
        n = input_shape[-1]
        check_selection(self.r, n, self.which)
        self._stack_shape = tuple(input_shape[1:-2])
        if any(d is None for d in self._stack_shape):
            raise ValueError(
                "Axes between the batch and the matrix axes must be known. "
                f"Received: input_shape={input_shape}"
            )
        self.decoders = self.add_weight(
            name="decoders",
            shape=self._stack_shape
            + (
                self.units,
                self.num_decoders_per_output,
                packed_size(n, self.field),
            ),
            initializer=self.decoder_initializer,
            regularizer=self.decoder_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=self._stack_shape + (self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )
        self.input_spec = keras.InputSpec(
            ndim=len(input_shape), axes={-1: n, -2: n}
        )

    def decoder_matrices(self, decoders=None):
        """Decoders as (S, units, P, n, n) Hermitian matrices (S flattened).

        Args:
            decoders: packed decoders of the weight's shape; the layer's
                own weight when None.
        """
        num_stacks = math.prod(self._stack_shape)
        packed = ops.reshape(
            self.decoders if decoders is None else decoders,
            (num_stacks, self.units, self.num_decoders_per_output, -1),
        )
        return hermitian_from_packed(packed, self.field)

    def centring_norms(self, decoder_matrices):
        """||D||_2^2 of every decoder matrix, (S, units, P)."""
        eigenvalues, _ = eigh(
            decoder_matrices, method=self.method, validate=False
        )
        return ops.square(ops.max(ops.abs(eigenvalues), axis=-1))

    def call(self, inputs):
        decoders = weight_constant(
            self, "decoder_matrices", self.decoder_matrices
        )
        norms = None
        if self.centered and self.decoder != "expectation":
            # A constant on export, like the decoders.
            norms = weight_constant(
                self,
                "centring_norms",
                lambda: self.centring_norms(self.decoder_matrices()),
            )
        return self.read(inputs, decoders, norms)

    def read(self, inputs, decoders, norms):
        """The read-out of `inputs` with given decoders.

        Args:
            inputs: (batch, ..., n, n) Hermitian matrices.
            decoders: (S, units, P, n, n) decoder matrices.
            norms: (S, units, P) ||D||_2^2 (`centring_norms`), or None when
                the read-out is not centred.
        """
        n = inputs.shape[-1]
        num_stacks = math.prod(self._stack_shape)
        eigenvalues, eigenvectors = eigh(
            inputs, method=self.method, validate=False
        )
        _, vectors = select_eigenpairs(
            eigenvalues, eigenvectors, self.r, self.which
        )
        vectors = _parts(ops.reshape(vectors, (-1, num_stacks, n, self.r)))
        decoder_parts = tuple(
            None if d is None else ops.cast(d, vectors[0].dtype)
            for d in _parts(decoders)
        )

        if self.decoder == "pairwise":
            left_index, right_index = np.triu_indices(self.r)
            left = tuple(
                None if v is None else ops.take(v, left_index, axis=-1)
                for v in vectors
            )
            right = tuple(
                None if v is None else ops.take(v, right_index, axis=-1)
                for v in vectors
            )
            amplitudes = _bilinear(
                left, decoder_parts, right, "zsap,skpab,zsbp->zskp"
            )
            outputs = ops.sum(_squared_modulus(*amplitudes), axis=-1)
            if norms is not None:
                outputs = outputs - 0.5 * ops.sum(norms, axis=-1)
        else:
            shared = tuple(
                None if d is None else d[:, :, 0] for d in decoder_parts
            )
            real, imag = _bilinear(
                vectors, shared, vectors, "zsai,skab,zsbj->zskij"
            )
            if self.decoder == "expectation":
                # sum_i v_i^H D v_i through an identity mask, not a diagonal
                # op: TFLite has no builtin for MatrixDiagPart.
                identity = ops.convert_to_tensor(np.eye(self.r), real.dtype)
                outputs = ops.sum(real * identity, axis=(-2, -1))
            else:
                upper = ops.convert_to_tensor(
                    np.triu(np.ones((self.r, self.r))), real.dtype
                )
                outputs = ops.sum(
                    _squared_modulus(real, imag) * upper, axis=(-2, -1)
                )
                if norms is not None:
                    outputs = outputs - 0.5 * norms[..., 0]
        outputs = ops.cast(outputs, self.compute_dtype)
        outputs = ops.reshape(
            outputs, (-1,) + self._stack_shape + (self.units,)
        )
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-2]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "r": self.r,
            "which": self.which,
            "decoder": self.decoder,
            "field": self.field,
            "centered": self.centered,
            "use_bias": self.use_bias,
            "method": self.method,
            "decoder_initializer": keras.initializers.serialize(
                self.decoder_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
            "decoder_regularizer": keras.regularizers.serialize(
                self.decoder_regularizer
            ),
            "bias_regularizer": keras.regularizers.serialize(
                self.bias_regularizer
            ),
        }
