"""One `eigh` entry point with a gradient that survives degenerate spectra."""

import keras
from keras import ops

from keras_pmm import _validation
from keras_pmm.linalg.hermitian import conjugate_transpose, hermitian_part, is_complex
from keras_pmm.linalg.jacobi import jacobi_eigh

METHODS = ("lapack", "jacobi")


def _solver_dtype(h):
    """float32 at least: eigh is too fragile for float16/bfloat16."""
    dtype = keras.backend.standardize_dtype(h.dtype)
    if "complex" in dtype or dtype == "float64":
        return dtype
    return "float32"


def _lapack_eigh(h):
    eigenvalues, eigenvectors = ops.eigh(h)
    if is_complex(eigenvalues):
        eigenvalues = ops.real(eigenvalues)
    return eigenvalues, eigenvectors


def _with_perturbation_gradient(h, h_fixed, eigenvalues, eigenvectors, broadening):
    """Adds zero-valued terms whose gradient is first-order perturbation theory.

    With E = V^H (H - stop_gradient(H)) V (zero in value, H's gradient path):

        lambda_k = lambda0_k + Re E_kk
        V        = V0 + V0 (F o E),  F_ij = g_ij / (g_ij^2 + eps),  g_ij = l_j - l_i

    F is the inverse level spacing 1/(l_j - l_i) broadened so that it vanishes
    instead of diverging at (near-)degenerate pairs; eps = (broadening * s)^2
    with s the spectral radius. Outputs that are invariant to rotations
    inside a degenerate eigenspace get the exact gradient.
    """
    delta = h - h_fixed
    delta_vectors = ops.matmul(delta, eigenvectors)
    conj_vectors = ops.conj(eigenvectors) if is_complex(eigenvectors) else eigenvectors
    first_order_values = ops.sum(conj_vectors * delta_vectors, axis=-2)
    if is_complex(first_order_values):
        first_order_values = ops.real(first_order_values)
    coupling = ops.matmul(conjugate_transpose(eigenvectors), delta_vectors)

    gaps = eigenvalues[..., None, :] - eigenvalues[..., :, None]
    radius = ops.max(ops.abs(eigenvalues), axis=-1)[..., None, None]
    tiny = 1e-30 if keras.backend.standardize_dtype(eigenvalues.dtype) == "float32" else 1e-300
    epsilon = ops.square(broadening * radius) + tiny
    inverse_gaps = gaps / (ops.square(gaps) + epsilon)
    if is_complex(coupling):
        inverse_gaps = ops.cast(inverse_gaps, coupling.dtype)
    return (
        eigenvalues + first_order_values,
        eigenvectors + ops.matmul(eigenvectors, inverse_gaps * coupling),
    )


def eigh(h, method="lapack", sweeps=None, gradient_broadening=1e-6, validate=True):
    """Eigenvalues and eigenvectors of Hermitian matrices, ascending.

    Two interchangeable solvers compute the decomposition H = V diag(l) V^H:

    - `"lapack"`: `keras.ops.eigh` (LAPACK on CPU), native complex support on
      TensorFlow, JAX and PyTorch.
    - `"jacobi"`: a cyclic Jacobi solver built from `keras.ops` that TFLite
      runs with builtin ops only (see `jacobi_eigh`).

    Both run in float32 or wider (float16/bfloat16 input is promoted) and share
    one gradient: the first-order perturbation formula

        dl_k = v_k^H dH v_k,   dV = V (F o (V^H dH V)),

    with the inverse level spacing 1/(l_j - l_i) broadened to
    (l_j - l_i) / ((l_j - l_i)^2 + eps), so gradients stay finite at H = 0,
    H = I and any repeated eigenvalue, on every backend.

    Args:
        h: tensor of shape (..., n, n), real symmetric or complex Hermitian.
            Its Hermitian part (h + h^H)/2 is decomposed.
        method: `"lapack"` or `"jacobi"`.
        sweeps: Jacobi sweeps; chosen from n when omitted (ignored by LAPACK).
        gradient_broadening: relative level spacing below which the inverse
            spacing in the gradient is smoothly switched off.
        validate: check a concrete `h` for NaN/inf and Hermiticity.

    Returns:
        `(eigenvalues, eigenvectors)`: shape (..., n) real ascending, and
        (..., n, n) with eigenvectors in columns (complex for complex `h`).

    Example:
    >>> import numpy as np
    >>> values, vectors = eigh(np.diag([3.0, 1.0, 2.0]).astype("float32"))
    >>> np.asarray(values).tolist()
    [1.0, 2.0, 3.0]
    """
    _validation.check_choice(method, "method", METHODS)
    _validation.check_square(h.shape, "h")
    if validate:
        _validation.check_hermitian(h, "h")
    h = ops.convert_to_tensor(h)
    h = hermitian_part(ops.cast(h, _solver_dtype(h)))
    h_fixed = ops.stop_gradient(h)
    if method == "lapack":
        eigenvalues, eigenvectors = _lapack_eigh(h_fixed)
    else:
        eigenvalues, eigenvectors = jacobi_eigh(h_fixed, sweeps=sweeps)
    eigenvalues = ops.stop_gradient(eigenvalues)
    eigenvectors = ops.stop_gradient(eigenvectors)
    return _with_perturbation_gradient(
        h, h_fixed, eigenvalues, eigenvectors, gradient_broadening
    )
