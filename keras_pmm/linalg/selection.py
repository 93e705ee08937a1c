"""Selection of r eigenpairs out of n."""

from keras import ops

from keras_pmm import _validation

WHICH = ("lowest", "highest", "largest_magnitude")


def check_selection(r, n, which):
    """Validates an eigenpair selection; returns r as an int."""
    r = _validation.check_positive_int(r, "r")
    _validation.check_choice(which, "which", WHICH)
    if n is not None and r > n:
        raise ValueError(
            "`r` (eigenpairs to select) must be at most the matrix size "
            f"n={n}. Received: r={r}"
        )
    return r


def select_eigenpairs(eigenvalues, eigenvectors, r, which="lowest"):
    """Keeps r eigenpairs of an ascending decomposition.

    Args:
        eigenvalues: (..., n), ascending (as returned by `eigh`).
        eigenvectors: (..., n, n), eigenvectors in columns.
        r: number of pairs to keep, 1 <= r <= n.
        which: `"lowest"` (the r smallest, ascending), `"highest"` (the r
            largest, ascending) or `"largest_magnitude"` (the r largest |l|,
            by decreasing magnitude).

    Returns:
        `(values, vectors)` of shapes (..., r) and (..., n, r).
    """
    n = eigenvalues.shape[-1]
    r = check_selection(r, n, which)
    if which == "lowest":
        return eigenvalues[..., :r], eigenvectors[..., :r]
    if which == "highest":
        return eigenvalues[..., n - r :], eigenvectors[..., n - r :]
    _, index = ops.top_k(ops.abs(eigenvalues), k=r)
    values = ops.take_along_axis(eigenvalues, index, axis=-1)
    column_index = ops.broadcast_to(
        ops.expand_dims(index, -2), tuple(ops.shape(eigenvectors)[:-1]) + (r,)
    )
    return values, ops.take_along_axis(eigenvectors, column_index, axis=-1)
