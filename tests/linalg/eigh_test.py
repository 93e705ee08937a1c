"""eigh: values and vectors against numpy, gradients, degenerate spectra,
bad input."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_pmm import linalg
from tests.test_case import gradient
from tests.test_case import random_hermitian
from tests.test_case import to_numpy
from tests.test_case import with_spectrum

METHODS = ["lapack", "jacobi"]
FIELDS = ["real", "complex"]


def _check_decomposition(h, values, vectors, atol):
    h = h.astype("complex128" if np.iscomplexobj(h) else "float64")
    scale = max(np.abs(np.linalg.eigvalsh(h)).max(), 1e-30)
    np.testing.assert_allclose(values, np.linalg.eigvalsh(h), atol=atol * scale)
    assert np.all(np.diff(values, axis=-1) >= -atol * scale), (
        "eigenvalues must ascend"
    )
    residual = h @ vectors - vectors * values[..., None, :]
    assert np.abs(residual).max() <= 10 * atol * scale
    gram = np.conj(np.swapaxes(vectors, -1, -2)) @ vectors
    np.testing.assert_allclose(
        gram, np.broadcast_to(np.eye(h.shape[-1]), gram.shape), atol=10 * atol
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("n", [1, 2, 3, 8])
def test_eigh_matches_numpy(method, field, n):
    h = random_hermitian((16, n, n), field, seed=n)
    values, vectors = linalg.eigh(h, method=method)
    values, vectors = to_numpy(values), to_numpy(vectors)
    assert values.dtype == np.float32
    assert np.iscomplexobj(vectors) == (field == "complex")
    _check_decomposition(h, values, vectors, atol=2e-6)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "n", [4, 5, 8, 13, 16, 32]
)  # odd n takes the padded path
def test_jacobi_within_1e_5_of_lapack(field, n):
    """DESIGN target: |l_jacobi - l_lapack| <= 1e-5 ||H||_2 in float32,
    n <= 32."""
    random = random_hermitian((32, n, n), field, seed=100 + n)
    spectrum = np.concatenate(
        [np.repeat(np.arange(1.0, n // 4 + 1), 3), np.linspace(-2, 3, n)]
    )[:n]
    degenerate = with_spectrum(spectrum, seed=n, field=field).astype(
        random.dtype
    )
    h = np.concatenate([random, degenerate[None]])  # one batch, one trace
    jacobi = to_numpy(linalg.eigh(h, method="jacobi")[0])
    lapack = to_numpy(linalg.eigh(h, method="lapack")[0])
    norm = np.abs(lapack).max(axis=-1, keepdims=True)
    assert (np.abs(jacobi - lapack) / norm).max() <= 1e-5


@pytest.mark.parametrize("method", METHODS)
def test_eigh_handles_zero_identity_and_float64(method):
    for h in (
        np.zeros((2, 5, 5), "float32"),
        np.broadcast_to(np.eye(5, dtype="float32"), (2, 5, 5)),
    ):
        values, vectors = linalg.eigh(h, method=method)
        np.testing.assert_allclose(
            to_numpy(values), np.diagonal(h, axis1=1, axis2=2), atol=1e-6
        )
        gram = np.swapaxes(to_numpy(vectors), 1, 2) @ to_numpy(vectors)
        np.testing.assert_allclose(
            gram, np.broadcast_to(np.eye(5), gram.shape), atol=1e-6
        )
    values, _ = linalg.eigh(
        random_hermitian((2, 4, 4), dtype="float16"), method=method
    )
    assert to_numpy(values).dtype == np.float32, (
        "float16 input is solved in float32"
    )


def _phase_invariant_loss(field, n, method, decoder):
    """Weighted low eigenvalues plus |v_i^H D v_j|^2 over a block of pairs."""
    weights = np.arange(1.0, 4.0)

    def numpy_loss(h):
        values, vectors = np.linalg.eigh(h)
        amplitudes = np.conj(vectors.T) @ decoder @ vectors
        return np.sum(values[:3] * weights) + np.sum(
            np.abs(amplitudes[:2, :3]) ** 2
        )

    def keras_loss(parameters):
        h = (
            ops.view_as_complex(parameters)
            if field == "complex"
            else parameters
        )
        values, vectors = linalg.eigh(h, method=method, validate=False)
        d = ops.convert_to_tensor(decoder.astype("float32"))
        if field == "complex":
            re, im = ops.real(vectors), ops.imag(vectors)
            amp_re = ops.matmul(
                ops.transpose(re), ops.matmul(d, re)
            ) + ops.matmul(ops.transpose(im), ops.matmul(d, im))
            amp_im = ops.matmul(
                ops.transpose(re), ops.matmul(d, im)
            ) - ops.matmul(ops.transpose(im), ops.matmul(d, re))
            squared = ops.square(amp_re) + ops.square(amp_im)
        else:
            squared = ops.square(
                ops.matmul(ops.transpose(vectors), ops.matmul(d, vectors))
            )
        return ops.sum(
            values[:3] * ops.convert_to_tensor(weights, "float32")
        ) + ops.sum(squared[:2, :3])

    return numpy_loss, keras_loss


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("field", FIELDS)
def test_gradient_matches_float64_finite_differences(method, field):
    n = 5
    rng = np.random.default_rng(7)
    decoder = random_hermitian((n, n), seed=3).astype("float64")
    h = random_hermitian((n, n), field, seed=11).astype(
        "complex128" if field == "complex" else "float64"
    )
    numpy_loss, keras_loss = _phase_invariant_loss(field, n, method, decoder)
    parameters = np.stack([h.real, h.imag], -1) if field == "complex" else h
    grad = gradient(keras_loss, parameters.astype("float32"))
    for _ in range(4):
        direction = random_hermitian(
            (n, n), field, seed=int(rng.integers(1000))
        ).astype(h.dtype)
        step = 1e-6
        finite_difference = (
            numpy_loss(h + step * direction) - numpy_loss(h - step * direction)
        ) / (2 * step)
        packed_direction = (
            np.stack([direction.real, direction.imag], -1)
            if field == "complex"
            else direction
        )
        analytic = np.sum(grad * packed_direction)
        assert abs(analytic - finite_difference) <= 2e-5 * max(
            1.0, abs(finite_difference)
        )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "h, bound",
    [
        (np.zeros((4, 4)), 1e3),
        (np.eye(4), 1e3),
        (np.diag([1.0, 1.0, 2.0, 2.0]), 1e3),
        # A true gap of 1e-4: the exact gradient is ~1/gap, so large but finite
        # and below the broadening cap 1 / (2 * 1e-6 * spectral radius).
        (with_spectrum([0.0, 1.0, 1.0 + 1e-4, 2.0]), 1e6),
    ],
    ids=["zero", "identity", "repeated", "near_degenerate"],
)
def test_gradients_finite_at_degenerate_spectra(method, h, bound):
    decoder = ops.convert_to_tensor(random_hermitian((4, 4), seed=5))

    def loss(t):
        values, vectors = linalg.eigh(t, method=method, validate=False)
        amplitudes = ops.matmul(
            ops.transpose(vectors), ops.matmul(decoder, vectors)
        )
        return (
            ops.sum(values)
            + ops.sum(ops.square(amplitudes[:2, :2]))
            + ops.sum(ops.square(vectors[:, :2]))
        )

    grad = gradient(loss, h.astype("float32"))
    assert np.all(np.isfinite(grad))
    assert np.abs(grad).max() < bound


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match=r"square.*h.shape=\(3, 4\)"):
        linalg.eigh(np.zeros((3, 4), "float32"))
    with pytest.raises(
        ValueError, match=r"shape \(\.\.\., n, n\).*h.shape=\(3,\)"
    ):
        linalg.eigh(np.zeros((3,), "float32"))
    with pytest.raises(ValueError, match="must be symmetric"):
        linalg.eigh(np.array([[1.0, 2.0], [0.0, 1.0]], "float32"))
    with pytest.raises(ValueError, match="must be Hermitian"):
        linalg.eigh(np.array([[1.0, 1j], [1j, 1.0]], "complex64"))
    with pytest.raises(ValueError, match="must be finite.*nan"):
        linalg.eigh(np.array([[np.nan, 0.0], [0.0, 1.0]], "float32"))
    with pytest.raises(ValueError, match="method='qr'"):
        linalg.eigh(np.eye(2, dtype="float32"), method="qr")
    with pytest.raises(ValueError, match="sweeps=0"):
        linalg.jacobi_eigh(np.eye(2, dtype="float32"), sweeps=0)


def _off_diagonal_loss(method):
    decoder = np.zeros((3, 3), "float32")
    decoder[0, 1] = decoder[1, 0] = 1.0

    def loss(t):
        _, vectors = linalg.eigh(t, method=method, validate=False)
        v0 = vectors[:, 0]
        return ops.sum(v0 * ops.matmul(ops.convert_to_tensor(decoder), v0))

    return loss


@pytest.mark.parametrize("method", METHODS)
def test_gradient_is_order_one_for_pairs_split_only_by_rounding(method):
    """Issue 16 example: diag(1, 1 + 2**-23, 3), L = v_0^T D v_0, D_01 = 1
    gave |dL/dh| = 1.3e4.

    With b = sqrt(eps32) and s = 3, F_10 = -g / (g^2 + (b s)^2), g = 2**-23,
    and dL/dh_01 = dL/dh_10 = F_10 (the Hermitian part halves each), so
    |dL/dh| = sqrt(2) |F_10| = 0.157. The same matrix written as
    Q diag(1, 1, 3) Q^T (split by rounding only) gave 1.2e4.
    """
    gap = 2.0**-23
    h = np.diag([1.0, 1.0 + gap, 3.0]).astype("float32")
    grad = gradient(_off_diagonal_loss(method), h)
    b = float(np.finfo("float32").eps) ** 0.5
    expected = np.sqrt(2) * gap / (gap**2 + (3 * b) ** 2)
    np.testing.assert_allclose(np.linalg.norm(grad), expected, rtol=1e-3)
    rotated = with_spectrum([1.0, 1.0, 3.0], seed=4).astype("float32")
    assert (
        np.linalg.norm(gradient(_off_diagonal_loss(method), rotated)) < 1.0
    ), "O(1) in any basis"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("gap", [0.0, 2.0**-23, 1e-6, 1e-2])
def test_subspace_invariant_outputs_match_float64_finite_differences(
    method, gap
):
    """Projector onto the two lowest eigenvectors: the broadening cancels
    inside the pair.

    Float32 rounding of V^T W V, amplified by the largest broadened inverse
    gap 1 / (2 b s), is what remains: 1e-6 at (near-)degeneracy, 1e-5 at a
    gap of 1e-2, and at most about 1e-4 (Jacobi) for gaps near b s = 1.6e-3.
    """
    h = with_spectrum([1.0, 1.0 + gap, 3.0, 4.5], seed=2)
    weight = random_hermitian((4, 4), seed=6).astype("float64")

    def numpy_loss(m):
        vectors = np.linalg.eigh(m)[1][:, :2]
        return np.sum(weight * (vectors @ vectors.T))

    def keras_loss(t):
        _, vectors = linalg.eigh(t, method=method, validate=False)
        low = vectors[:, :2]
        projector = ops.matmul(low, ops.transpose(low))
        return ops.sum(
            ops.convert_to_tensor(weight.astype("float32")) * projector
        )

    grad = gradient(keras_loss, h.astype("float32"))
    direction = random_hermitian((4, 4), seed=8).astype("float64")
    step = 1e-5
    finite_difference = (
        numpy_loss(h + step * direction) - numpy_loss(h - step * direction)
    ) / (2 * step)
    analytic = np.sum(grad * direction)
    assert abs(analytic - finite_difference) <= 1e-4 * max(
        1.0, abs(finite_difference)
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "h, expected",
    [
        ([[0.0, 9.3e18], [9.3e18, 0.0]], [-9.3e18, 9.3e18]),
        ([[1e19, 1e19], [1e19, 1e19]], [0.0, 2e19]),
        ([[0.0, 1e-30], [1e-30, 0.0]], [-1e-30, 1e-30]),
        ([[3e38, 1e38], [1e38, -3e38]], [-np.sqrt(1e77), np.sqrt(1e77)]),
        ([[1e-37, 1e-37], [1e-37, 1e-37]], [0.0, 2e-37]),
    ],
    # Denormals are left out: TensorFlow and XLA flush them to zero on CPU.
    ids=[
        "huge_off_diagonal",
        "huge_rank_one",
        "tiny",
        "near_float32_max",
        "near_float32_min",
    ],
)
def test_eigh_handles_any_finite_float32_scale(method, h, expected):
    """Issue 16 example: Jacobi returned [0, 0] for the first and
    [1e19, 1e19] for the second."""
    values = to_numpy(linalg.eigh(np.array(h, "float32"), method=method)[0])
    scale = np.abs(expected).max()
    np.testing.assert_allclose(values, expected, atol=1e-6 * scale)


def test_eigh_accepts_variables():
    """Issue 16 example: a tf.Variable raised AttributeError."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(np.diag([2.0, 1.0]).astype("float32"))
    else:
        variable = keras.Variable(np.diag([2.0, 1.0]).astype("float32"))
    np.testing.assert_allclose(to_numpy(linalg.eigh(variable)[0]), [1.0, 2.0])
    np.testing.assert_allclose(
        to_numpy(linalg.eigh([[2.0, 0.0], [0.0, 1.0]])[0]), [1.0, 2.0]
    )


