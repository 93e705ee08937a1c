"""User images for prediction: PNG/JPEG/.npy to (n, 28, 28) grey 0..255.

Needs numpy and Pillow only (no Keras), so that `keras-pmm predict` on a
`.tflite` file runs without Keras or TensorFlow. `keras_pmm.zoo.images`
re-exports it.
"""

import pathlib

import numpy as np

IMAGE_SIZE = (28, 28)


def _maybe_invert(images, invert):
    """The data sets are light strokes on black; flip dark-on-light input."""
    if invert == "no":
        return images
    if invert == "yes":
        return 255.0 - images
    border = np.concatenate(
        [images[:, 0, :], images[:, -1, :], images[:, :, 0], images[:, :, -1]],
        axis=1,
    )
    bright = border.mean(axis=1) > 127.5
    return np.where(bright[:, None, None], 255.0 - images, images)


def _read_picture(path):
    """A picture file as a (28, 28) float32 grey array (Pillow)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.mode not in ("L", "I;16", "I"):
                image = image.convert("L")
            size = (IMAGE_SIZE[1], IMAGE_SIZE[0])
            if image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(image, dtype="float32")
    except Exception as error:  # Pillow raises several kinds
        raise ValueError(
            f"Cannot read {path} as an image ({type(error).__name__}: "
            f"{error}); give a PNG, JPEG or .npy file."
        ) from error


def read_images(path, invert="auto"):
    """Reads one file as float32 images (n, 28, 28) in 0..255.

    PNG and JPEG files (any size, colour or grey) are converted to grey and
    resized to 28 x 28 with bilinear interpolation, as Keras' `load_img`
    (grayscale, bilinear) does. `.npy` files hold (28, 28),
    (28, 28, 1) or (n, 28, 28) arrays with values in 0..255.

    Args:
        path: the file.
        invert: `"auto"` inverts images whose border is bright (dark ink on
            white paper), `"yes"` always, `"no"` never.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable image or array of that shape.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise ValueError(
                f"Cannot read {path} as a .npy array: {error}"
            ) from error
        original_shape = array.shape
        if (
            array.ndim == 3
            and array.shape[-1] == 1
            and array.shape[:2] == IMAGE_SIZE
        ):
            array = array[..., 0]
        if array.ndim == 2:
            array = array[None]
        if array.ndim != 3 or array.shape[1:] != IMAGE_SIZE:
            raise ValueError(
                f"{path} holds an array of shape {original_shape}; expected "
                "(28, 28), (28, 28, 1) "
                "or (n, 28, 28) grey images."
            )
        if not np.issubdtype(array.dtype, np.number) or not np.all(
            np.isfinite(array)
        ):
            raise ValueError(f"{path} must hold finite numbers in 0..255.")
        images = array.astype("float32")
    else:
        images = _read_picture(path)[None]
    return _maybe_invert(images, invert).astype("float32")
