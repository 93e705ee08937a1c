"""Training helpers for small in-memory data sets.

`fit_steps` runs a fixed number of optimizer steps of a compiled Keras
model's own `train_step` in one compiled loop, and `cosine_adam` builds the
optimizer the README recommends for it. Together they are the small-data
recipe of `benchmarks/pypmm_tasks.py`, `benchmarks/regression/run.py` and
the tutorials.
"""

from keras_pmm.training.fit_steps import cosine_adam
from keras_pmm.training.fit_steps import fit_steps

__all__ = ["cosine_adam", "fit_steps"]
