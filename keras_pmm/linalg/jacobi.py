"""Cyclic Jacobi eigensolver written with `keras.ops` only.

Every op it uses (gather, concatenate, elementwise arithmetic, sqrt, select,
top-k sort) is a TFLite builtin, so models that diagonalise through this
solver convert to TFLite/LiteRT without the Flex delegate.

The sweep uses the round-robin ("chess tournament") ordering: each of its
N - 1 rounds rotates N/2 disjoint index pairs at once, which vectorises over
the batch and the pairs. Complex Hermitian matrices are rotated in real
arithmetic on (real, imaginary) pairs, with the unitary rotation

    J = diag(1, e^{-i phi}) R(theta)   on the (p, q) plane,

where phi = arg(a_pq) makes the pivot real and R(theta) is the real Jacobi
rotation that zeroes it (Golub and Van Loan, "Matrix Computations", 8.5).

Each matrix is divided by its largest |entry| before the sweeps and the
eigenvalues multiplied back after (`unit_scaled`), so the squares inside
the rotation angles neither overflow (entries near the float32 limit
3.4e38) nor underflow (entries below 1e-19).
"""

import functools
import math

import numpy as np
from keras import ops

from keras_pmm import _backend
from keras_pmm import _validation
from keras_pmm._precision import complex_from_parts
from keras_pmm._precision import is_complex
from keras_pmm._precision import positive_or_one
from keras_pmm.linalg.hermitian import unit_scaled


def default_sweeps(n):
    """Sweep count that reaches float32 accuracy for an n x n matrix.

    Cyclic Jacobi converges quadratically once the off-diagonal mass is small,
    so the sweeps needed grow like log2(n). Measured on random float32
    matrices (tests/linalg/jacobi_test.py): ceil(log2 n) + 1 sweeps reach the
    rounding floor (1.4e-6 of the spectral norm at n = 8, 6e-6 at n = 32);
    one more sweep is kept as margin.
    """
    n = _validation.check_positive_int(n, "n")
    return max(3, math.ceil(math.log2(n)) + 2)


