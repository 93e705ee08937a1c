"""Every layer against a direct float64 numpy implementation of its formula."""

import numpy as np
import pytest

from keras_pmm import layers
from tests.test_case import random_hermitian
from tests.test_case import to_numpy
from tests.test_case import with_spectrum


def unpack(packed, field="real"):
    """Reference unpacking of [diag | upper] / [diag | Re upper | Im upper],
    by loops."""
    packed = np.asarray(packed, dtype="float64")
    length = packed.shape[-1]
    n = (
        int(round((np.sqrt(8 * length + 1) - 1) / 2))
        if field == "real"
        else int(round(np.sqrt(length)))
    )
    out = np.zeros(
        packed.shape[:-1] + (n, n),
        dtype="complex128" if field == "complex" else "float64",
    )
    num_upper = n * (n - 1) // 2
    for i in range(n):
        out[..., i, i] = packed[..., i]
    position = 0
    for i in range(n):
        for j in range(i + 1, n):
            value = packed[..., n + position]
            if field == "complex":
                value = value + 1j * packed[..., n + num_upper + position]
            out[..., i, j] = value
            out[..., j, i] = np.conj(value)
            position += 1
    return out


def randomize_weights(layer, seed=0):
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [
            rng.normal(size=w.shape).astype("float32")
            for w in layer.get_weights()
        ]
    )
    return [w.astype("float64") for w in layer.get_weights()]


def select(eigenvalues, eigenvectors, r, which):
    n = eigenvalues.shape[-1]
    if which == "lowest":
        index = np.arange(r)
    elif which == "highest":
        index = np.arange(n - r, n)
    else:
        index = np.argsort(-np.abs(eigenvalues), kind="stable")[:r]
    return eigenvalues[index], eigenvectors[:, index]


@pytest.mark.parametrize("field", ["real", "complex"])
def test_affine_hermitian(field):
    layer = layers.AffineHermitian(n=4, field=field, commutator_penalty=0.5)
    x = np.random.default_rng(1).normal(size=(3, 2)).astype("float32")
    layer(x)
    bias, kernel = randomize_weights(layer)
    matrices = unpack(np.concatenate([bias[None], kernel]), field)
    expected = matrices[0] + np.einsum(
        "zi,iab->zab", x.astype("float64"), matrices[1:]
    )
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5)

    pairs = [(i, j) for i in range(3) for j in range(i + 1, 3)]
    commutators = [
        matrices[i] @ matrices[j] - matrices[j] @ matrices[i] for i, j in pairs
    ]
    expected_norm = np.mean([np.sum(np.abs(c) ** 2) for c in commutators])
    np.testing.assert_allclose(
        to_numpy(layer.commutator_norm()), expected_norm, rtol=1e-5
    )
    layer(x)
    np.testing.assert_allclose(
        to_numpy(layer.losses[-1]), 0.5 * expected_norm, rtol=1e-5
    )


@pytest.mark.parametrize("field", ["real", "complex"])
def test_matrix_input_hermitian(field):
    layer = layers.MatrixInputHermitian(n=4, field=field)
    x = random_hermitian((2, 3, 3), seed=2)
    layer(x)
    projection, bias = (w for w in randomize_weights(layer))
    k = projection if field == "real" else projection[0] + 1j * projection[1]
    expected = unpack(bias, field) + np.einsum(
        "am,zmk,bk->zab", k, x.astype("float64"), np.conj(k)
    )
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-4)


