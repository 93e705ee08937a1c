"""Cost of keras-pmm's eager input checks against one PyTorch training step.

PyTorch trains eagerly, so a check inside `call` runs on every batch. This
script times, for the `pmm_mnist` architecture (n = 12, m = 6, 7x7 blocks,
deskewing, X^0.5 pixels) at batch 128:

- one training step (`train_on_batch`, which includes the model's entry check);
- the model's entry check (`check_inputs`: shape, NaN/inf, non-negative
  pixels) on that batch;
- the per-layer checks keras-pmm ran inside every layer call before issue 16
  (NaN/inf of the encoder input, Hermiticity of the encodings M and of the
  class Hamiltonians H_c, which `eigh` checked when called from a layer).

Medians of `--repeats` runs after warm-up, in milliseconds. Run:

    KERAS_BACKEND=torch python benchmarks/input_check_bench.py
"""

import argparse

import numpy as np
from eigh_bench import _median_ms as median_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()

    import keras

    from keras_pmm import _validation
    from keras_pmm import models

    keras.utils.set_random_seed(0)
    model = models.ImagePMMClassifier(
        num_classes=10,
        n=12,
        hamiltonian_size=6,
        block_shape=(7, 7),
        r=2,
        intensity_exponent=0.5,
        deskew=True,
    )
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch, 28, 28)).astype("uint8")
    labels = rng.integers(0, 10, args.batch)
    tensor = keras.ops.convert_to_tensor(images)
    encodings = model.encoder(
        model.deskewer(keras.ops.cast(tensor, "float32") / 255.0)
    )
    hamiltonians = model.hamiltonians(encodings)

    def layer_checks():
        _validation.check_finite(tensor, "inputs")
        _validation.check_hermitian(encodings, "h")
        _validation.check_hermitian(hamiltonians, "h")

    step = median_ms(lambda: model.train_on_batch(images, labels), args.repeats)
    entry = median_ms(lambda: model.check_inputs(tensor), args.repeats)
    per_layer = median_ms(layer_checks, args.repeats)
    print(
        f"backend {keras.backend.backend()}, batch {args.batch}, median of "
        f"{args.repeats}"
    )
    print(f"training step:               {step:8.3f} ms")
    print(
        f"model entry check:           {entry:8.3f} ms "
        f"({100 * entry / step:.2f}% of a step)"
    )
    print(
        f"former per-layer checks:     {per_layer:8.3f} ms "
        f"({100 * per_layer / step:.2f}% of a step)"
    )


if __name__ == "__main__":
    main()