@functools.lru_cache(maxsize=None)
def _round_robin_schedule(size):
    """Rounds of disjoint (p, q) pairs that cover every pair once.

    Returns a tuple of (p, q, inverse) int32 arrays, where `inverse` undoes the
    permutation concatenate([p, q]).
    """
    others = list(range(1, size))
    rounds = []
    for _ in range(size - 1):
        ring = [0] + others
        pairs = [
            (min(ring[i], ring[size - 1 - i]), max(ring[i], ring[size - 1 - i]))
            for i in range(size // 2)
        ]
        p = np.array([a for a, _ in pairs], dtype="int32")
        q = np.array([b for _, b in pairs], dtype="int32")
        inverse = np.argsort(np.concatenate([p, q])).astype("int32")
        rounds.append((p, q, inverse))
        others = others[-1:] + others[:-1]
    return tuple(rounds)


def _rotate(x_p, x_q, c, s, phase):
    """(c x_p - s w, s x_p + c w) with w = phase * x_q, on (re, im) pairs."""
    if phase is None:
        w = x_q
    else:
        (q_re, q_im), (ph_re, ph_im) = x_q, phase
        w = (q_re * ph_re - q_im * ph_im, q_re * ph_im + q_im * ph_re)
    if isinstance(x_p, tuple):
        return (
            tuple(c * a - s * b for a, b in zip(x_p, w)),
            tuple(s * a + c * b for a, b in zip(x_p, w)),
        )
    return c * x_p - s * w, s * x_p + c * w


def _apply_to_axis(parts, p, q, inverse, c, s, phase, axis):
    """Applies one round's rotations to rows (axis=1) or columns (axis=2)."""
    take_p = tuple(ops.take(x, p, axis=axis) for x in parts)
    take_q = tuple(ops.take(x, q, axis=axis) for x in parts)
    if len(parts) == 1:
        new_p, new_q = _rotate(take_p[0], take_q[0], c, s, None)
        new_p, new_q = (new_p,), (new_q,)
    else:
        new_p, new_q = _rotate(take_p, take_q, c, s, phase)
    return tuple(
        ops.take(ops.concatenate([a, b], axis=axis), inverse, axis=axis)
        for a, b in zip(new_p, new_q)
    )


def _rotation_parameters(a_re, a_im, p, q, size):
    """Cosine, sine and pivot phase of the rotations that zero a_pq."""
    flat_re = ops.reshape(a_re, (-1, size * size))
    a_pp = ops.take(flat_re, p * size + p, axis=1)
    a_qq = ops.take(flat_re, q * size + q, axis=1)
    pivot_re = ops.take(flat_re, p * size + q, axis=1)
    if a_im is None:
        radius, phase = pivot_re, None
    else:
        pivot_im = ops.take(
            ops.reshape(a_im, (-1, size * size)), p * size + q, axis=1
        )
        # Scale before squaring: converged pivots reach ~1e-20, whose squares
        # are denormal in float32 and would give a phase of modulus != 1.
        scale = ops.maximum(ops.abs(pivot_re), ops.abs(pivot_im))
        nonzero = scale > 0
        safe_scale = ops.where(nonzero, scale, ops.ones_like(scale))
        unit_re, unit_im = pivot_re / safe_scale, pivot_im / safe_scale
        scaled_radius = ops.sqrt(unit_re * unit_re + unit_im * unit_im)
        safe_radius = ops.where(nonzero, scaled_radius, ops.ones_like(scale))
        radius = scale * scaled_radius
        phase = (
            ops.where(nonzero, unit_re / safe_radius, ops.ones_like(scale)),
            ops.where(nonzero, unit_im / safe_radius, ops.zeros_like(scale)),
        )
    gap = a_qq - a_pp
    sign = ops.where(gap >= 0, ops.ones_like(gap), -ops.ones_like(gap))
    denominator = ops.abs(gap) + ops.sqrt(gap * gap + 4 * radius * radius)
    # denominator = 0 only where radius is 0 (or its square underflows:
    # radius < 1e-19 of the unit-scaled matrix), so tangent = 2 radius is 0
    # to working precision there; dividing by 1 needs no floor constant.
    tangent = 2 * radius * sign / positive_or_one(denominator)
    cosine = 1 / ops.sqrt(1 + tangent * tangent)
    sine = tangent * cosine
    return cosine, sine, phase


def _jacobi_round(matrix_parts, vector_parts, p, q, inverse, size):
    """One round: N/2 disjoint rotations on the matrix and the vectors."""
    a_im = matrix_parts[1] if len(matrix_parts) == 2 else None
    cosine, sine, phase = _rotation_parameters(
        matrix_parts[0], a_im, p, q, size
    )
    c_rows, s_rows = cosine[:, :, None], sine[:, :, None]
    c_cols, s_cols = cosine[:, None, :], sine[:, None, :]
    row_phase = col_phase = None
    if phase is not None:
        row_phase = (phase[0][:, :, None], phase[1][:, :, None])
        col_phase = (phase[0][:, None, :], -phase[1][:, None, :])
    matrix_parts = _apply_to_axis(
        matrix_parts, p, q, inverse, c_rows, s_rows, row_phase, axis=1
    )
    matrix_parts = _apply_to_axis(
        matrix_parts, p, q, inverse, c_cols, s_cols, col_phase, axis=2
    )
    vector_parts = _apply_to_axis(
        vector_parts, p, q, inverse, c_cols, s_cols, col_phase, axis=2
    )
    return matrix_parts, vector_parts


def jacobi_eigh(h, sweeps=None, unroll=True):
    """Eigen-decomposition of Hermitian matrices by cyclic Jacobi rotations.

    Args:
        h: tensor of shape (..., n, n), real symmetric or complex Hermitian,
            float32 or float64. Only its values are used; no gradient flows
            through the iterations (see `keras_pmm.linalg.eigh`).
        sweeps: number of full sweeps; `default_sweeps(n)` when omitted.
        unroll: write every rotation round out as ops (fastest to run and
            to differentiate under a compiler) or run the rounds in one
            `keras.ops.fori_loop` (a graph sweeps * (n - 1) times smaller:
            what `keras_pmm.export` writes to files).

    Returns:
        `(eigenvalues, eigenvectors)`: eigenvalues of shape (..., n), real and
        ascending; eigenvectors of shape (..., n, n) with the eigenvector of
        `eigenvalues[..., k]` in column k (complex for complex `h`).
    """
    h = _backend.to_tensor(h)
    _validation.check_square(h.shape, "h")
    n = h.shape[-1]
    if n is None:
        raise ValueError(
            "The Jacobi solver needs a static matrix size. Received: "
            f"h.shape={h.shape}"
        )
    sweeps = (
        default_sweeps(n)
        if sweeps is None
        else _validation.check_positive_int(sweeps, "sweeps")
    )
    batch_shape = tuple(ops.shape(h)[:-2])
    complex_input = is_complex(h)
    h, root = unit_scaled(h)
    a_re = ops.reshape(ops.real(h) if complex_input else h, (-1, n, n))
    a_im = ops.reshape(ops.imag(h), (-1, n, n)) if complex_input else None

    size = n + n % 2
    if size != n:
        padding = [[0, 0], [0, 1], [0, 1]]
        a_re = ops.pad(a_re, padding)
        a_im = None if a_im is None else ops.pad(a_im, padding)
    v_re = ops.broadcast_to(ops.eye(size, dtype=a_re.dtype), ops.shape(a_re))
    matrix_parts = (a_re,) if a_im is None else (a_re, a_im)
    vector_parts = (v_re,) if a_im is None else (v_re, ops.zeros_like(v_re))

    if size > 1:
        if unroll:
            for _ in range(sweeps):
                for p, q, inverse in _round_robin_schedule(size):
                    matrix_parts, vector_parts = _jacobi_round(
                        matrix_parts, vector_parts, p, q, inverse, size
                    )
        else:
            schedule = _round_robin_schedule(size)
            tables = tuple(
                ops.convert_to_tensor(np.stack([r[i] for r in schedule]))
                for i in range(3)
            )

            def body(step, parts):
                p, q, inverse = (
                    ops.take(t, step % len(schedule), axis=0) for t in tables
                )
                return _jacobi_round(*parts, p, q, inverse, size)

            matrix_parts, vector_parts = ops.fori_loop(
                0,
                sweeps * len(schedule),
                body,
                (matrix_parts, vector_parts),
            )

    diagonal_index = np.arange(n, dtype="int32") * (size + 1)
    eigenvalues = ops.take(
        ops.reshape(matrix_parts[0], (-1, size * size)), diagonal_index, axis=1
    )
    root = ops.reshape(root, (-1, 1))
    eigenvalues = eigenvalues * root * root
    vector_parts = tuple(v[:, :n, :n] for v in vector_parts)
    order = ops.argsort(eigenvalues, axis=-1)
    eigenvalues = ops.take_along_axis(eigenvalues, order, axis=-1)
    column_order = ops.broadcast_to(
        order[:, None, :], ops.shape(vector_parts[0])
    )
    vector_parts = tuple(
        ops.take_along_axis(v, column_order, axis=-1) for v in vector_parts
    )
    if complex_input:
        eigenvectors = complex_from_parts(*vector_parts)
    else:
        eigenvectors = vector_parts[0]
    return (
        ops.reshape(eigenvalues, batch_shape + (n,)),
        ops.reshape(eigenvectors, batch_shape + (n, n)),
    )