class _EighLayer(keras.layers.Layer):
    """Eigenvalues and flattened eigenvectors, for a jit-compiled predict."""

    def __init__(self, method, **kwargs):
        super().__init__(**kwargs)
        self.method = method

    def call(self, h):
        values, vectors = linalg.eigh(h, method=self.method, validate=False)
        return keras.ops.concatenate(
            [values, keras.ops.reshape(vectors, (-1, 4))], axis=-1
        )


@pytest.mark.parametrize("method", METHODS)
def test_jit_compiled_eigh_of_tiny_matrices_has_finite_eigenvectors(method):
    """Issue 31, item 15: under XLA, matrices of scale 1e-19..1e-21 got the
    right eigenvalues and NaN eigenvectors (the broadened inverse gaps
    divided twice by the spectral radius, which XLA fuses into one
    underflowing square). Checked with jit_compile=True on every backend
    (XLA on TensorFlow and JAX, torch.compile on PyTorch)."""
    scales = [1e-19, 1e-20, 1e-21]
    h = np.array(
        [[[a, a], [a, a]] for a in scales] + [[[0, a], [a, 0]] for a in scales],
        "float32",
    )
    model = keras.Sequential([keras.Input((2, 2)), _EighLayer(method)])
    model.compile(jit_compile=True)
    out = model.predict(h, batch_size=len(h), verbose=0).astype("float64")
    values, vectors = out[:, :2], out[:, 2:].reshape(-1, 2, 2)
    assert np.all(np.isfinite(vectors))
    unit = np.abs(h).max(axis=(1, 2))[:, None, None]
    np.testing.assert_allclose(
        np.swapaxes(vectors, 1, 2) @ vectors, np.eye(2)[None] + 0 * h, atol=1e-5
    )
    diagonal = np.swapaxes(vectors, 1, 2) @ (h / unit) @ vectors
    np.testing.assert_allclose(
        diagonal, values[:, :, None] / unit * np.eye(2), atol=1e-5
    )