@pytest.mark.parametrize("normalization", ["image", "block", "none"])
def test_block_gram_encoder(normalization):
    layer = layers.BlockGramEncoder(
        n=3, block_shape=(2, 3), normalization=normalization
    )
    images = np.random.default_rng(3).uniform(size=(2, 4, 6)).astype("float32")
    images[1, :2, :3] = 0.0  # a blank block must give no NaN
    layer(images)
    rows, columns = randomize_weights(layer)
    expected = np.zeros((2, 3, 3))
    for z, image in enumerate(images.astype("float64")):
        if normalization == "image":
            image = image / np.linalg.norm(image)
        block_index = 0
        for top in range(0, 4, 2):
            for left in range(0, 6, 3):
                block = image[top : top + 2, left : left + 3]
                if normalization == "block":
                    block = block / max(np.linalg.norm(block), 1e-12)
                expected[z] += (
                    rows[block_index] @ (block @ block.T) @ rows[block_index].T
                )
                expected[z] += (
                    columns[block_index]
                    @ (block.T @ block)
                    @ columns[block_index].T
                )
                block_index += 1
    np.testing.assert_allclose(
        to_numpy(layer(images)), expected, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(layer(images[..., None])), expected, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_array_equal(
        to_numpy(layer(np.zeros((1, 4, 6), "float32"))), 0.0
    )


def _deskew_reference(image):
    """Moments by loops, then each row resampled by np.interp (zeros beyond
    the edges)."""
    height, width = image.shape
    total = image.sum()
    if total == 0:
        return image
    row_mean = (
        sum(y * image[y, x] for y in range(height) for x in range(width))
        / total
    )
    column_mean = (
        sum(x * image[y, x] for y in range(height) for x in range(width))
        / total
    )
    covariance = variance = 0.0
    for y in range(height):
        for x in range(width):
            covariance += image[y, x] * (y - row_mean) * (x - column_mean)
            variance += image[y, x] * (y - row_mean) ** 2
    slant = covariance / variance
    padded_columns = np.arange(-1, width + 1)
    out = np.zeros_like(image)
    for y in range(height):
        padded_row = np.concatenate([[0.0], image[y], [0.0]])
        sources = np.arange(width) + slant * (y - row_mean)
        out[y] = np.interp(
            sources, padded_columns, padded_row, left=0.0, right=0.0
        )
    return out


def test_deskew():
    rng = np.random.default_rng(5)
    images = rng.uniform(size=(3, 9, 7)) * (rng.uniform(size=(3, 9, 7)) < 0.4)
    images[2] = 0.0  # blank: returned unchanged, no NaN
    expected = np.stack([_deskew_reference(image) for image in images])
    layer = layers.Deskew()
    np.testing.assert_allclose(
        to_numpy(layer(images.astype("float32"))), expected, atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(layer(images[..., None].astype("float32"))),
        expected,
        atol=1e-5,
    )


def test_deskew_makes_a_slanted_stroke_upright():
    stroke = np.zeros((1, 12, 12), "float32")
    for y in range(2, 10):
        stroke[0, y, y // 2 + 2] = 1.0  # leans right, one column per two rows
    upright = to_numpy(layers.Deskew()(stroke))[0]

    def mass_in_two_columns(image):
        return np.sort(image.sum(axis=0))[-2:].sum()

    assert (
        mass_in_two_columns(stroke[0]) == 4.0
    )  # the stroke spans four columns
    np.testing.assert_allclose(
        mass_in_two_columns(upright), 8.0, rtol=1e-5
    )  # now two
    np.testing.assert_allclose(
        upright.sum(), stroke.sum(), rtol=1e-5
    )  # no mass lost inside


def test_image_layers_reject_images_without_known_size():
    with pytest.raises(
        ValueError, match=r"Deskew expects images of shape \(batch, H, W\)"
    ):
        layers.Deskew().compute_output_shape((None, 28))
    with pytest.raises(
        ValueError, match=r"Deskew expects images of shape \(batch, H, W\)"
    ):
        layers.Deskew()(np.zeros((2, 28), "float32"))
    encoder = layers.BlockGramEncoder(n=3, block_shape=(7, 7))
    with pytest.raises(
        ValueError, match=r"BlockGramEncoder expects .* known H and W"
    ):
        encoder.build((None, None, 28, 1))
    with pytest.raises(ValueError, match=r"BlockGramEncoder expects"):
        encoder.build((None, 28, 28, 3))
    with pytest.raises(
        ValueError, match=r"must divide the image shape \(28, 30\)"
    ):
        encoder.build((None, 28, 30, 1))


def test_class_hamiltonians():
    layer = layers.ClassHamiltonians(num_classes=3, size=2)
    m = random_hermitian((2, 4, 4), seed=4)
    layer(m)
    projections, offsets = randomize_weights(layer)
    expected = np.einsum(
        "cam,zmk,cbk->zcab", projections, m.astype("float64"), projections
    )
    expected = expected + unpack(offsets)[None]
    np.testing.assert_allclose(
        to_numpy(layer(m)), expected, rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("which", ["lowest", "highest", "largest_magnitude"])
@pytest.mark.parametrize("units", [None, 2])
def test_eigenvalue_readout(which, units):
    layer = layers.EigenvalueReadout(r=2, which=which, units=units)
    h = np.stack(
        [with_spectrum([-5.0, -1.0, 0.5, 2.0], seed=s) for s in range(3)]
    ).astype("float32")
    layer(h)
    weights = randomize_weights(layer) if units else []
    expected = []
    for matrix in h.astype("float64"):
        values, _ = select(*np.linalg.eigh(matrix), 2, which)
        expected.append(values @ weights[0] + weights[1] if units else values)
    np.testing.assert_allclose(
        to_numpy(layer(h)), np.array(expected), rtol=1e-4, atol=1e-4
    )


def reference_observables(
    h, packed_decoders, bias, r, which, decoder, field, centered
):
    """z_k from the formulas in `ObservableReadout`'s docstring, one matrix
    at a time."""
    stack_shape = h.shape[1:-2]
    n = h.shape[-1]
    units = packed_decoders.shape[len(stack_shape)]
    flat_h = h.reshape((h.shape[0], -1, n, n))
    decoders = unpack(packed_decoders, field).reshape(
        (flat_h.shape[1], units, -1, n, n)
    )
    pairs = list(zip(*np.triu_indices(r)))
    out = np.zeros((flat_h.shape[0], flat_h.shape[1], units))
    for z in range(flat_h.shape[0]):
        for s in range(flat_h.shape[1]):
            _, v = select(
                *np.linalg.eigh(flat_h[z, s].astype("complex128")), r, which
            )
            for k in range(units):
                if decoder == "pairwise":
                    for p, (i, j) in enumerate(pairs):
                        d = decoders[s, k, p]
                        out[z, s, k] += abs(np.conj(v[:, i]) @ d @ v[:, j]) ** 2
                        if centered:
                            out[z, s, k] -= (
                                0.5 * np.max(np.abs(np.linalg.eigvalsh(d))) ** 2
                            )
                else:
                    d = decoders[s, k, 0]
                    if decoder == "expectation":
                        out[z, s, k] = sum(
                            (np.conj(v[:, i]) @ d @ v[:, i]).real
                            for i in range(r)
                        )
                    else:
                        out[z, s, k] = sum(
                            abs(np.conj(v[:, i]) @ d @ v[:, j]) ** 2
                            for i, j in pairs
                        )
                        if centered:
                            out[z, s, k] -= (
                                0.5 * np.max(np.abs(np.linalg.eigvalsh(d))) ** 2
                            )
    out = out.reshape((h.shape[0],) + stack_shape + (units,))
    return out + (bias if bias is not None else 0.0)


@pytest.mark.parametrize("decoder", ["pairwise", "shared", "expectation"])
@pytest.mark.parametrize("field", ["real", "complex"])
@pytest.mark.parametrize("h_field", ["real", "complex"])
def test_observable_readout(decoder, field, h_field):
    layer = layers.ObservableReadout(units=3, r=2, decoder=decoder, field=field)
    h = random_hermitian((4, 5, 5), h_field, seed=5)
    layer(h)
    decoders, bias = randomize_weights(layer)
    expected = reference_observables(
        h, decoders, bias, 2, "lowest", decoder, field, True
    )
    np.testing.assert_allclose(
        to_numpy(layer(h)), expected, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("which", ["highest", "largest_magnitude"])
def test_observable_readout_selection_stacks_and_options(which):
    layer = layers.ObservableReadout(
        units=2, r=3, which=which, centered=False, use_bias=False
    )
    h = random_hermitian((2, 3, 4, 4), seed=6)
    layer(h)
    (decoders,) = randomize_weights(layer)
    assert decoders.shape == (3, 2, 6, 10)
    expected = reference_observables(
        h, decoders, None, 3, which, "pairwise", "real", False
    )
    np.testing.assert_allclose(
        to_numpy(layer(h)), expected, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("decoder", ["pairwise", "shared", "expectation"])
@pytest.mark.parametrize("field", ["real", "complex"])
def test_observable_readout_jacobi_matches_lapack(decoder, field):
    h = random_hermitian((8, 6, 6), field, seed=7)
    lapack = layers.ObservableReadout(
        units=3, r=3, decoder=decoder, field=field
    )
    jacobi = layers.ObservableReadout(
        units=3, r=3, decoder=decoder, field=field, method="jacobi"
    )
    expected = to_numpy(lapack(h))
    jacobi.build(h.shape)  # weights without a forward pass to throw away
    jacobi.set_weights(lapack.get_weights())
    np.testing.assert_allclose(
        to_numpy(jacobi(h)), expected, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("field", ["real", "complex"])
def test_observable_readout_is_invariant_inside_a_degenerate_subspace(field):
    # The three lowest eigenvalues coincide, so any rotation of that subspace is
    # a valid eigenbasis; the expectation read-out over the whole subspace is
    # tr(P D) and must not depend on which basis either solver returns.
    h = np.stack(
        [
            with_spectrum([1.0, 1.0, 1.0, 3.0, 4.5], seed=s, field=field)
            for s in range(4)
        ]
    )
    h = h.astype("complex64" if field == "complex" else "float32")
    readouts = {
        method: layers.ObservableReadout(
            units=2, r=3, decoder="expectation", field=field, method=method
        )
        for method in ("lapack", "jacobi")
    }
    for readout in readouts.values():
        readout(h)
    readouts["jacobi"].set_weights(readouts["lapack"].get_weights())
    decoders, bias = (
        w.astype("float64") for w in readouts["lapack"].get_weights()
    )
    expected = reference_observables(
        h, decoders, bias, 3, "lowest", "expectation", field, True
    )
    for readout in readouts.values():
        np.testing.assert_allclose(
            to_numpy(readout(h)), expected, rtol=1e-4, atol=1e-4
        )


def test_eigenvalue_readout_jacobi_matches_lapack_on_degenerate_spectra():
    h = np.stack(
        [
            with_spectrum([2.0, 2.0, -1.0, -1.0, 0.0, 7.0], seed=s)
            for s in range(4)
        ]
    ).astype("float32")
    lapack = layers.EigenvalueReadout(r=6)
    jacobi = layers.EigenvalueReadout(r=6, method="jacobi")
    np.testing.assert_allclose(
        to_numpy(jacobi(h)), to_numpy(lapack(h)), atol=1e-5 * 7.0
    )


def test_layer_rebuilt_from_config_on_a_wider_input_gets_that_inputs_scale():
    """Issue 16 example: build() overwrote the kernel initializer with
    1/sqrt(p) of the first input."""
    narrow = layers.AffineHermitian(n=40)
    narrow(np.zeros((1, 1), "float32"))
    wide = layers.AffineHermitian.from_config(narrow.get_config())
    wide(np.zeros((1, 64), "float32"))
    # GOE of scale 1/sqrt(p): off-diagonal entries have variance 1 / (p n).
    off_diagonal = to_numpy(wide.kernel_matrices)[:, 40:]
    np.testing.assert_allclose(
        off_diagonal.std(), 1 / np.sqrt(64 * 40), rtol=0.05
    )
    for layer_class, kwargs, shape in (
        (layers.MatrixInputHermitian, dict(n=4), (1, 3, 3)),
        (layers.ClassHamiltonians, dict(num_classes=2), (1, 3, 3)),
    ):
        first = layer_class(**kwargs)
        first(np.zeros(shape, "float32"))
        rebuilt = layer_class.from_config(first.get_config())
        rebuilt(np.zeros((1, 400, 400), "float32"))
        projection = to_numpy(rebuilt.weights[0])
        np.testing.assert_allclose(
            projection.std(), 1 / np.sqrt(400), rtol=0.05
        )
