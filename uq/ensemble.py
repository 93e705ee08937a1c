"""Deep ensembles of PMMs as one Keras model."""

import math

import keras
import numpy as np
from keras import ops

from keras_pmm import _backend
from keras_pmm import _precision
from keras_pmm import _validation
from keras_pmm.uq import _checks
from keras_pmm.uq import _tensors
from keras_pmm.uq.losses import GaussianNLL
from keras_pmm.uq.losses import gaussian_parameters

TASKS = ("classification", "regression")


@keras.saving.register_keras_serializable(package="keras_pmm")
class DeepEnsemble(keras.Model):
    """M independently initialised and trained models, averaged.

    Lakshminarayanan et al., "Simple and Scalable Predictive Uncertainty
    Estimation using Deep Ensembles", NeurIPS 2017. Each member starts from
    its own random initialisation and, in `fit`, sees the training data in
    its own shuffled order; all members train in one compiled step (one
    graph over the M members, summed member losses, whose gradients are
    independent), so one `fit` trains them all. The one step is not
    faster than the members one by one on a CPU: on 2 cores (JAX) an epoch
    of 5 `pmm_mnist` members took 6.3 times one member's
    (`benchmarks/uq_bench.py --part fit_speed`; on JAX the members'
    eigensolves run in turn, `keras_pmm._backend.sequenced`). The zoo's
    ensemble presets train their members one by one for that reason
    (`keras_pmm.zoo.training.train_ensemble`).

    Outputs:
        classification: the mean of the members' class probabilities,
            (batch, num_classes), p(y | x) = 1/M sum_m p_m(y | x).
        regression: each member outputs (batch, 2k) = k means mu_m and k
            variance logits (variance sigma_m^2 = softplus(.) + 1e-6,
            trained by `GaussianNLL`); the ensemble returns the moments of
            the uniform mixture, a dict of (batch, k) tensors
            `{"mean": mu, "variance": sigma^2}` with mu = mean_m mu_m and
            sigma^2 = mean_m (sigma_m^2 + mu_m^2) - mu^2. `fit` adapts
            a `PMMRegressor` member's input scaling to the training inputs;
            its target scaling stays the identity (the outputs are mean and
            variance heads, in target units).

    Args:
        members: a list of Keras models, copied with their weights
            (already trained ones included; their optimizer state is not
            kept, and training the ensemble leaves them untouched), or one
            model / model config / zoo preset name whose architecture is
            repeated `num_members` times with fresh weights.
        num_members: M, the number of members when `members` is one
            template (an int >= 1); must be None with a list.
        task: `"classification"`, `"regression"` or None to infer it
            (classification when the members have `num_classes`).
        seed: seeds the members' initialisations (and `fit`'s orders) for
            reproducibility; None draws them from Keras's global seed.
        **kwargs: `keras.Model` arguments (name, dtype).

    Raises:
        ValueError: for M < 1, an empty list, members of different output
            shapes, or an unknown task.

    Example:

    >>> import numpy as np
    >>> from keras_pmm.uq.ensemble import DeepEnsemble
    >>> from keras_pmm.models import PMMClassifier
    >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> ensemble = DeepEnsemble(
    ...     PMMClassifier(num_classes=2, n=4), num_members=3, seed=0
    ... )
    >>> history = ensemble.fit(x, y, epochs=1, batch_size=16, verbose=0)
    >>> ensemble.predict(x[:2], verbose=0).shape
    (2, 2)
    >>> ensemble.predict_members(x[:2]).shape  # (members, batch, classes)
    (3, 2, 2)
    """

    def __init__(
        self, members, num_members=None, task=None, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.seed = seed
        members = _make_members(members, num_members, seed)
        self.members = members
        self.task = _infer_task(members, task)
        self.compile()

    @property
    def num_members(self):
        """M, the number of members."""
        return len(self.members)

    @property
    def image_shape(self):
        """The members' image shape (image classifiers only)."""
        return getattr(self.members[0], "image_shape", None)

    @property
    def num_classes(self):
        """The members' class count (classification only)."""
        return getattr(self.members[0], "num_classes", None)

    def build(self, input_shape):
        for member in self.members:
            if not member.built:
                member.build(input_shape)
        self.built = True
        self._build_optimizer()

    def _build_optimizer(self):
        # The optimizer's slots exist as soon as the weights do, so that a
        # saved ensemble, trained or not, restores its optimizer exactly.
        optimizer = getattr(self, "optimizer", None)
        if self.built and optimizer is not None and not optimizer.built:
            optimizer.build(self.trainable_variables)

    def call_members(self, inputs, training=None):
        """(M, batch, ...) stacked outputs of the members on `inputs`."""
        return ops.stack(
            [member(inputs, training=training) for member in self.members]
        )

    def call(self, inputs, training=None):
        outputs = self.call_members(inputs, training=training)
        if self.task == "classification":
            return _precision.mean(outputs, axis=0)
        means, variances = gaussian_parameters(outputs)
        mean = _precision.mean(means, axis=0)
        second_moment = _precision.mean(variances + ops.square(means), axis=0)
        variance = ops.maximum(second_moment - ops.square(mean), 0.0)
        return {"mean": mean, "variance": variance}

    def serving_outputs(self, inputs):
        """The named outputs `keras_pmm.export` writes, deterministic.

        Args:
            inputs: a batch of the members' inputs.

        Returns:
            classification: `{"outputs": mean probabilities (batch, C),
            "entropy": predictive entropy H[p] (batch,) in nats,
            "mutual_information": H[p] - mean_m H[p_m] (batch,) in nats}`;
            regression: `{"outputs": mixture mean (batch, k), "std":
            mixture standard deviation (batch, k)}`.
        """
        if self.task == "classification":
            members = self.call_members(inputs, training=False)
            mean = _precision.mean(members, axis=0)
            return {
                "outputs": mean,
                "entropy": _tensors.predictive_entropy(mean),
                "mutual_information": _tensors.mutual_information(members),
            }
        moments = self(inputs, training=False)
        return {
            "outputs": moments["mean"],
            "std": ops.sqrt(moments["variance"]),
        }

    def predict_members(self, x, batch_size=256):
        """The members' own predictions as one numpy array.

        Args:
            x: inputs, as for `predict`.
            batch_size: batch size of each member's `predict`.

        Returns:
            (M, batch, num_classes) probabilities (classification) or (M,
            batch, 2k) mean / variance-logit outputs (regression).
        """
        return np.stack(
            [
                np.asarray(member.predict(x, batch_size=batch_size, verbose=0))
                for member in self.members
            ]
        )

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Configures training; `"auto"` picks the task's defaults.

        `loss` is each member's training loss (`fit` sums it over members):
        sparse categorical cross-entropy of the member's probabilities, or
        `GaussianNLL` for regression. The ensemble's own `evaluate` uses it
        on the mean probabilities (classification only).

        Args:
            optimizer: an optimizer, or `"auto"` for Adam at the members'
                default learning rate (1e-2 without one).
            loss: the member loss, or `"auto"`.
            metrics: metrics of the ensemble's output, or `"auto"`
                (accuracy for classification).
            **kwargs: other `keras.Model.compile` arguments.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(
                getattr(self.members[0], "default_learning_rate", 1e-2)
            )
        if loss == "auto":
            loss = (
                keras.losses.SparseCategoricalCrossentropy()
                if self.task == "classification"
                else GaussianNLL()
            )
        if metrics == "auto":
            metrics = (
                [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
                if self.task == "classification"
                else None
            )
        self.member_loss = loss
        if self.task == "classification":
            super().compile(
                optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
            )
        else:
            super().compile(optimizer=optimizer, **kwargs)
        self._build_optimizer()

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))

    def fit(
        self,
        x=None,
        y=None,
        batch_size=32,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_data=None,
        shuffle=True,
        initial_epoch=0,
    ):
        """Trains every member, each on its own shuffled order of (x, y).

        One step draws one batch per member (member m's epoch order is a
        permutation seeded by (`seed`, epoch, m)), runs all members in one
        compiled function and applies the summed member losses; the
        members' gradients do not interact (no global gradient clipping).

        Args:
            x: (N, ...) training inputs (numpy arrays or tensors; a dataset
                cannot be reshuffled per member: train members separately
                and pass them as a list instead).
            y: (N,) labels or (N, k) regression targets.
            batch_size: examples per member per step.
            epochs: passes over the data.
            verbose: Keras verbosity (progress bar by default).
            callbacks: Keras callbacks; they see the internal multi-member
                training model (its `loss` is the members' summed loss).
            validation_data: optional (x_val, y_val), scored by every member.
            shuffle: reshuffle each member's order every epoch.
            initial_epoch: epoch to start from (for resuming).

        Returns:
            The Keras `History` of the multi-member training model.

        Raises:
            ValueError: for missing, empty or mismatched x and y, or a
                dataset/generator input.
        """
        x, y = _training_arrays(x, y, "x", "y")
        self.check_inputs(x)
        self.check_targets(y)
        batches = _MemberBatches(
            x, y, batch_size, self.num_members, self.seed, shuffle
        )
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(
                validation_data
            ) not in (2,):
                raise ValueError(
                    "`validation_data` must be an (x_val, y_val) tuple."
                )
            x_val, y_val = _training_arrays(*validation_data, "x_val", "y_val")
            self.check_inputs(x_val)
            self.check_targets(y_val, "y_val")
            validation_data = (
                tuple([x_val] * self.num_members),
                tuple([y_val] * self.num_members),
            )
        # Concrete first calls build members that build on data (the affine
        # models), which PyTorch needs; built members ignore them.
        for member in self.members:
            # Members that scale inputs with data statistics (PMMRegressor)
            # fit them on the training arrays, as their own `fit` would.
            # Their outputs are Gaussian mean/variance heads, not targets,
            # so the target scaling stays the identity.
            if getattr(member, "adapted", True) is False:
                member.adapt(x)
            if not member.built:
                member(x[:1])
        if not self.built:
            self.build(x.shape)
        trainer = _MemberTrainer(self.members, name="member_trainer")
        trainer.compile(
            optimizer=self.optimizer,
            loss=[self.member_loss] * self.num_members,
            jit_compile=self.jit_compile,  # as the ensemble was compiled
        )
        return trainer.fit(
            batches,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_data=validation_data,
            validation_batch_size=batch_size,
            initial_epoch=initial_epoch,
            shuffle=False,  # each member's order is drawn by the batches
        )

    def check_inputs(self, x):
        """The members' own input checks (shape, finite values), where
        they define them (every keras_pmm model does).

        Raises:
            ValueError: inputs the members would refuse.
        """
        check = getattr(self.members[0], "check_inputs", None)
        if check is not None:
            check(x)

    def check_targets(self, y, name="y"):
        """Finite targets; for classification, labels of the members' classes.

        Raises:
            ValueError: NaN/inf targets, or class labels out of
                0..num_classes-1, negative, fractional or in the form the
                member loss does not take (see `PMMClassifier.check_targets`).
        """
        _validation.check_finite(y, name)
        if self.task == "classification" and self.num_classes is not None:
            _validation.check_class_targets(
                y, self.num_classes, self.member_loss, name
            )

    def predict(self, x, *args, **kwargs):
        _validation.check_not_empty(x, "x")
        self.check_inputs(x)
        x = _backend.finite_dataset(x)
        with _backend.dataset_errors(self, x):
            return super().predict(x, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        _validation.check_not_empty(x, "x")
        self.check_inputs(x)
        self.check_targets(y)
        if self.task == "regression":
            raise NotImplementedError(
                "A regression DeepEnsemble predicts a Gaussian "
                "{'mean', 'variance'}; score it with "
                "keras_pmm.uq.predict_with_uncertainty and "
                "keras_pmm.uq.gaussian_nll instead of `evaluate`."
            )
        x = _backend.finite_dataset(x)
        with _backend.dataset_errors(self, x):
            return super().evaluate(x, y, *args, **kwargs)

    def get_config(self):
        return {
            **super().get_config(),
            "members": [_member_config(member) for member in self.members],
            "task": self.task,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["members"] = [
            keras.saving.deserialize_keras_object(member)
            for member in config["members"]
        ]
        return cls(**config)


class _MemberTrainer(keras.Model):
    """The members side by side: M inputs in, M outputs out (for `fit`)."""

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        self.members = members

    def build(self, input_shape):
        # The members were built by `DeepEnsemble.fit` on real data.
        self.built = True

    def call(self, inputs, training=None):
        return tuple(
            member(x, training=training)
            for member, x in zip(self.members, inputs)
        )


class _MemberBatches(keras.utils.PyDataset):
    """Batches of (x, y), each member on its own seeded permutation."""

    def __init__(self, x, y, batch_size, num_members, seed, shuffle):
        super().__init__()
        self.x, self.y = x, y
        self.batch_size = _checks.positive_int(batch_size, "batch_size")
        self.num_members = num_members
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self._orders = self._draw()

    def _draw(self):
        n = len(self.x)
        if not self.shuffle:
            return [np.arange(n)] * self.num_members
        seed = self.seed if self.seed is not None else np.random.randint(2**31)
        return [
            np.random.default_rng([seed, self.epoch, member]).permutation(n)
            for member in range(self.num_members)
        ]

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        window = slice(index * self.batch_size, (index + 1) * self.batch_size)
        picks = [order[window] for order in self._orders]
        return (
            tuple(self.x[pick] for pick in picks),
            tuple(self.y[pick] for pick in picks),
        )

    def on_epoch_end(self):
        self.epoch += 1
        self._orders = self._draw()


def _training_arrays(x, y, x_name, y_name):
    if x is None or y is None:
        raise ValueError(
            f"DeepEnsemble.fit needs `{x_name}` and `{y_name}` arrays."
        )
    if not hasattr(x, "shape") or not hasattr(y, "shape"):
        if isinstance(x, (list, tuple)) or isinstance(y, (list, tuple)):
            x, y = np.asarray(x), np.asarray(y)
        else:
            raise ValueError(
                "DeepEnsemble.fit takes arrays, so that each member can "
                "shuffle them in its own order; received "
                f"{type(x).__name__}. Train the members separately on a "
                "dataset and pass them as a list."
            )
    x = _checks.as_numpy(x, x_name)
    y = _checks.as_numpy(y, y_name)
    if len(x) == 0:
        raise ValueError(f"`{x_name}` is empty.")
    if len(x) != len(y):
        raise ValueError(
            f"`{x_name}` has {len(x)} examples but `{y_name}` has {len(y)}."
        )
    return x, y


def _make_members(members, num_members, seed):
    if isinstance(members, (list, tuple)):
        if num_members is not None and num_members != len(members):
            raise ValueError(
                f"`num_members`={num_members} but {len(members)} members "
                "were given: leave `num_members` as None with a list."
            )
        members = list(members)
        if not members:
            raise ValueError("`members` is empty: an ensemble needs M >= 1.")
        for member in members:
            if not isinstance(member, keras.Model):
                raise ValueError(
                    "Each member must be a keras.Model. Received: "
                    f"{type(member).__name__}"
                )
        return [
            _copy_member(member, index) for index, member in enumerate(members)
        ]
    if num_members is None:
        raise ValueError(
            "Pass `num_members` (M >= 1) with a single template member, or "
            "a list of members."
        )
    num_members = _checks.positive_int(num_members, "num_members")
    config = _template_config(members)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    built = []
    for index in range(num_members):
        member = keras.saving.deserialize_keras_object(_named(config, index))
        if hasattr(member, "compile"):
            member.compile()
        built.append(member)
    return built


def _named(config, index):
    """`config` with the model named `member_<index>`: the ensemble's config
    (and a preset's shipped one) then does not depend on how many models
    the process made before (Keras numbers default names)."""
    config = dict(config)
    if isinstance(config.get("config"), dict):
        config["config"] = {**config["config"], "name": f"member_{index}"}
    return config


def _copy_member(member, index):
    """A member's architecture and weights, without its optimizer state."""
    copy = keras.saving.deserialize_keras_object(
        _named(_member_config(member), index)
    )
    if member.built:
        if not copy.built:
            copy.build_from_config(member.get_build_config())
        copy.set_weights(member.get_weights())
    return copy


def _member_config(member):
    # A member's own compile settings and optimizer are not the ensemble's:
    # `fit` trains members with the ensemble's optimizer and loss.
    config = keras.saving.serialize_keras_object(member)
    config.pop("compile_config", None)
    return config


def _template_config(template):
    if isinstance(template, str):
        from keras_pmm.zoo.registry import PRESETS

        if template not in PRESETS:
            raise ValueError(
                f"Unknown preset {template!r}: one of {sorted(PRESETS)}."
            )
        template = PRESETS[template].build()
    if isinstance(template, keras.Model):
        config = keras.saving.serialize_keras_object(template)
    elif isinstance(template, dict):
        config = dict(template)
    else:
        raise ValueError(
            "`members` must be a list of models, a model, a model config "
            f"or a preset name. Received: {type(template).__name__}"
        )
    for key in ("compile_config", "build_config"):
        config.pop(key, None)
    return config


def _infer_task(members, task):
    if task is None:
        classifier = getattr(members[0], "num_classes", None) is not None
        return "classification" if classifier else "regression"
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}. Received: {task!r}")
    return task
