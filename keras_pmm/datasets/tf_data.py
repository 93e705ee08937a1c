"""`tf.data` pipelines over the loaders' numpy arrays (TensorFlow only)."""


def to_tf_dataset(
    images, labels=None, batch_size=128, shuffle=False, seed=None
):
    """Wraps numpy images (and labels) in a batched, prefetched dataset.

    The result is a `tf.data.Dataset`.

    Works with any Keras backend that accepts `tf.data` in `fit` (all three
    do), but needs TensorFlow installed (`pip install keras-pmm[tensorflow]`).

    Args:
        images: (n, H, W) array as the loaders return it.
        labels: (n,) labels, or None for a dataset of images only.
        batch_size: examples per batch, >= 1.
        shuffle: reshuffle the whole set each epoch.
        seed: shuffle seed, for reproducible order.

    Returns:
        `tf.data.Dataset` of `images` or `(images, labels)` batches.

    Example:
    >>> import numpy as np
    >>> from keras_pmm.datasets import to_tf_dataset
    >>> images, labels = np.zeros((10, 28, 28), "uint8"), np.arange(10)
    >>> dataset = to_tf_dataset(images, labels, batch_size=4, shuffle=True)
    >>> [tuple(x.shape) for x, y in dataset]
    [(4, 28, 28), (4, 28, 28), (2, 28, 28)]
    """
    from keras_pmm import _validation

    batch_size = _validation.check_positive_int(batch_size, "batch_size")
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "to_tf_dataset needs TensorFlow: pip install "
            "'keras-pmm[tensorflow]', or feed "
            "the numpy arrays to fit() directly."
        ) from error
    if labels is not None and len(labels) != len(images):
        raise ValueError(
            f"images and labels differ in length: {len(images)} and "
            f"{len(labels)}."
        )
    dataset = tf.data.Dataset.from_tensor_slices(
        images if labels is None else (images, labels)
    )
    if shuffle:
        dataset = dataset.shuffle(
            len(images), seed=seed, reshuffle_each_iteration=True
        )
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
