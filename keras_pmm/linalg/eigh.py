"""One `eigh` entry point with a gradient that survives degenerate spectra."""

import keras
import numpy as np
from keras import ops

from keras_pmm import _backend
from keras_pmm import _inference
from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm._precision import is_complex
from keras_pmm.linalg.hermitian import conjugate_transpose
from keras_pmm.linalg.hermitian import hermitian_part
from keras_pmm.linalg.hermitian import unit_scaled
from keras_pmm.linalg.jacobi import jacobi_eigh

METHODS = ("lapack", "jacobi")


def default_gradient_broadening(dtype):
    """sqrt(machine epsilon) of the dtype eigh works in.

    3.5e-4 for float32 (also the working dtype of float16 and bfloat16
    input) and 1.5e-8 for float64. Rounding alone splits a repeated
    eigenvalue by about eps * ||H|| and leaves the eigenvectors of pairs
    closer than sqrt(eps) * ||H|| uncertain by more than sqrt(eps), so the
    inverse level spacing is switched off below that gap.
    """
    return _precision.machine_epsilon(_precision.working_dtype(dtype)) ** 0.5


def _lapack_eigh(h):
    scaled, root = unit_scaled(h)
    eigenvalues, eigenvectors = _backend.sequenced(ops.eigh, scaled)
    if is_complex(eigenvalues):
        eigenvalues = ops.real(eigenvalues)
    return eigenvalues * root[..., 0] * root[..., 0], eigenvectors


def _broadened_inverse_gaps(eigenvalues, broadening):
    """F_ij = g_ij / (g_ij^2 + (b s)^2) with g_ij = l_j - l_i, s = max |l|.

    Computed on the gaps in units of s, so that neither huge nor tiny
    spectra overflow or underflow in the squares; F = 0 for H = 0. The unit
    is the power of two 2^e nearest below s, applied as products with its
    exact reciprocal 2^-e: XLA rewrites a chain of divisions a / s / s into
    a / (s * s), which underflows to 0 (and F to inf or NaN) for spectra
    below about 1e-19 in float32.
    """
    radius = ops.max(ops.abs(eigenvalues), axis=-1)[..., None, None]
    radius = ops.where(radius > 0, radius, ops.ones_like(radius))
    # 2^-e must stay a finite normal number (a subnormal is flushed to zero
    # and F became 0 / 0 for spectra above 2^127 in float32; 2^128 is inf
    # for subnormal spectra): |e| <= maxexp - 2.
    largest = np.finfo(keras.backend.standardize_dtype(radius.dtype)).maxexp
    exponent = ops.clip(ops.floor(ops.log2(radius)), 2 - largest, largest - 2)
    reciprocal = ops.power(ops.full_like(radius, 2.0), -exponent)
    gaps = (eigenvalues[..., None, :] - eigenvalues[..., :, None]) * reciprocal
    unit_broadening = broadening * radius * reciprocal  # b s / 2^e, in [b, 2b)
    return gaps / (ops.square(gaps) + ops.square(unit_broadening)) * reciprocal


def _with_perturbation_gradient(
    h, h_fixed, eigenvalues, eigenvectors, broadening
):
    """Adds zero-valued terms whose gradient is first-order perturbation theory.

    With E = V^H (H - stop_gradient(H)) V (zero in value, H's gradient path):

        lambda_k = lambda0_k + Re E_kk
        V        = V0 + V0 (F o E),
        F_ij     = g_ij / (g_ij^2 + eps),  g_ij = l_j - l_i

    F is the inverse level spacing 1/(l_j - l_i) broadened so that it vanishes
    instead of diverging at (near-)degenerate pairs; eps = (broadening * s)^2
    with s the spectral radius. Outputs that are invariant to rotations
    inside a degenerate eigenspace get the exact gradient.
    """
    delta = h - h_fixed
    delta_vectors = _precision.matmul(delta, eigenvectors)
    conj_vectors = (
        ops.conj(eigenvectors) if is_complex(eigenvectors) else eigenvectors
    )
    first_order_values = ops.sum(conj_vectors * delta_vectors, axis=-2)
    if is_complex(first_order_values):
        first_order_values = ops.real(first_order_values)
    coupling = _precision.matmul(
        conjugate_transpose(eigenvectors), delta_vectors
    )
    inverse_gaps = _broadened_inverse_gaps(eigenvalues, broadening)
    if is_complex(coupling):
        inverse_gaps = _backend.complex_from_parts(inverse_gaps)
    return (
        eigenvalues + first_order_values,
        eigenvectors + _precision.matmul(eigenvectors, inverse_gaps * coupling),
    )


