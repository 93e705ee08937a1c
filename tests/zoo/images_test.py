"""Reading user images for `keras-pmm predict`."""

import keras
import numpy as np
import pytest

from keras_pmm.zoo.images import read_images


def _digit(background=0, ink=255):
    image = np.full((28, 28), background, "uint8")
    image[6:22, 12:16] = ink
    return image


@pytest.mark.parametrize("extension", ["png", "jpg"])
def test_light_on_dark_image_is_read_as_is(tmp_path, extension):
    path = tmp_path / f"digit.{extension}"
    keras.utils.save_img(path, _digit()[..., None], scale=False)
    images = read_images(path)
    assert images.shape == (1, 28, 28) and images.dtype == np.float32
    error = np.abs(images[0] - _digit())
    assert error.max() <= (0 if extension == "png" else 40)  # JPEG is lossy
    assert error.mean() < 2


def test_large_colour_photo_of_dark_ink_is_resized_greyed_and_inverted(
    tmp_path,
):
    big = np.repeat(
        np.repeat(_digit(background=255, ink=0), 4, axis=0), 4, axis=1
    )
    colour = np.stack([big, big, big], axis=-1)
    path = tmp_path / "photo.png"
    keras.utils.save_img(path, colour, scale=False)
    images = read_images(path)
    assert images.shape == (1, 28, 28)
    assert images[0, 0, 0] < 10 and images[0, 14, 13] > 200
    assert read_images(path, invert="no")[0, 0, 0] > 245


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1), (3, 28, 28)])
def test_npy_arrays_of_the_accepted_shapes(tmp_path, shape):
    array = (
        np.random.default_rng(0).integers(0, 100, size=shape).astype("uint8")
    )
    path = tmp_path / "x.npy"
    np.save(path, array)
    images = read_images(path, invert="no")
    assert images.shape == (
        shape[0] if len(shape) == 3 and shape[0] != 28 else 1,
        28,
        28,
    )
    np.testing.assert_array_equal(
        images.reshape(-1), array.reshape(-1).astype("float32")
    )


def test_invert_yes_flips_every_image(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, _digit())
    np.testing.assert_array_equal(
        read_images(path, invert="yes")[0], 255.0 - _digit()
    )


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        (b"not an image at all", ".png", "Cannot read .* as an image"),
        (b"\x89PNG\r\n\x1a\n truncated", ".png", "Cannot read .* as an image"),
        (b"garbage", ".npy", "Cannot read .* as a .npy array"),
    ],
)
def test_unreadable_files_say_so(tmp_path, content, suffix, message):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_images(path)


def test_wrong_array_shape_and_values(tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((28, 30)))
    with pytest.raises(
        ValueError, match=r"shape \(28, 30\); expected \(28, 28\)"
    ):
        read_images(tmp_path / "wide.npy")
    np.save(tmp_path / "nan.npy", np.full((28, 28), np.nan))
    with pytest.raises(ValueError, match="finite numbers"):
        read_images(tmp_path / "nan.npy")
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_images(tmp_path / "missing.png")


class TestPixelRanges:
    """Issue 31, item 6: every image is scaled to 0..255 or refused."""

    def test_sixteen_bit_png_is_scaled_to_0_255(self, tmp_path):
        from PIL import Image

        path = tmp_path / "digit16.png"
        Image.fromarray(_digit().astype("uint16") * 257).save(path)
        with Image.open(path) as image:
            assert image.mode.startswith("I")  # Pillow reads 16-bit grey
        images = read_images(path, invert="no")
        np.testing.assert_allclose(images[0], _digit(), atol=1e-3)

    def test_dark_strokes_on_a_transparent_canvas_are_strokes(self, tmp_path):
        from PIL import Image

        rgba = np.zeros((28, 28, 4), "uint8")  # transparent black
        rgba[6:22, 12:16] = (0, 0, 0, 255)  # opaque black ink
        path = tmp_path / "drawn.png"
        Image.fromarray(rgba, mode="RGBA").save(path)
        # Laid on white, then inverted to light-on-dark like MNIST.
        np.testing.assert_allclose(read_images(path)[0], _digit(), atol=1e-3)

    @pytest.mark.parametrize(
        "array,message",
        [
            (_digit().astype("float32") - 127.5, "standardised"),
            (_digit().astype("uint16") * 257, "divide by 257"),
            (np.full((28, 28), "a"), "expected numbers"),
            (np.zeros((0, 28, 28)), "no images"),
        ],
        ids=["negative", "sixteen_bit", "strings", "empty"],
    )
    def test_npy_outside_the_pixel_range_is_refused(
        self, tmp_path, array, message
    ):
        np.save(tmp_path / "x.npy", array)
        with pytest.raises(ValueError, match=message):
            read_images(tmp_path / "x.npy")

    def test_npy_intensities_in_0_1_are_scaled(self, tmp_path):
        np.save(tmp_path / "x.npy", _digit() / 255.0)
        np.testing.assert_allclose(
            read_images(tmp_path / "x.npy", invert="no")[0], _digit(), atol=1e-3
        )
        np.save(tmp_path / "b.npy", _digit() > 0)
        np.testing.assert_allclose(
            read_images(tmp_path / "b.npy", invert="no")[0], _digit()
        )
