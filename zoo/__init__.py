"""Pretrained PMM presets (`keras_pmm.zoo`).

The image-classification presets, their weights and model cards arrive with
the zoo issue; for now the registry is empty and says so.
"""

PRESETS = {}


def list():  # noqa: A001 - `keras_pmm.zoo.list()` is the public name
    """Names of the available presets, sorted."""
    return sorted(PRESETS)


def load(name_or_dir):
    """Loads a preset by name; raises with the known names for unknown ones."""
    raise ValueError(
        f"Unknown preset {name_or_dir!r}. Known presets: {sorted(PRESETS) or 'none yet'}."
    )
