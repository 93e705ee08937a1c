"""The backend-specific part of `fit_steps`: one compiled training loop.

Each function runs the optimizer steps `start, ..., stop - 1` of Keras's
own `model.train_step`; step i trains on `batch(x, y, i)`. This module is
the one place in keras-pmm's training code that knows the backend:

- JAX: `jax.lax.fori_loop` over the stateless `train_step` inside one
  `jax.jit`, so that a whole chunk of steps is one XLA call (Keras's `fit`
  dispatches one call per step, with its callbacks and data adapter in
  between);
- TensorFlow: a `tf.range` loop over the stateful `train_step` inside one
  `tf.function` (compiled with XLA when the model's `jit_compile` is on);
- PyTorch: a Python loop over `train_step` (`torch.compile`d when the
  model's `jit_compile` is on), with none of `fit`'s per-step callback and
  data-adapter work.
"""

import keras


def make_loop(model, batch):
    """A function `run(x, y, start, stop)` that trains `model` in place."""
    backend = keras.backend.backend()
    if backend == "jax":
        return _jax_loop(model, batch)
    if backend == "tensorflow":
        return _tensorflow_loop(model, batch)
    if backend == "torch":
        return _torch_loop(model, batch)
    raise NotImplementedError(
        f"fit_steps supports the JAX, TensorFlow and PyTorch backends; "
        f"this is {backend!r}."
    )


def _variable_groups(model):
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def _jax_loop(model, batch):
    import jax

    def chunk(state, x, y, start, stop):
        def body(step, state):
            return model.train_step(state, batch(x, y, step))[1]

        return jax.lax.fori_loop(start, stop, body, state)

    compiled = jax.jit(chunk) if model.jit_compile else chunk

    def run(x, y, start, stop):
        groups = _variable_groups(model)
        state = tuple([v.value for v in group] for group in groups)
        state = compiled(state, x, y, start, stop)
        for group, values in zip(groups, state):
            for variable, value in zip(group, values):
                variable.assign(value)

    return run


def _tensorflow_loop(model, batch):
    import tensorflow as tf

    @tf.function(jit_compile=bool(model.jit_compile), reduce_retracing=True)
    def run(x, y, start, stop):
        for step in tf.range(start, stop):
            model.train_step(batch(x, y, step))

    return lambda x, y, start, stop: run(
        x, y, tf.constant(start, "int32"), tf.constant(stop, "int32")
    )


def _torch_loop(model, batch):
    train_step = model.train_step
    if model.jit_compile:  # as Keras's `fit` compiles its step
        import torch

        train_step = torch.compile(train_step)

    def run(x, y, start, stop):
        model.train()  # torch's training mode, as Keras's `fit` sets it
        for step in range(start, stop):
            train_step(batch(x, y, step))

    return run
