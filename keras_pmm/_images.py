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


# Pillow's modes of 16-bit grey pictures (PNG, TIFF): 0..65535.
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def _grey(image):
    """A Pillow image as float32 grey values in 0..255.

    Transparent pixels are laid on white (as a viewer shows them), so dark
    strokes drawn on a transparent canvas stay strokes; 16-bit grey (0..65535)
    is divided by 257; 32-bit integer grey ("I", which Pillow also uses for
    16-bit PNGs) is read as 16-bit when it exceeds 255.
    """
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, rgba)
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "I":
        values = np.asarray(image, dtype="float64")
        if image.mode in _SIXTEEN_BIT_MODES or values.max(initial=0) > 255:
            if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
                raise ValueError(
                    "holds integer pixels outside 0..65535 (not an 8- or "
                    "16-bit grey image)"
                )
            values = values / 257.0
        return Image.fromarray(values.astype("float32"), mode="F")
    if image.mode == "F":
        values = np.asarray(image, dtype="float32")
        if values.min(initial=0) < 0 or values.max(initial=0) > 255:
            raise ValueError(
                "holds floating-point pixels outside 0..255 "
                f"({values.min():g}..{values.max():g})"
            )
        return image
    return image.convert("L")


def _read_picture(path):
    """A picture file as a (28, 28) float32 grey array in 0..255 (Pillow)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = _grey(image)
            size = (IMAGE_SIZE[1], IMAGE_SIZE[0])
            if image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR)
            return np.clip(np.asarray(image, dtype="float32"), 0.0, 255.0)
    except Exception as error:  # Pillow raises several kinds
        raise ValueError(
            f"Cannot read {path} as an image ({type(error).__name__}: "
            f"{error}); give a PNG, JPEG or .npy file."
        ) from error


def _pixels(array, path):
    """A numeric array as float32 pixels in 0..255, else a ValueError.

    Integers must lie in 0..255; floats in 0..1 are scaled by 255 (images
    saved as intensities), floats in 0..255 are kept; anything else
    (negative, standardised, 16-bit values) is refused, saying why.
    """
    if array.dtype == bool:
        return array.astype("float32") * 255.0
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(
            f"{path} holds {array.dtype} values; expected numbers in 0..255."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{path} must hold finite numbers in 0..255.")
    if not array.size:
        raise ValueError(f"{path} holds no images (shape {array.shape}).")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        hint = (
            " 16-bit images: divide by 257 first."
            if low >= 0 and high <= 65535
            else " Save raw pixel intensities, not standardised images."
        )
        raise ValueError(
            f"{path} must hold pixels in 0..255 (or floats in 0..1); it "
            f"holds values in {low:g}..{high:g}.{hint}"
        )
    if np.issubdtype(array.dtype, np.floating) and high <= 1.0:
        return array.astype("float32") * 255.0
    return array.astype("float32")


def read_images(path, invert="auto"):
    """Reads one file as float32 images (n, 28, 28) in 0..255.

    PNG and JPEG files (any size, colour or grey) are converted to grey and
    resized to 28 x 28 with bilinear interpolation, as Keras' `load_img`
    (grayscale, bilinear) does; transparent pixels are laid on white and
    16-bit grey pictures are divided by 257. `.npy` files hold (28, 28),
    (28, 28, 1) or (n, 28, 28) arrays of pixels: integers in 0..255, or
    floats in 0..255 or in 0..1 (then scaled by 255).

    Args:
        path: the file.
        invert: `"auto"` inverts images whose border is bright (dark ink on
            white paper), `"yes"` always, `"no"` never.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a readable image or array of that
            shape, or holds pixels outside those ranges (negative,
            standardised or 16-bit values in a .npy file).
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
        images = _pixels(array, path)
    else:
        images = _read_picture(path)[None]
    return _maybe_invert(images, invert).astype("float32")
