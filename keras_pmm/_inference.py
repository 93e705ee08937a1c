"""The inference scope that `keras_pmm.export` traces models under.

A traced export graph differs from the training graph in two ways, both
switched on by one `InferenceScope` and nothing else:

- every eigendecomposition of an input-dependent matrix uses the cyclic
  Jacobi solver (`keras_pmm.linalg.jacobi_eigh`), which converts to TFLite
  with builtin ops only, whatever `method` the layer was built with;
- every quantity that depends on weights only (a Hermitian matrix unpacked
  from packed weights, a decoder's spectral norm) is computed once, when the
  graph is traced, by the scope's `evaluate` function, and enters the graph
  as a constant. An exported model never diagonalises a decoder per input.

Layers ask for such quantities through `weight_constant`; outside a scope it
simply computes them, so training and `predict` are unchanged. This module
imports no backend: the exporter hands the scope an `evaluate` that knows how
to run a computation eagerly while a graph is being traced.
"""

import threading

from keras import ops

_state = threading.local()


class InferenceScope:
    """Context manager: Jacobi eigensolves and weight-only constants.

    Args:
        evaluate: callable taking a zero-argument function and returning its
            value as a numpy array, computed eagerly (outside any graph being
            traced).
        sweeps: Jacobi sweeps for every input-dependent eigensolve; `None`
            for `keras_pmm.linalg.default_sweeps(n)`.
        unroll: write the Jacobi rounds out as ops instead of one loop.
    """

    def __init__(self, evaluate, sweeps=None, unroll=False):
        self.evaluate = evaluate
        self.sweeps = sweeps
        self.unroll = unroll
        self._constants = {}
        self._previous = None

    def constant(self, layer, name, compute):
        key = (id(layer), name)
        if key not in self._constants:
            # Weight-only values are computed with the layer's own solver
            # (LAPACK by default): they are exact constants, not traced ops.
            _state.scope = None
            try:
                self._constants[key] = self.evaluate(compute)
            finally:
                _state.scope = self
        return ops.convert_to_tensor(self._constants[key])

    @property
    def num_constants(self):
        """How many weight-only quantities were folded into constants."""
        return len(self._constants)

    def __enter__(self):
        self._previous = current()
        _state.scope = self
        return self

    def __exit__(self, *exc_info):
        _state.scope = self._previous


def current():
    """The active `InferenceScope`, or None."""
    return getattr(_state, "scope", None)


def weight_constant(layer, name, compute):
    """`compute()`, folded into a constant under an `InferenceScope`.

    Args:
        layer: the layer the value belongs to (a cache key with `name`).
        name: the value's name within the layer.
        compute: zero-argument function of the layer's weights only.
    """
    scope = current()
    if scope is None:
        return compute()
    return scope.constant(layer, name, compute)


def solver(method, sweeps):
    """(method, sweeps, unroll) of an input-dependent eigensolve here.

    Outside a scope: the caller's method and sweeps, Jacobi rounds unrolled.
    Inside: Jacobi with the scope's sweeps, its rounds in one loop (a graph
    sweeps * (n - 1) times smaller) unless the scope says `unroll=True`.
    """
    scope = current()
    if scope is None:
        return method, sweeps, True
    return (
        "jacobi",
        scope.sweeps if sweeps is None else sweeps,
        scope.unroll,
    )
