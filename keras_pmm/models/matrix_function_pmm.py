"""Spectral PMM that learns a matrix function X -> f(X)."""

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm.layers import MatrixInputHermitian
from keras_pmm.linalg import eigh
from keras_pmm.linalg import packed_size
from keras_pmm.models.pmm_task import PMMTask

OUTPUT_TRANSFORMS = ("exp", "tanh", None)
# exp(h) is evaluated with h clipped here: exp(60) ~ 1e26 stays finite in
# float32 (and float64), so an untrained network cannot overflow.
_EXP_CLIP = 60.0


def relative_l1_error(y_true, y_pred):
    """Relative L1 error per matrix, sum|pred - true| / sum|true|.

    Args:
        y_true: (batch, m, m) target matrices.
        y_pred: (batch, m, m) predicted matrices.

    Returns:
        (batch,) errors, in `y_pred`'s dtype. A target of all zeros gives
        sum|pred| / tiny (the denominator is floored at the dtype's
        smallest normal number), never NaN.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    y_true = ops.reshape(y_true, ops.shape(y_pred))
    axes = tuple(range(1, len(y_pred.shape)))
    error = ops.sum(ops.abs(y_pred - y_true), axis=axes)
    scale = ops.sum(ops.abs(y_true), axis=axes)
    return error / ops.maximum(scale, keras.config.epsilon() ** 4)


@keras.saving.register_keras_serializable(package="keras_pmm")
class RelativeL1(keras.losses.Loss):
    """Mean over matrices of sum|pred - true| / sum|true| (a Keras loss).

    Scale-free: a matrix with entries near 1e6 and one with entries near
    1e-3 weigh the same, which suits functions of large dynamic range such
    as the exponential.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models.matrix_function_pmm import RelativeL1
    >>> y = np.ones((1, 2, 2), "float32")
    >>> round(float(RelativeL1()(y, 1.1 * y)), 4)
    0.1
    """

    def __init__(
        self, name="relative_l1", reduction="sum_over_batch_size", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return relative_l1_error(y_true, y_pred)


@keras.saving.register_keras_serializable(package="keras_pmm")
class WithinTolerance(keras.metrics.MeanMetricWrapper):
    """Share of matrices whose relative L1 error is at most `tolerance`."""

    def __init__(self, tolerance=0.05, name="within_5pct", dtype=None):
        self.tolerance = _validation.check_positive(tolerance, "tolerance")

        def within(y_true, y_pred):
            error = relative_l1_error(y_true, y_pred)
            return ops.cast(error <= tolerance, error.dtype)

        super().__init__(within, name=name, dtype=dtype)

    def get_config(self):
        return {
            "tolerance": self.tolerance,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="keras_pmm")
class MatrixFunctionPMM(PMMTask):
    """Spectral PMM for matrix functions: X -> W^T g(H(X)) W.

    The primary matrix is the matrix-input PMM (`MatrixInputHermitian`),

        H(X) = B + K S K^T,   S = (X + X^T) / 2,

    K an n x m trainable map and B a trainable n x n symmetric offset. It is
    decomposed, H = V diag(l) V^T (`keras_pmm.linalg.eigh`, whose gradient
    stays finite at repeated eigenvalues), a small learned scalar function g
    is applied to every eigenvalue, and the output is

        F(X) = W^T V diag(g(l)) V^T W = W^T g(H) W,

    an m x m symmetric matrix, with W = K (`share_projection=True`) or a
    separate trainable n x m map. The scalar function is a tiny MLP on the
    eigenvalue with a linear skip term,

        h(l) = c l + MLP(l / eigenvalue_scale),   g = transform(h),

    where `transform` is the identity, `exp` (positive outputs spanning many
    decades, e.g. f = exp) or `tanh` (outputs in [-1, 1], e.g. sign).

    Equivariance. F(X) = W^T g(H(X)) W is a matrix function of H, so when
    K = W has orthonormal columns (K^T K = I) and B = b I, F(X) = g(b + S):
    the model commutes with orthogonal conjugation, F(Q X Q^T) =
    Q F(X) Q^T for every orthogonal Q, by construction, and learns exactly
    the spectral functions, which is
    what a matrix function of a symmetric matrix is. The model starts there
    (K = W = the n x m identity, B = 0, so H(X) = S when n = m), and
    training may move K, W and B away from it to correct an imperfect g.
    g itself is not given: c and the MLP's output layer start at 0, so g
    starts as the constant transform(0) and is learned from data.
    The model sees only the symmetric part S of X: it cannot represent
    f(X) for a non-symmetric X (whose f(X) is not a function of S).

    Parameters (all trainable with `trainable_primary=True`), for input
    size m, matrix size n and `hidden_units` (u_1, ..., u_k):
        n m  (K)  + n (n + 1) / 2  (B)  + n m  (W, unless shared)
        + 1  (c)  + sum_i (u_{i-1} + 1) u_i  + u_k + 1   (MLP, u_0 = 1)

    Compiled with Adam(1e-2), the relative L1 loss (`RelativeL1`, mean over
    matrices of sum|F - f(X)| / sum|f(X)|) and the share of matrices within
    5% relative L1 error (`WithinTolerance`).

    Args:
        size: m, the input (and output) matrix size, >= 1.
        n: size of the primary matrix H, >= m; defaults to m.
        hidden_units: widths of the hidden layers of the eigenvalue MLP
            (an empty tuple leaves only the linear term).
        activation: activation of the hidden layers (a Keras name).
        output_transform: `None`, `"exp"` or `"tanh"`, applied to h.
        eigenvalue_scale: positive; eigenvalues are divided by it before
            the MLP (set it near the spectral radius of the inputs).
        share_projection: W = K when True, a separate W when False.
        trainable_primary: whether K and B train. False keeps H(X) at its
            start (S itself when n = m) and trains g (and a separate W)
            only; with a shared W the model then stays exactly
            equivariant.
        method: eigensolver, `"lapack"` or `"jacobi"`.
        **kwargs: `keras.Model` arguments (name, dtype).

    Call arguments:
        inputs: (batch, m, m) real matrices, finite; only the symmetric part
            is used.

    Returns:
        (batch, m, m) symmetric matrices F(X) in the compute dtype.

    Raises:
        ValueError: invalid arguments; inputs that are not (batch, m, m)
            (the message names the shape received) or hold NaN/inf.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.models import MatrixFunctionPMM
    >>> model = MatrixFunctionPMM(size=3, hidden_units=(8,))
    >>> x = np.eye(3, dtype="float32")[None]
    >>> tuple(model.predict(x, verbose=0).shape)
    (1, 3, 3)
    >>> model.count_params()  # K 9 + B 6 + c 1 + MLP (2 * 8 + 9)
    41

    References:
        Cook et al., "Parametric matrix models", Nat. Commun. 16, 5929 (2025);
        Padmanabhan and Brugiapaglia, arXiv:2602.07800 (matrix functions).
    """

    def __init__(
        self,
        size,
        n=None,
        hidden_units=(32, 32),
        activation="tanh",
        output_transform=None,
        eigenvalue_scale=1.0,
        share_projection=True,
        trainable_primary=True,
        method="lapack",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.size = _validation.check_positive_int(size, "size")
        n = self.size if n is None else _validation.check_positive_int(n, "n")
        if n < self.size:
            raise ValueError(
                f"`n` must be at least `size` ({self.size}). Received: n={n}"
            )
        self.n = n
        self.hidden_units = tuple(
            _validation.check_positive_int(u, "hidden_units[]")
            for u in hidden_units
        )
        self.activation = keras.activations.serialize(
            keras.activations.get(activation)
        )
        if output_transform not in OUTPUT_TRANSFORMS:
            raise ValueError(
                "`output_transform` must be one of None, 'exp' or 'tanh'. "
                f"Received: output_transform={output_transform!r}"
            )
        self.output_transform = output_transform
        self.eigenvalue_scale = _validation.check_positive(
            eigenvalue_scale, "eigenvalue_scale"
        )
        if not isinstance(share_projection, bool):
            raise ValueError(
                "`share_projection` must be True or False. Received: "
                f"share_projection={share_projection!r}"
            )
        self.share_projection = share_projection
        if not isinstance(trainable_primary, bool):
            raise ValueError(
                "`trainable_primary` must be True or False. Received: "
                f"trainable_primary={trainable_primary!r}"
            )
        self.trainable_primary = trainable_primary
        self.method = _validation.check_choice(
            method, "method", ("lapack", "jacobi")
        )
        policy = self.dtype_policy
        self.primary = MatrixInputHermitian(
            n,
            projection_initializer="identity",
            bias_initializer="zeros",
            dtype=policy,
            name="primary",
            trainable=trainable_primary,
        )
        self.linear = keras.layers.Dense(
            1,
            use_bias=False,
            kernel_initializer="zeros",
            dtype=policy,
            name="linear",
        )
        self.hidden = [
            keras.layers.Dense(
                units, activation=activation, dtype=policy, name=f"hidden_{i}"
            )
            for i, units in enumerate(self.hidden_units)
        ]
        self.head = (
            keras.layers.Dense(
                1, kernel_initializer="zeros", dtype=policy, name="head"
            )
            if self.hidden_units
            else None
        )
        self.build((None, self.size, self.size))
        self.compile()

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        if self.built:  # built at construction; a later build only checks
            return
        shape = (None, self.size, self.size)
        self.primary.build(shape)
        if not self.share_projection:
            self.output_projection = self.add_weight(
                name="output_projection",
                shape=(self.n, self.size),
                initializer="identity",
            )
        eigenvalue_shape = (None, self.n, 1)
        self.linear.build(eigenvalue_shape)
        for layer in self.hidden:
            layer.build(eigenvalue_shape)
            eigenvalue_shape = layer.compute_output_shape(eigenvalue_shape)
        if self.head is not None:
            self.head.build(eigenvalue_shape)

    def check_input_shape(self, shape):
        if shape is None:
            return
        shape = tuple(shape)
        if len(shape) != 3 or any(
            d is not None and d != self.size for d in shape[1:]
        ):
            raise ValueError(
                f"{type(self).__name__}(size={self.size}) expects square "
                f"matrices shaped (batch, {self.size}, {self.size}). "
                f"Received: shape={shape}"
            )

    def spectral_function(self, eigenvalues):
        """g(l), elementwise on a (..., n) tensor of eigenvalues."""
        values = ops.expand_dims(eigenvalues, -1)
        h = self.linear(values)
        if self.head is not None:
            hidden = values / ops.cast(self.eigenvalue_scale, values.dtype)
            for layer in self.hidden:
                hidden = layer(hidden)
            h = h + self.head(hidden)
        h = ops.squeeze(h, -1)
        if self.output_transform == "exp":
            return ops.exp(ops.minimum(h, ops.cast(_EXP_CLIP, h.dtype)))
        if self.output_transform == "tanh":
            return ops.tanh(h)
        return h

    def call(self, inputs):
        self.check_inputs(inputs)
        x = ops.cast(inputs, self.compute_dtype)
        x = 0.5 * (x + ops.swapaxes(x, -1, -2))
        h = self.primary(x)
        eigenvalues, vectors = eigh(h, method=self.method)
        g = ops.cast(self.spectral_function(eigenvalues), vectors.dtype)
        projection = (
            self.primary.projection
            if self.share_projection
            else self.output_projection
        )
        projection = ops.cast(projection, vectors.dtype)
        # U = V^T W, (batch, n, m); F = U^T diag(g) U.
        u = ops.einsum("zji,jm->zim", vectors, projection)
        outputs = ops.einsum("zim,zi,zik->zmk", u, g, u)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def default_loss(self):
        return RelativeL1()

    def default_metrics(self):
        return [WithinTolerance(0.05)]

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "n": self.n,
            "hidden_units": self.hidden_units,
            "activation": self.activation,
            "output_transform": self.output_transform,
            "eigenvalue_scale": self.eigenvalue_scale,
            "share_projection": self.share_projection,
            "trainable_primary": self.trainable_primary,
            "method": self.method,
        }


def count_parameters(
    size, n=None, hidden_units=(32, 32), share_projection=True
):
    """The trainable parameter count of `MatrixFunctionPMM` (the formula).

    Example:
    >>> from keras_pmm.models.matrix_function_pmm import count_parameters
    >>> count_parameters(5, hidden_units=(32, 32))
    1194
    """
    n = size if n is None else n
    total = n * size + packed_size(n) + 1
    if not share_projection:
        total += n * size
    widths = (1,) + tuple(hidden_units)
    total += sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    if hidden_units:
        total += widths[-1] + 1
    return total
