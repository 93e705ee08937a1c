"""The main job: every trained preset evaluated, the samples classified, and
`pmm_mnist` exported to TFLite and run by LiteRT."""

import re

import pytest

from keras_pmm import zoo
from keras_pmm.zoo import demo


@pytest.mark.large  # full test sets of every preset: once, on one backend
def test_demo_reproduces_the_cards_and_classifies_the_samples(data_dir):
    printed = []
    results = demo.run(data_dir, print_fn=printed.append)
    trained = [
        name
        for name in zoo.list()
        if zoo.metadata(name)["trained"] and zoo.PRESETS[name].kind == "image"
    ]
    assert sorted(results) == trained
    for name, result in results.items():
        # A Bayesian preset's posterior draws differ between backends.
        sampled = "num_samples" in zoo.PRESETS[name].arguments
        tolerance = 0.003 if sampled else 5e-4
        assert abs(result["accuracy"] - result["card_accuracy"]) <= tolerance
        shipped = [
            sample
            for sample in demo.samples()
            if sample[1] == zoo.PRESETS[name].dataset
        ]
        assert len(result["samples"]) == len(shipped) == 6
        assert result["samples_correct"] >= len(shipped) - 1
    text = "\n".join(printed)
    assert "pmm_mnist" in text and "not trained here" in text

    # The ensemble flags the clothing image, and few of the digits.
    shown = results[demo.UNCERTAINTY_PRESET]["uncertainty"]
    digits = [row for row in shown["samples"] if row[1] == "mnist"]
    clothing = [row for row in shown["samples"] if row[1] != "mnist"]
    assert len(digits) == 6 and len(clothing) == 1
    assert clothing[0][5] and clothing[0][3] > shown["threshold"] > 0
    assert sum(row[5] for row in digits) <= 1
    assert all(row[4] >= 0 for row in shown["samples"])
    assert "UNCERTAIN" in text

    # The TFLite file, run by the LiteRT interpreter, agrees with Keras.
    tflite = results[demo.TFLITE_PRESET]["tflite"]
    shipped = [s for s in demo.samples() if s[1] == "mnist"]
    assert tflite["images"] == len(shipped) == 6
    assert tflite["agree"] == tflite["images"]
    assert 0 <= tflite["max_difference"] < 1e-4
    assert tflite["ops"] and "WHILE" in tflite["ops"]  # the Jacobi sweeps
    keras_classes = {
        path: predicted
        for path, _, predicted in results[demo.TFLITE_PRESET]["samples"]
    }
    for sample, keras_class, tflite_class in tflite["samples"]:
        assert keras_class == tflite_class == keras_classes[sample]
    # ... and says so in its last line.
    final = printed[-1].strip()
    match = re.fullmatch(
        r"TFLite \(builtins only, (\d+) KB\): (\d+)/(\d+) sample images "
        r"agree with Keras, max \|p difference\| (\S+)",
        final,
    )
    assert match, final
    kilobytes, agree, total, difference = match.groups()
    assert int(kilobytes) == round(tflite["file_bytes"] / 1024) > 0
    assert int(agree) == int(total) == len(shipped)
    assert float(difference) < 1e-4
    assert "exported to TFLite" in text and " NO " not in text