def _check_matrix_dtype_and_size(h):
    """Raises unless `h` holds floats or complex numbers and n >= 1."""
    dtype = keras.backend.standardize_dtype(h.dtype)
    if not dtype.startswith(("float", "bfloat", "complex")):
        raise ValueError(
            "`h` must be a float or complex tensor (cast integer matrices "
            f"first). Received: h.dtype={dtype}"
        )
    if 0 in tuple(h.shape):
        raise ValueError(
            "`h` is empty: it must hold at least one matrix of at least 1 x "
            f"1. Received: h.shape={tuple(h.shape)}"
        )


def eigh(
    h, method="lapack", sweeps=None, gradient_broadening=None, validate=True
):
    """Eigenvalues and eigenvectors of Hermitian matrices, ascending.

    Two interchangeable solvers compute the decomposition H = V diag(l) V^H:

    - `"lapack"`: `keras.ops.eigh` (LAPACK on CPU), native complex support on
      TensorFlow, JAX and PyTorch.
    - `"jacobi"`: a cyclic Jacobi solver built from `keras.ops` that TFLite
      runs with builtin ops only (see `jacobi_eigh`).

    Both run in float32 or wider (float16/bfloat16 input is promoted, so the
    results are float32 under a mixed-precision policy) and share one
    gradient: the first-order perturbation formula

        dl_k = v_k^H dH v_k,   dV = V (F o (V^H dH V)),

    with the inverse level spacing 1/(l_j - l_i) broadened to

        F_ij = g / (g^2 + (b s)^2),   g = l_j - l_i,   s = max_k |l_k|,

    so gradients stay finite at H = 0, H = I and any repeated eigenvalue, on
    every backend. F is the exact 1/g for gaps well above b s (relative error
    (b s / g)^2) and goes to 0 below it; outputs that do not change under
    rotations inside a (near-)degenerate eigenspace (eigenvalues, projectors,
    sums over the whole subspace) get the exact gradient at any gap.

    Args:
        h: tensor, variable or array of shape (..., n, n), real symmetric or
            complex Hermitian. Its Hermitian part (h + h^H)/2 is decomposed.
        method: `"lapack"` or `"jacobi"`.
        sweeps: Jacobi sweeps; chosen from n when omitted (ignored by LAPACK).

    Inside `keras_pmm.export`'s inference scope (`keras_pmm._inference`)
    the Jacobi solver is used whatever `method` says, so exported graphs
    convert to TFLite with builtin ops only.
        gradient_broadening: b above, the relative level spacing below which
            the inverse spacing is switched off. Defaults to the square root
            of the working dtype's machine epsilon
            (`default_gradient_broadening`): 3.5e-4 in float32, 1.5e-8 in
            float64, so that pairs split only by rounding (gaps near
            eps * s) get a gradient of order 1, not 1 / (eps * s).
        validate: check a concrete `h` for NaN/inf and Hermiticity (to the
            tolerance of its dtype, see `check_hermitian`).

    Returns:
        `(eigenvalues, eigenvectors)`: shape (..., n) real ascending, and
        (..., n, n) with eigenvectors in columns (complex for complex `h`),
        in `h`'s dtype or, for float16/bfloat16 `h`, float32.

    Raises:
        ValueError: `h` is not square, is empty, has an integer or bool
            dtype, holds NaN/inf, or is not Hermitian (with
            `validate=True`), or `method` is unknown.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.linalg import eigh
    >>> values, vectors = eigh(np.diag([3.0, 1.0, 2.0]).astype("float32"))
    >>> np.asarray(values).tolist()
    [1.0, 2.0, 3.0]
    """
    _validation.check_choice(method, "method", METHODS)
    method, sweeps, unroll = _inference.solver(method, sweeps)
    h = _backend.to_tensor(h)
    _validation.check_square(h.shape, "h")
    _check_matrix_dtype_and_size(h)
    if validate:
        _validation.check_hermitian(h, "h")
    dtype = _precision.working_dtype(h.dtype)
    if gradient_broadening is None:
        gradient_broadening = default_gradient_broadening(dtype)
    else:
        gradient_broadening = _validation.check_positive(
            gradient_broadening, "gradient_broadening"
        )
    h = hermitian_part(ops.cast(h, dtype))
    h_fixed = ops.stop_gradient(h)
    if method == "lapack":
        eigenvalues, eigenvectors = _lapack_eigh(h_fixed)
    else:
        eigenvalues, eigenvectors = jacobi_eigh(
            h_fixed, sweeps=sweeps, unroll=unroll
        )
    eigenvalues = ops.stop_gradient(eigenvalues)
    eigenvectors = ops.stop_gradient(eigenvectors)
    return _with_perturbation_gradient(
        h, h_fixed, eigenvalues, eigenvectors, gradient_broadening
    )
