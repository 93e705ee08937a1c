"""The main job: every trained preset evaluated, the bundled samples classified."""

from keras_pmm import zoo
from keras_pmm.zoo import demo


def test_demo_reproduces_the_cards_and_classifies_the_samples(data_dir):
    printed = []
    results = demo.run(data_dir, print_fn=printed.append)
    trained = [name for name in zoo.list() if zoo.metadata(name)["trained"]]
    assert sorted(results) == trained
    for name, result in results.items():
        assert abs(result["accuracy"] - result["card_accuracy"]) <= 5e-4
        assert len(result["samples"]) == len(demo.SAMPLE_INDICES)
        assert result["samples_correct"] >= len(demo.SAMPLE_INDICES) - 1
    text = "\n".join(printed)
    assert "pmm_mnist" in text and "not trained here" in text
