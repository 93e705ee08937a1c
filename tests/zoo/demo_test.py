"""The main job: every trained preset evaluated, the samples classified."""

from keras_pmm import zoo
from keras_pmm.zoo import demo


def test_demo_reproduces_the_cards_and_classifies_the_samples(data_dir):
    printed = []
    results = demo.run(data_dir, print_fn=printed.append)
    trained = [name for name in zoo.list() if zoo.metadata(name)["trained"]]
    assert sorted(results) == trained
    for name, result in results.items():
        assert abs(result["accuracy"] - result["card_accuracy"]) <= 5e-4
        shipped = [
            sample
            for sample in demo.samples()
            if sample[1] == zoo.PRESETS[name].dataset
        ]
        assert len(result["samples"]) == len(shipped) == 6
        assert result["samples_correct"] >= len(shipped) - 1
    text = "\n".join(printed)
    assert "pmm_mnist" in text and "not trained here" in text
