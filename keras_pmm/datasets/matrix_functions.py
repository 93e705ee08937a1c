"""Random matrices and their matrix functions f(A) (exp, sign, sin, cos)."""

import numpy as np

MATRIX_FUNCTIONS = ("exp", "sign", "sin", "cos")

_SCALAR = {"exp": np.exp, "sign": np.sign, "sin": np.sin, "cos": np.cos}
_SCIPY = {"exp": "expm", "sign": "signm", "sin": "sinm", "cos": "cosm"}


def matrix_function_data(
    function,
    size,
    count,
    seed=None,
    symmetric=True,
    low=-5.0,
    high=5.0,
    dtype="float32",
):
    """Random matrices A and their matrix functions f(A).

    Entries are uniform in [low, high]: for `symmetric=True` the upper
    triangle including the diagonal is drawn and mirrored, otherwise all
    m^2 entries are drawn independently. A symmetric A = V diag(l) V^T
    gets f(A) = V diag(f(l)) V^T (numpy's `eigh`, in float64); a general
    A gets `scipy.linalg.expm`, `signm`, `sinm` or `cosm` (scipy needed),
    whose real part is kept (f(A) is real for real A; signm of a matrix
    with an eigenvalue on the imaginary axis is undefined, an event of
    probability zero here). The targets are computed in float64 and then
    cast to `dtype`.

    Args:
        function: `"exp"`, `"sign"`, `"sin"` or `"cos"`.
        size: m, the matrix size, >= 1.
        count: number of matrices, >= 0.
        seed: seed of `numpy.random.default_rng` (None: fresh entropy).
        symmetric: symmetric (True) or general (False) matrices.
        low, high: the entry range, low < high.
        dtype: `"float32"` or `"float64"`, of both arrays.

    Returns:
        `(x, y)`: two arrays of shape (count, m, m), the matrices A and
        f(A).

    Raises:
        ValueError: unknown function or dtype, size < 1, count < 0, or
            low >= high.
        ImportError: `symmetric=False` without scipy installed.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.datasets import matrix_function_data
    >>> x, y = matrix_function_data("exp", size=3, count=2, seed=0)
    >>> x.shape, y.shape, y.dtype
    ((2, 3, 3), (2, 3, 3), dtype('float32'))
    >>> bool(np.allclose(x, np.swapaxes(x, 1, 2)))
    True
    """
    if function not in MATRIX_FUNCTIONS:
        raise ValueError(
            f"`function` must be one of {list(MATRIX_FUNCTIONS)}. Received: "
            f"function={function!r}"
        )
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"`size` must be an integer. Received: size={size!r}")
    if size < 1:
        raise ValueError(f"`size` must be at least 1. Received: size={size}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise ValueError(
            f"`count` must be an integer. Received: count={count!r}"
        )
    if count < 0:
        raise ValueError(f"`count` must be >= 0. Received: count={count}")
    if not low < high:
        raise ValueError(
            f"Need low < high. Received: low={low!r}, high={high!r}"
        )
    if str(np.dtype(dtype)) not in ("float32", "float64"):
        raise ValueError(
            f"`dtype` must be float32 or float64. Received: dtype={dtype!r}"
        )
    size, count = int(size), int(count)
    rng = np.random.default_rng(seed)
    if symmetric:
        rows, cols = np.triu_indices(size)
        x = np.zeros((count, size, size))
        values = rng.uniform(low, high, size=(count, rows.size))
        x[:, rows, cols] = values
        x[:, cols, rows] = values
        eigenvalues, vectors = np.linalg.eigh(x)
        y = np.einsum(
            "zij,zj,zkj->zik", vectors, _SCALAR[function](eigenvalues), vectors
        )
    else:
        from scipy import linalg  # a dependency of the general case only

        x = rng.uniform(low, high, size=(count, size, size))
        matrix_function = getattr(linalg, _SCIPY[function])
        y = np.empty_like(x)
        for i, matrix in enumerate(x):
            y[i] = np.real(matrix_function(matrix))
    return x.astype(dtype), y.astype(dtype)
