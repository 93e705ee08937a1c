"""Cards and the README table must agree with the shipped metadata."""

import pathlib

import pytest

from keras_pmm import zoo
from keras_pmm.zoo import storage
from tools import cards

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_zoo_table_is_up_to_date():
    section = cards.readme_section(README.read_text())
    assert section is not None, "README lacks the zoo-table markers"
    assert section == cards.render_table(zoo.PRESETS_DIR), (
        "README zoo table is stale: run `python tools/cards.py readme`"
    )


@pytest.mark.parametrize("name", zoo.list())
def test_card_is_up_to_date(name):
    folder = zoo.PRESETS_DIR / name
    metadata = storage.read_metadata(folder)
    assert (folder / cards.CARD_FILE).read_text() == cards.render_card(
        metadata
    ), f"card of {name} is stale: run `python tools/cards.py card {name}`"
    if metadata["trained"]:
        figure = (
            cards.ARRAY_PLOT_FILE
            if zoo.PRESETS[name].kind == "array"
            else cards.CONFUSION_FILE
        )
        png = (folder / figure).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_rendered_table_has_a_row_per_preset():
    table = cards.render_table(zoo.PRESETS_DIR).splitlines()
    assert len(table) == 2 + len(zoo.list())
    assert any("not trained here" in row for row in table)


@pytest.mark.parametrize(
    "command, expected",
    [
        ("keras-pmm train pmm_mnist", "runs/pmm_mnist"),
        (
            "keras-pmm --backend jax train pmm_mnist --output runs/other "
            "--overwrite",
            "runs/other",
        ),
        ("keras-pmm train pmm_mnist --output=/tmp/x", "/tmp/x"),
    ],
)
def test_card_names_the_folder_the_training_command_writes(command, expected):
    assert cards._output_folder(command) == expected


def test_card_rounds_once_and_marks_the_figures_that_miss_the_target():
    metadata = storage.read_metadata(
        zoo.PRESETS_DIR / "pmm_fashion_mnist_bayes"
    )
    preset = metadata["uncertainty"]["preset"]
    # 0.1234499 rounded to 5 places and then to 4 shows 0.1235.
    preset.update(brier=0.1234499, ood_auroc=0.81)
    card = cards.render_card(metadata)
    assert "| 0.1234 |" in card and "0.1235" not in card
    assert "| 0.8100 **(misses target)** |" in card
    assert "(**missed**: OOD AUROC >= 0.90 against MNIST)" in card
    preset["ood_auroc"] = 0.95
    card = cards.render_card(metadata)
    assert (
        "misses target" not in card
        and "OOD AUROC >= 0.90 against MNIST (met)" in card
    )
    plain = storage.read_metadata(zoo.PRESETS_DIR / "pmm_fashion_mnist")
    plain["evaluation"]["test_accuracy"] = 0.8826
    assert "**misses the target**" in cards.render_card(plain)
    plain["evaluation"]["test_accuracy"] = 0.89
    assert "misses" not in cards.render_card(plain)
