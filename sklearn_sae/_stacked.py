"""Stacked sparse autoencoders and the fine-tuned classifier (UFLDL).

:class:`StackedSparseAutoencoder` trains sparse autoencoders greedily, layer
by layer, each on the features of the layer below.
:class:`StackedSparseAutoencoderClassifier` adds a softmax layer on the top
features and then, as the tutorial's stacked-autoencoder exercise does,
fine-tunes every weight at once by back-propagation.
"""

import copy
import warnings
from functools import partial
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    InvalidParameterError,
    StrOptions,
    make_constraint,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _rows
from ._callbacks import CallbackSupportMixin, Tasks, close_iterations
from ._deep import DeepAutoencoderObjective, DeepLayout, deep_decode, deep_encode
from ._finetune import ClassifierObjective, NetworkLayout, forward, log_softmax
from ._optimize import (
    EarlyStopping,
    LBFGSResult,
    minimize_lbfgs,
    single_threaded_blas,
    warn_if_not_converged,
)
from ._sparse_autoencoder import SparseAutoencoder, check_validation_split
from .utils._param_validation import StrictInterval
from .utils._validation import (
    check_inverse_transform_input,
    check_not_none,
    is_dask_array,
)

# Constraints of the per-layer hyperparameters, applied to a scalar or to each
# value of a sequence.
_LAYER_CONSTRAINTS = {
    "rho": StrictInterval(Real, 0, 1, closed="neither"),
    "beta": StrictInterval(Real, 0, None, closed="left"),
    "alpha": StrictInterval(Real, 0, None, closed="left"),
    "sparsity": StrOptions({"kl", "l1"}),
    "tied_weights": "boolean",
    "corruption": StrictInterval(Real, 0, 1, closed="left"),
    "decoder": StrOptions({"sigmoid", "linear"}),
}
# How each per-layer value is stored once checked (float for the others).
_LAYER_TYPES = {"sparsity": str, "tied_weights": bool, "decoder": str}
_LAYER_SIZE = StrictInterval(Integral, 1, None, closed="left")

# The tutorial's initialisation of the softmax weights: 0.005 * randn.
_SOFTMAX_INIT_SCALE = 0.005


class _SoftmaxLayer(NamedTuple):
    """The trained softmax layer and the result of its L-BFGS run."""

    weights: np.ndarray
    biases: np.ndarray
    result: LBFGSResult


def _hidden_layer_sizes(value):
    """The layer widths as a list of ints, or an error naming the problem.

    The error is an ``InvalidParameterError`` (a ``ValueError``), as for the
    parameters scikit-learn validates.
    """
    array = np.asarray(value, dtype=object)
    sizes = list(array.reshape(-1))
    if (
        array.ndim > 1
        or not sizes
        or not all(_LAYER_SIZE.is_satisfied_by(size) for size in sizes)
    ):
        raise InvalidParameterError(
            "hidden_layer_sizes must be a positive int or a non-empty sequence of "
            f"positive ints (one per layer), got {value!r}."
        )
    return [int(size) for size in sizes]


def _per_layer(estimator, name, n_layers):
    """``estimator.<name>`` as one float per layer, each checked like a scalar.

    Errors are ``InvalidParameterError`` (a ``ValueError``), as for the
    parameters scikit-learn validates.
    """
    value = getattr(estimator, name)
    array = np.asarray(value, dtype=object)
    values = list(array.reshape(-1))
    if array.ndim == 0:
        # A scalar, or a 0-d container (a set, a dict) the check below refuses.
        values = values * n_layers
    elif array.ndim != 1 or len(values) != n_layers:
        raise InvalidParameterError(
            f"{name} must be a single value or one value per layer: "
            f"hidden_layer_sizes has {n_layers} layer(s), but {name}={value!r} "
            f"has {len(values)} value(s)."
        )
    constraint = make_constraint(_LAYER_CONSTRAINTS[name])
    for i, v in enumerate(values):
        if not constraint.is_satisfied_by(v):
            label = name if array.ndim == 0 else f"{name}[{i}]"
            raise InvalidParameterError(
                f"{label} of {type(estimator).__name__} must be {constraint}. "
                f"Got {v!r} instead."
            )
    return [_LAYER_TYPES.get(name, float)(v) for v in values]


def _check_decoders(estimator, decoders):
    """Refuse a linear decoder above the first layer, naming the layer.

    Layer ``l > 0`` reconstructs the sigmoid activations of the layer below,
    which lie in (0, 1): the sigmoid decoder is the one that matches them. The
    linear decoder is for real-valued input, which only the first layer sees.
    """
    for layer, decoder in enumerate(decoders[1:], start=1):
        if decoder != "sigmoid":
            label = (
                "decoder" if isinstance(estimator.decoder, str) else f"decoder[{layer}]"
            )
            raise InvalidParameterError(
                f"{label} of {type(estimator).__name__} must be 'sigmoid' for layer "
                f"{layer + 1}, got {decoder!r}: that layer reconstructs the sigmoid "
                "activations of the layer below, in (0, 1). A linear decoder is for "
                "real-valued input, which only the first layer sees: pass one value "
                "per layer, such as decoder=['linear', 'sigmoid']."
            )


class _LinearCodeAutoencoder(SparseAutoencoder):
    """A SparseAutoencoder whose hidden units are linear: a stack's linear code.

    ``a = x W1^T + b1``, decoded by the sigmoid (or linear) decoder as usual;
    the objective's linear hidden units are those of the k-sparse
    autoencoder keeping all ``n_components`` units. It has no sparsity
    penalty (``beta`` must be 0).
    """

    @property
    def _k(self):
        return self.n_components


class _BaseStack(CallbackSupportMixin, BaseEstimator):
    """What the two stacks share: the layers' parameters and their training.

    The per-layer parameters are validated once per fit, by
    :meth:`_layer_settings`, before the first (long) stage starts.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", _LAYER_SIZE],
        **{name: ["array-like", c] for name, c in _LAYER_CONSTRAINTS.items()},
        "max_iter": [StrictInterval(Integral, 1, None, closed="left")],
        "tol": [StrictInterval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "early_stopping": ["boolean"],
        "validation_fraction": [StrictInterval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [StrictInterval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
    }

    def _validate_X(self, X, *, reset):
        """X as the layers take it: float32 or float64, dense or CSR, or dask."""
        check_not_none(X, self)
        if is_dask_array(X):
            from ._dask_rows import check_dask_array

            return check_dask_array(self, X, reset=reset)
        return validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=(np.float64, np.float32),
            order="C" if reset else None,
            reset=reset,
        )

    def _layer_settings(self):
        """The layer widths, and each per-layer parameter as one value per layer."""
        sizes = _hidden_layer_sizes(self.hidden_layer_sizes)
        settings = {
            name: _per_layer(self, name, len(sizes)) for name in _LAYER_CONSTRAINTS
        }
        _check_decoders(self, settings["decoder"])
        return sizes, settings

    def _stage(self, description, run, *, max_iter, max_iter_name="max_iter"):
        """Run one stage of training, ``run()``, and warn if it did not converge.

        ``run`` returns the stage's :class:`~sklearn_sae._optimize.LBFGSResult`;
        the warning names the stack, the stage and the stack's parameter that
        bounds it.
        """
        owner = type(self).__name__
        if self.verbose:
            print(f"{owner}: {description}")
        fit_tasks = getattr(self, "_fit_tasks", None) or Tasks(None, self, None, None)
        self._stage_tasks = fit_tasks.stage(description, max_iter)
        try:
            result = run()
        finally:
            stage_tasks = self._stage_tasks
            del self._stage_tasks
        stage_tasks.end()
        warn_if_not_converged(
            result,
            owner,
            max_iter=max_iter,
            max_iter_name=max_iter_name,
            stage=description,
        )
        return result

    def _pretrain(self, X, sizes, settings, random_state):
        """Greedy layer-wise training; return the autoencoders and top features."""
        seeds = random_state.randint(np.iinfo(np.int32).max, size=len(sizes))
        previous = self._fitted_layers(sizes)
        autoencoders = []
        H = X
        for layer, n_components in enumerate(sizes):
            sae = self._layer_class(layer, len(sizes))(
                n_components=n_components,
                **{name: values[layer] for name, values in settings.items()},
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=int(seeds[layer]),
                verbose=self.verbose,
                **self._layer_early_stopping(),
            )
            if previous is not None:
                sae = previous[layer].set_params(
                    **{**sae.get_params(), "warm_start": True}
                )
            self._stage(
                f"pre-training layer {layer + 1} of {len(sizes)} "
                f"({H.shape[1]} -> {n_components} units)",
                partial(self._fit_layer, sae, H),
                max_iter=self.max_iter,
            )
            # The next layer's input, with single-threaded BLAS as in the fits,
            # so that the stack does not depend on the number of threads.
            with single_threaded_blas():
                H = sae.transform(H)
            autoencoders.append(sae)
        return autoencoders, H

    def _layer_early_stopping(self):
        """The early-stopping parameters of each layer's pre-training."""
        return {}

    def _fit_layer(self, sae, H):
        """Pre-train the autoencoder ``sae`` on H within the current stage."""
        return sae._fit(H, self._stage_tasks)

    def _n_stages(self):
        """Number of stages of a fit, each a callback task."""
        return len(_hidden_layer_sizes(self.hidden_layer_sizes))

    def _fit_with_tasks(self, fit, X, y=None):
        """``fit()``, the fit's callback task around it."""
        self._fit_tasks = Tasks.fit(self, X, y, max_subtasks=self._n_stages)
        try:
            out = fit()
        finally:
            tasks = self._fit_tasks
            del self._fit_tasks
        tasks.end(reconstruction_attributes={})
        return out

    def _layer_class(self, layer, n_layers):
        """The autoencoder class of ``layer`` (of ``n_layers``)."""
        return SparseAutoencoder

    def _fitted_layers(self, sizes):
        """Copies of the fitted layers to continue from, or None for a fresh start.

        With ``warm_start=True`` and a fitted stack, each layer's pre-training
        continues from its weights; the layer widths must not change.
        """
        if not (self.warm_start and hasattr(self, "autoencoders_")):
            return None
        fitted = [sae.n_components for sae in self.autoencoders_]
        if fitted != sizes:
            raise ValueError(
                "warm_start=True needs the same hidden_layer_sizes as the previous "
                f"fit ({tuple(fitted)}), got {tuple(sizes)}. Set warm_start=False "
                "to start afresh."
            )
        kinds = [self._layer_class(layer, len(sizes)) for layer in range(len(sizes))]
        if [type(sae) for sae in self.autoencoders_] != kinds:
            raise ValueError(
                "warm_start=True needs layers with the same units as the previous "
                "fit, but the code's units changed (code='linear' or 'sigmoid'). "
                "Set warm_start=False to start afresh."
            )
        return [copy.deepcopy(sae) for sae in self.autoencoders_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# What a fine-tuned StackedSparseAutoencoder adds to the pre-trained layers.
_FINE_TUNED_ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "fine_tune_n_iter_",
    "loss_",
    "loss_curve_",
)


class StackedSparseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseStack
):
    r"""Stack of sparse autoencoders trained greedily, layer by layer.

    The unsupervised part of the UFLDL stacked-autoencoder exercise: a
    :class:`SparseAutoencoder` is trained on the input, a second one on the
    hidden activations of the first, and so on. Layer ``l`` computes
    ``a_l = sigmoid(a_{l-1} W_l^T + b_l)`` from the output of the layer below
    (``a_0`` is the input); :meth:`transform` returns the activations of the
    top layer and :meth:`inverse_transform` decodes them back through every
    layer's decoder, from the top down, to input space.

    The first layer reconstructs its input through a sigmoid, so the input
    should be scaled into [0, 1] (a warning says so when it is not); the
    layers above see sigmoid activations, which already are.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(200, 200)
        Number of hidden units of each layer, from the input up.

    rho : float or sequence of float, default=0.1
        Sparsity target of each layer, strictly between 0 and 1: one value for
        all layers, or one value per layer.

    beta : float or sequence of float, default=3.0
        Weight of the sparsity penalty, for all layers or per layer.

    alpha : float or sequence of float, default=3e-3
        Weight decay (the tutorial's lambda), for all layers or per layer.

    max_iter : int, default=400
        Maximum number of L-BFGS iterations of each layer's training.

    tol : float, default=1e-5
        Stop a layer's training when the largest absolute component of the
        gradient falls to ``tol``.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of every layer. Pass an int for reproducible
        results. See :term:`Glossary <random_state>`.

    verbose : int, default=0
        If positive, print which layer is being trained and one line every
        ``verbose`` L-BFGS iterations (every iteration for 1).

    early_stopping : bool, default=False
        Whether each layer's pre-training stops when the reconstruction of
        held-out samples no longer improves, as in MLPClassifier. With True,
        each layer sets aside ``validation_fraction`` of its own input rows
        (drawn from its seed; its objective sees only the rest), scores them
        after each L-BFGS iteration (minus the mean reconstruction error),
        stops when the score has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive iterations, and keeps the weights of
        the best score. The next layer trains on the features of all rows.

    validation_fraction : float, default=0.1
        The fraction of each layer's input rows set aside for early stopping,
        strictly between 0 and 1. Only used if ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Iterations without an improvement of at least ``tol`` of the
        held-out score tolerated before a layer stops. Only used if
        ``early_stopping=True``.

    sparsity : {"kl", "l1"} or sequence of them, default="kl"
        Sparsity penalty of each layer's pre-training, as in
        :class:`SparseAutoencoder`: for all layers or per layer.

    tied_weights : bool or sequence of bool, default=False
        Whether each layer's decoder weights are its encoder's, as in
        :class:`SparseAutoencoder`: for all layers or per layer.

    corruption : float or sequence of float, default=0.0
        Fraction of each layer's input entries masked during its
        pre-training, in [0, 1): a stack of denoising autoencoders (Vincent
        et al.). Each layer draws its own noise on the clean features of the
        layer below. For all layers or per layer.

    decoder : {"sigmoid", "linear"} or sequence of them, default="sigmoid"
        Output units of each layer's decoder, as in
        :class:`SparseAutoencoder`. A linear decoder makes sense on the first
        layer only, for real-valued input; on a hidden layer it would
        reconstruct sigmoid activations, which lie in (0, 1), with unbounded
        units, and is refused. So ``"linear"`` is accepted as a single value
        for a one-layer stack, and otherwise as ``["linear", "sigmoid",
        ...]``.

    warm_start : bool, default=False
        When True and the stack is already fitted, ``fit`` continues each
        layer's pre-training from its fitted weights instead of a fresh
        random initialisation. ``hidden_layer_sizes`` and the number of
        features must not change between such fits.

    fine_tune : bool, default=False
        Whether to fine-tune the stack as one deep autoencoder after the
        greedy pre-training: the encoders and decoders are unrolled into one
        network (input, hidden layers, code, hidden layers, reconstruction)
        and all its weights are trained together by L-BFGS on the
        reconstruction error plus weight decay (see Notes). With False, the
        stack is the pre-trained layers alone.

    fine_tune_max_iter : int, default=None
        Maximum number of L-BFGS iterations of the fine-tuning. None means
        ``max_iter``.

    code : {"sigmoid", "linear"}, default="sigmoid"
        Units of the top layer, the code. ``"linear"`` makes them linear,
        ``a_L = a_{L-1} W_L^T + b_L``, as in Hinton and Salakhutdinov's deep
        autoencoder: the code can then take any real value, and spreads
        more than sigmoid units, which saturate. The top layer is then
        pre-trained with linear hidden units and no sparsity penalty (its
        ``beta`` must be 0), and :meth:`transform` returns unbounded codes.

    Attributes
    ----------
    autoencoders_ : list of SparseAutoencoder
        The fitted layers, from the input up; ``autoencoders_[l]`` maps the
        features of layer ``l - 1`` to those of layer ``l``.

    n_iter_ : int
        Total number of L-BFGS iterations over all layers; those of layer
        ``l`` are ``autoencoders_[l].n_iter_``. With ``fine_tune=True`` it
        includes the fine-tuning's.

    validation_scores_ : list of list of float, or None
        With ``early_stopping=True``, the held-out scores of each layer's
        pre-training, ``autoencoders_[l].validation_scores_``; None
        otherwise.

    best_validation_score_ : list of float or None
        With ``early_stopping=True``, the best held-out score of each layer,
        that of the weights it kept; None otherwise.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

    coefs_ : list of ndarray
        With ``fine_tune=True`` only: the weights of the fine-tuned deep
        autoencoder, one array per layer from the input to the
        reconstruction, as in :class:`~sklearn.neural_network.MLPRegressor`:
        ``coefs_[l]`` has shape ``(n_units_in, n_units_out)``. The first
        ``L = len(hidden_layer_sizes)`` are the encoders, the last ``L`` the
        decoders from the code down. With tied weights
        ``coefs_[2L - 1 - l]`` equals ``coefs_[l].T``.

    intercepts_ : list of ndarray
        With ``fine_tune=True`` only: the biases of the fine-tuned network,
        ``intercepts_[l]`` of shape ``(n_units_out,)``.

    fine_tune_n_iter_ : int
        With ``fine_tune=True`` only: number of L-BFGS iterations of the
        fine-tuning.

    loss_ : float
        With ``fine_tune=True`` only: the fine-tuning objective at the final
        weights.

    loss_curve_ : list of float
        With ``fine_tune=True`` only: the fine-tuning objective after each
        of its iterations.

    See Also
    --------
    SparseAutoencoder : One layer of the stack.
    StackedSparseAutoencoderClassifier : The stack with a softmax layer on
        top, fine-tuned on labels.
    sklearn.neural_network.BernoulliRBM : Unsupervised features that are
        stacked the same way in deep belief networks.

    Notes
    -----
    Input of dtype float32 is trained and transformed in float32; any other
    input is converted to float64. Sparse input is accepted (converted to
    CSR); the layers above the first see dense activations.

    With ``fine_tune=True`` the pre-trained layers are the starting point of
    a deep autoencoder, ``a_l = sigmoid(a_{l-1} W_l^T + b_l)`` up to the
    code ``a_L``, then ``r_{l-1} = g_l(r_l W2_l^T + c_l)`` down to the
    reconstruction ``r_0`` (``g_l`` the sigmoid, or the identity for a
    linear first-layer decoder), and all its weights minimise, over the
    ``m`` training samples,

    .. math::

        J = \frac{1}{2m} \sum_i \lVert r_{0,i} - x_i \rVert^2
            + \sum_l \frac{\alpha_l}{2} \left(\lVert W_l \rVert_F^2
            + \lVert W2_l \rVert_F^2\right),

    each layer's ``alpha`` decaying its encoder and decoder weights (tied
    weights once). The sparsity terms of the pre-training are dropped, as
    Hinton and Salakhutdinov fine-tune on the reconstruction alone: they
    shape the greedy layers, each trained to reconstruct its own input, but
    the unrolled network has one goal, the input's reconstruction through
    the narrow code, and the pre-trained weights are its regulariser. The
    masking noise is a pre-training device too: the fine-tuning sees the
    clean input. :meth:`transform` then gives the code of the fine-tuned
    encoders, :meth:`inverse_transform` the fine-tuned decoders' output and
    :meth:`score` the fine-tuned reconstruction; ``autoencoders_`` keep the
    pre-trained layers.

    References
    ----------
    .. [1] Stanford UFLDL Tutorial, "Stacked Autoencoders" and "Exercise:
       Implement deep networks for digit classification",
       http://ufldl.stanford.edu/wiki/
    .. [2] Y. Bengio, P. Lamblin, D. Popovici and H. Larochelle, "Greedy
       layer-wise training of deep networks", NIPS 2006.
    .. [3] G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality
       of data with neural networks", Science 313, 2006.
    .. [4] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol,
       "Extracting and composing robust features with denoising
       autoencoders", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_sae import StackedSparseAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0  # the first layer's sigmoid decoder needs inputs in [0, 1]
    >>> ssae = StackedSparseAutoencoder((32, 16), max_iter=30, random_state=0)
    >>> H = ssae.fit_transform(X)
    >>> H.shape
    (1797, 16)
    >>> [sae.n_components for sae in ssae.autoencoders_]
    [32, 16]
    >>> ssae.inverse_transform(H).shape
    (1797, 64)

    The same stack unrolled into a deep autoencoder and fine-tuned on the
    reconstruction of the input, against the stack without fine-tuning:

    >>> layers = dict(beta=0.0, alpha=1e-4, max_iter=50, random_state=0)
    >>> stack = StackedSparseAutoencoder((32, 8), **layers).fit(X)
    >>> deep = StackedSparseAutoencoder((32, 8), **layers, fine_tune=True).fit(X)
    >>> [w.shape for w in deep.coefs_]
    [(64, 32), (32, 8), (8, 32), (32, 64)]
    >>> bool(deep.score(X) > stack.score(X))
    True
    """

    _parameter_constraints: dict = {
        **_BaseStack._parameter_constraints,
        "fine_tune": ["boolean"],
        "fine_tune_max_iter": [StrictInterval(Integral, 1, None, closed="left"), None],
        "code": [StrOptions({"sigmoid", "linear"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(200, 200),
        *,
        rho=0.1,
        beta=3.0,
        alpha=3e-3,
        max_iter=400,
        tol=1e-5,
        random_state=None,
        verbose=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        sparsity="kl",
        tied_weights=False,
        corruption=0.0,
        decoder="sigmoid",
        warm_start=False,
        fine_tune=False,
        fine_tune_max_iter=None,
        code="sigmoid",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.rho = rho
        self.beta = beta
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.sparsity = sparsity
        self.tied_weights = tied_weights
        self.corruption = corruption
        self.decoder = decoder
        self.warm_start = warm_start
        self.fine_tune = fine_tune
        self.fine_tune_max_iter = fine_tune_max_iter
        self.code = code

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the layers one after the other.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, with values in [0, 1].

        y : None
            Ignored.

        Returns
        -------
        self : StackedSparseAutoencoder
            The fitted model.
        """
        self._fit_layers(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Train the layers and return the top layer's features of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, with values in [0, 1].

        y : None
            Ignored.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Activations of the top layer.
        """
        return self._fit_layers(X)

    def _fit_layers(self, X):
        """``_fit`` within the fit's callback task; record the held-out scores."""
        H = self._fit_with_tasks(partial(self._fit, X), X)
        if self.early_stopping:
            self.validation_scores_ = [
                sae.validation_scores_ for sae in self.autoencoders_
            ]
            self.best_validation_score_ = [
                sae.best_validation_score_ for sae in self.autoencoders_
            ]
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        return H

    def _layer_early_stopping(self):
        return {
            "early_stopping": self.early_stopping,
            "validation_fraction": self.validation_fraction,
            "n_iter_no_change": self.n_iter_no_change,
        }

    def _fit(self, X):
        X = self._validate_X(X, reset=True)
        if self.fine_tune and is_dask_array(X):
            raise ValueError(
                f"{type(self).__name__}(fine_tune=True) fine-tunes the deep "
                "autoencoder on data in memory only, but X is a dask array. Fit "
                "with fine_tune=False on the dask array (the layers train on the "
                "cluster), or with fine_tune=True on X.compute()."
            )
        sizes, settings = self._layer_settings()
        self._check_code(settings)
        self.autoencoders_, H = self._pretrain(
            X, sizes, settings, check_random_state(self.random_state)
        )
        self.n_iter_ = sum(sae.n_iter_ for sae in self.autoencoders_)
        if self.fine_tune:
            H = self._fine_tune(X, settings)
        else:
            for name in _FINE_TUNED_ATTRIBUTES:
                vars(self).pop(name, None)
        return H

    def transform(self, X):
        """Encode X through every layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Activations of the top layer, in [0, 1], of the dtype of X
            (float32 or float64).
        """
        check_is_fitted(self)
        H = self._validate_X(X, reset=False)
        if self._fine_tuned:
            return self._deep_transform(H)
        for sae in self.autoencoders_:
            H = sae.transform(H)
        return H

    def inverse_transform(self, X):
        """Decode top-layer activations back to input space, layer by layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, hidden_layer_sizes[-1])
            Activations of the top layer, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstruction: each layer's decoder applied from the top
            down, of the dtype of X (float32 or float64).
        """
        check_is_fitted(self)
        if is_dask_array(X):
            return self._inverse_transform_dask(X)
        H = check_inverse_transform_input(
            self, X, self._n_features_out, "the width of the top layer"
        )
        if self._fine_tuned:
            return self._deep_inverse_transform(H)
        for sae in reversed(self.autoencoders_):
            H = sae.inverse_transform(H)
        return H

    def score(self, X, y=None):
        """Negative mean reconstruction error of X through the whole stack.

        The reconstruction is ``inverse_transform(transform(X))``; the error
        of one sample is half its squared Euclidean distance to the sample.
        The score is the mean of :meth:`score_samples`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean reconstruction error (higher is better).
        """
        if is_dask_array(X):
            from ._dask_rows import mean_of_rows

            return mean_of_rows(self.score_samples(X))
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    def score_samples(self, X):
        """Minus the reconstruction error of each sample through the whole stack.

        The reconstruction is ``inverse_transform(transform(x))`` and the
        error of a sample half its squared Euclidean distance to it, so that
        :meth:`score` is the mean. Samples unlike the training data
        reconstruct badly: low scores flag them, as in novelty detection. The
        rows are processed in blocks, so memory does not grow with the number
        of samples beyond the result.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus each sample's reconstruction error, of the dtype of X
            (float32 or float64); for a dask array X, a dask array chunked
            like X's rows, computed lazily.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_sae import StackedSparseAutoencoder
        >>> X, y = load_digits(return_X_y=True)
        >>> X = X / 16.0
        >>> ssae = StackedSparseAutoencoder((32, 16), max_iter=30, random_state=0)
        >>> ssae = ssae.fit(X[y == 0])  # zeros only
        >>> scores = ssae.score_samples(X)
        >>> bool(scores[y == 0].mean() > scores[y != 0].mean())
        True
        """
        check_is_fitted(self)
        if is_dask_array(X):
            from ._dask_rows import score_samples_lazily

            return score_samples_lazily(self, X)
        X = self._validate_X(X, reset=False)
        n_samples = X.shape[0]
        scores = np.empty(n_samples, dtype=X.dtype)
        widest = max(
            X.shape[1], *(sae.components_.shape[0] for sae in self.autoencoders_)
        )
        rows = _rows.block_rows(n_samples, widest, X.dtype.itemsize)
        with warnings.catch_warnings():
            # The blocks are validated arrays: they have lost X's column names.
            warnings.filterwarnings(
                "ignore", message="X does not have valid feature names"
            )
            for start in range(0, n_samples, rows):
                stop = min(start + rows, n_samples)
                block = (
                    _rows.csr_rows(X, start, stop) if sp.issparse(X) else X[start:stop]
                )
                X_hat = self.inverse_transform(self.transform(block))
                X_hat -= block.toarray() if sp.issparse(block) else block
                np.einsum("ij,ij->i", X_hat, X_hat, out=scores[start:stop])
        scores *= -0.5
        return scores

    def _inverse_transform_dask(self, H):
        from ._dask_rows import check_dask_array

        H = check_dask_array(
            self,
            H,
            reset=False,
            n_features=self._n_features_out,
            description="the width of the top layer",
        )
        if self._fine_tuned:
            return self._deep_inverse_transform(H)
        for sae in reversed(self.autoencoders_):
            H = sae.inverse_transform(H)
        return H

    def __sklearn_is_fitted__(self):
        return hasattr(self, "autoencoders_")

    def _check_code(self, settings):
        """Refuse a sparsity penalty on a linear code, naming the layer."""
        if self.code == "linear" and settings["beta"][-1] != 0:
            label = (
                "beta"
                if np.ndim(self.beta) == 0
                else f"beta[{len(settings['beta']) - 1}]"
            )
            raise InvalidParameterError(
                f"{label} of {type(self).__name__} must be 0 for the top layer "
                f"with code='linear', got {settings['beta'][-1]!r}: a sparsity "
                "penalty needs units whose activations lie in (0, 1), and the "
                "code's units are linear. Pass one value per layer, such as "
                "beta=[3.0, 0.0]."
            )

    def _n_stages(self):
        return super()._n_stages() + bool(self.fine_tune)

    def _layer_class(self, layer, n_layers):
        if self.code == "linear" and layer == n_layers - 1:
            return _LinearCodeAutoencoder
        return SparseAutoencoder

    @property
    def _fine_tuned(self):
        """Whether the last fit fine-tuned the stack."""
        return hasattr(self, "coefs_")

    def _fine_tune(self, X, settings):
        """Train the unrolled deep autoencoder; set its attributes, return the codes."""
        autoencoders = self.autoencoders_
        layout = DeepLayout(
            (X.shape[1], *(sae.n_components for sae in autoencoders)),
            settings["tied_weights"],
        )
        theta = layout.pack(
            [sae.components_ for sae in autoencoders],
            [sae.decoder_components_ for sae in autoencoders],
            [sae.intercept_hidden_ for sae in autoencoders],
            [sae.intercept_visible_ for sae in autoencoders],
        )
        max_iter = self.fine_tune_max_iter or self.max_iter
        with DeepAutoencoderObjective(
            X,
            layout.layer_sizes,
            alpha=settings["alpha"],
            tied_weights=settings["tied_weights"],
            decoders=settings["decoder"],
            linear_code=self.code == "linear",
        ) as objective:
            result = self._stage(
                "fine-tuning the deep autoencoder",
                partial(
                    minimize_lbfgs,
                    objective,
                    theta,
                    max_iter=max_iter,
                    tol=self.tol,
                    verbose=self.verbose,
                    name=type(self).__name__,
                ),
                max_iter=max_iter,
                max_iter_name=(
                    "fine_tune_max_iter" if self.fine_tune_max_iter else "max_iter"
                ),
            )
        W, W2T, b, c = layout.unpack(result.x)
        self.coefs_ = [np.ascontiguousarray(w.T, X.dtype) for w in W] + [
            np.array(w, dtype=X.dtype) for w in reversed(W2T)
        ]
        self.intercepts_ = [v.astype(X.dtype) for v in b + c[::-1]]
        self.fine_tune_n_iter_ = result.n_iter
        self.n_iter_ += result.n_iter
        self.loss_ = result.loss
        self.loss_curve_ = result.loss_curve
        # The codes with single-threaded BLAS, as in the fits.
        with single_threaded_blas():
            return self._deep_transform(X)

    def _deep_transform(self, X):
        """The code of the fine-tuned encoders for validated X (lazy for dask)."""
        n_layers = len(self.coefs_) // 2
        encoder = partial(
            deep_encode,
            linear_code=isinstance(self.autoencoders_[-1], _LinearCodeAutoencoder),
        )
        weights = [W.T.astype(X.dtype, copy=False) for W in self.coefs_[:n_layers]]
        biases = [b.astype(X.dtype, copy=False) for b in self.intercepts_[:n_layers]]
        if is_dask_array(X):
            from ._dask_rows import map_rows

            width = self._n_features_out
            return map_rows(self, X, encoder, weights, biases, width=width)
        return encoder(X, weights, biases)

    def _deep_inverse_transform(self, H):
        """The fine-tuned decoders' reconstruction of the codes H (lazy for dask)."""
        n_layers = len(self.coefs_) // 2
        decoder = partial(
            deep_decode, decoders=[sae.decoder for sae in self.autoencoders_]
        )
        weights = [
            W.astype(H.dtype, copy=False) for W in self.coefs_[: n_layers - 1 : -1]
        ]
        biases = [
            b.astype(H.dtype, copy=False) for b in self.intercepts_[: n_layers - 1 : -1]
        ]
        if is_dask_array(H):
            from ._dask_rows import map_rows

            width = self.n_features_in_
            return map_rows(self, H, decoder, weights, biases, width=width)
        return decoder(H, weights, biases)

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.autoencoders_[-1].components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class StackedSparseAutoencoderClassifier(ClassifierMixin, _BaseStack):
    r"""Stacked sparse autoencoders with a softmax layer, fine-tuned on labels.

    The UFLDL stacked-autoencoder exercise as one classifier, trained in
    three stages, each by L-BFGS:

    1. greedy pre-training: a :class:`SparseAutoencoder` per hidden layer,
       each on the features of the layer below (as
       :class:`StackedSparseAutoencoder` does; the labels are not used);
    2. a softmax (multinomial logistic) layer on the top layer's features,
       minimising the mean cross-entropy plus
       ``softmax_alpha / 2 * ||W_softmax||^2``;
    3. with ``fine_tune=True``, every weight and bias of the network at
       once, by back-propagation through the sigmoid layers, on the same
       objective.

    For a sample ``x`` the network computes ``a_0 = x``,
    ``a_l = sigmoid(a_{l-1} @ coefs_[l-1] + intercepts_[l-1])`` for each
    hidden layer, and the class scores ``z = a_L @ coefs_[-1] +
    intercepts_[-1]``; the class probabilities are ``softmax(z)``. The
    objective of stages 2 and 3, for ``m`` samples with labels ``y_i``, is

    .. math::

        J = -\frac{1}{m} \sum_i \log \mathrm{softmax}(z_i)_{y_i}
            + \frac{\lambda}{2} \lVert W_{L+1} \rVert_F^2,

    with :math:`\lambda` = ``softmax_alpha``. As in the tutorial's
    ``stackedAECost``, only the softmax weights are decayed during
    fine-tuning: the encoder weights start from their pre-trained values,
    which act as the regulariser. Because stage 2 minimises the same ``J``
    with the encoders held fixed, ``loss_curve_`` runs on from the softmax
    stage into the fine-tuning.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(200, 200)
        Number of hidden units of each sigmoid layer, from the input up.

    rho : float or sequence of float, default=0.1
        Sparsity target of each layer's pre-training, strictly between 0 and
        1: one value for all layers, or one per layer.

    beta : float or sequence of float, default=3.0
        Weight of the sparsity penalty in pre-training, for all layers or
        per layer.

    alpha : float or sequence of float, default=3e-3
        Weight decay of the pre-training (the tutorial's lambda for the
        autoencoders), for all layers or per layer.

    softmax_alpha : float, default=1e-4
        Weight decay of the softmax weights, in the softmax stage and in
        fine-tuning. The tutorial trains its softmax classifiers with
        lambda = 1e-4 (``softmaxTrain``), a smaller value than the 3e-3 of
        its autoencoders; the cross-entropy is a much smaller number than
        the autoencoders' reconstruction error.

    fine_tune : bool, default=True
        Whether to fine-tune all weights after training the softmax layer.
        With False, the classifier is the softmax layer on the pre-trained
        features.

    max_iter : int, default=400
        Maximum number of L-BFGS iterations of each stage: each layer's
        pre-training, the softmax layer, and the fine-tuning unless
        ``fine_tune_max_iter`` is given.

    fine_tune_max_iter : int, default=None
        Maximum number of L-BFGS iterations of the fine-tuning. None means
        ``max_iter``.

    tol : float, default=1e-5
        Stop each stage when the largest absolute component of its gradient
        falls to ``tol``.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation of every layer and of the softmax weights.
        Pass an int for reproducible results. See
        :term:`Glossary <random_state>`.

    verbose : int, default=0
        If positive, print which stage is running and one line every
        ``verbose`` L-BFGS iterations (every iteration for 1).

    early_stopping : bool, default=False
        Whether to stop the supervised stages (the softmax layer and the
        fine-tuning) when the accuracy on held-out samples no longer
        improves, as MLPClassifier does. With True, a stratified
        ``validation_fraction`` of the training samples is set aside (drawn
        from ``random_state``); every stage, the pre-training included,
        trains on the rest only. After each L-BFGS iteration of a supervised
        stage the held-out accuracy is recorded; the stage stops when it has
        not improved by at least ``tol`` for ``n_iter_no_change``
        consecutive iterations, and the weights of the best accuracy are
        kept. The fine-tuning starts from the best softmax layer and must
        beat its accuracy to change the weights.

    validation_fraction : float, default=0.1
        The fraction of the training samples set aside for early stopping,
        strictly between 0 and 1. Only used if ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Iterations without an improvement of at least ``tol`` of the
        held-out accuracy tolerated before a stage stops. Only used if
        ``early_stopping=True``.

    sparsity : {"kl", "l1"} or sequence of them, default="kl"
        Sparsity penalty of each layer's pre-training, as in
        :class:`SparseAutoencoder`: for all layers or per layer.

    tied_weights : bool or sequence of bool, default=False
        Whether each layer's decoder weights are its encoder's, as in
        :class:`SparseAutoencoder`: for all layers or per layer.

    corruption : float or sequence of float, default=0.0
        Fraction of each layer's input entries masked during its
        pre-training, in [0, 1): a stack of denoising autoencoders (Vincent
        et al.). Each layer draws its own noise on the clean features of the
        layer below. For all layers or per layer.

    decoder : {"sigmoid", "linear"} or sequence of them, default="sigmoid"
        Output units of each layer's decoder, as in
        :class:`SparseAutoencoder`. A linear decoder makes sense on the first
        layer only, for real-valued input; on a hidden layer it would
        reconstruct sigmoid activations, which lie in (0, 1), with unbounded
        units, and is refused. So ``"linear"`` is accepted as a single value
        for a one-layer stack, and otherwise as ``["linear", "sigmoid",
        ...]``.

    warm_start : bool, default=False
        When True and the classifier is already fitted, ``fit`` continues
        each layer's pre-training from its weights in ``autoencoders_``
        instead of a fresh random initialisation; the softmax layer and the
        fine-tuning then run as in every fit. ``hidden_layer_sizes`` and the number of
        features must not change between such fits.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.

    autoencoders_ : list of SparseAutoencoder
        The pre-trained layers (stage 1), from the input up. Their weights
        are the starting point of the fine-tuning, which does not change
        them: the fine-tuned weights are in ``coefs_``.

    coefs_ : list of ndarray
        Weights of the final network, one array per layer as in
        :class:`~sklearn.neural_network.MLPClassifier`: ``coefs_[l]`` has
        shape ``(n_units_in, n_units_out)``; the last one is the softmax
        layer, of shape ``(hidden_layer_sizes[-1], n_classes)``.

    intercepts_ : list of ndarray
        Biases of the final network, ``intercepts_[l]`` of shape
        ``(n_units_out,)``. The softmax layer has biases too (the tutorial's
        has none); they are not decayed.

    pretrained_coefs_ : list of ndarray
        The weights before fine-tuning: the autoencoders' encoder weights
        (transposed) and the softmax layer of stage 2. Equal to ``coefs_``
        when ``fine_tune=False``.

    pretrained_intercepts_ : list of ndarray
        The biases before fine-tuning.

    n_iter_ : int
        Total number of L-BFGS iterations over all stages: the pre-training
        of each layer (``autoencoders_[l].n_iter_``), the softmax layer
        (``softmax_n_iter_``) and the fine-tuning (``fine_tune_n_iter_``).

    softmax_n_iter_ : int
        Number of L-BFGS iterations of the softmax stage.

    fine_tune_n_iter_ : int
        Number of L-BFGS iterations of the fine-tuning, 0 when
        ``fine_tune=False``.

    loss_ : float
        The objective ``J`` at the final weights.

    loss_curve_ : list of float
        ``J`` after each iteration of the softmax stage and then of the
        fine-tuning.

    validation_scores_ : list of float or None
        With ``early_stopping=True``, the held-out accuracy after each
        iteration of the softmax stage and then of the fine-tuning; None
        otherwise.

    best_validation_score_ : float or None
        With ``early_stopping=True``, the best held-out accuracy, that of the
        weights kept; None otherwise.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

    See Also
    --------
    StackedSparseAutoencoder : The unsupervised stack alone, as a
        transformer.
    SparseAutoencoder : One layer of the stack.
    sklearn.neural_network.MLPClassifier : A network of the same shape
        trained from a random start, without pre-training.

    Notes
    -----
    Input of dtype float32 is trained and evaluated in float32; any other
    input is converted to float64. The input should be scaled into [0, 1]
    for the first autoencoder's sigmoid decoder. Binary problems use a
    softmax over two classes; ``decision_function`` then returns the
    difference of the two scores, positive for ``classes_[1]``.

    References
    ----------
    .. [1] Stanford UFLDL Tutorial, "Fine-tuning Stacked AEs" and "Exercise:
       Implement deep networks for digit classification",
       http://ufldl.stanford.edu/wiki/
    .. [2] Y. Bengio, P. Lamblin, D. Popovici and H. Larochelle, "Greedy
       layer-wise training of deep networks", NIPS 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn_sae import StackedSparseAutoencoderClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16.0, y, random_state=0
    ... )
    >>> clf = StackedSparseAutoencoderClassifier(
    ...     (64, 32), max_iter=50, random_state=0
    ... ).fit(X_train, y_train)
    >>> clf.predict_proba(X_test).shape
    (450, 10)
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **_BaseStack._parameter_constraints,
        "softmax_alpha": [StrictInterval(Real, 0, None, closed="left")],
        "fine_tune": ["boolean"],
        "fine_tune_max_iter": [StrictInterval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(200, 200),
        *,
        rho=0.1,
        beta=3.0,
        alpha=3e-3,
        softmax_alpha=1e-4,
        fine_tune=True,
        max_iter=400,
        fine_tune_max_iter=None,
        tol=1e-5,
        random_state=None,
        verbose=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        sparsity="kl",
        tied_weights=False,
        corruption=0.0,
        decoder="sigmoid",
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.rho = rho
        self.beta = beta
        self.alpha = alpha
        self.softmax_alpha = softmax_alpha
        self.fine_tune = fine_tune
        self.max_iter = max_iter
        self.fine_tune_max_iter = fine_tune_max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.sparsity = sparsity
        self.tied_weights = tied_weights
        self.corruption = corruption
        self.decoder = decoder
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pre-train the layers, train the softmax layer, then fine-tune.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, with values in [0, 1].

        y : array-like of shape (n_samples,)
            Class labels (strings or integers).

        Returns
        -------
        self : StackedSparseAutoencoderClassifier
            The fitted classifier.
        """
        try:
            return self._fit_with_tasks(partial(self._fit, X, y), X, y)
        finally:
            self.__dict__.pop("_held_out", None)
            self.__dict__.pop("_monitors", None)

    def _fit(self, X, y):
        X, y_index = self._validate_training_data(X, y)
        sizes, settings = self._layer_settings()
        random_state = check_random_state(self.random_state)
        X, y_index = self._hold_out(X, y_index, random_state)

        autoencoders, H = self._pretrain(X, sizes, settings, random_state)
        self._encode_held_out(autoencoders)
        softmax = self._train_softmax(H, y_index, random_state)
        del H
        weights = [sae.components_ for sae in autoencoders] + [softmax.weights]
        biases = [sae.intercept_hidden_ for sae in autoencoders] + [softmax.biases]
        self.pretrained_coefs_ = [np.ascontiguousarray(W.T, X.dtype) for W in weights]
        self.pretrained_intercepts_ = [b.astype(X.dtype) for b in biases]
        self.softmax_n_iter_ = softmax.result.n_iter
        loss_curve = list(softmax.result.loss_curve)
        loss = softmax.result.loss

        if self.fine_tune:
            result = self._fine_tune(X, y_index, weights, biases)
            weights, biases = self._network_layout(X, sizes).unpack(result.x)
            self.fine_tune_n_iter_ = result.n_iter
            loss_curve += result.loss_curve
            loss = result.loss
            self.coefs_ = [np.ascontiguousarray(W.T, X.dtype) for W in weights]
            self.intercepts_ = [b.astype(X.dtype) for b in biases]
        else:
            self.fine_tune_n_iter_ = 0
            self.coefs_ = [W.copy() for W in self.pretrained_coefs_]
            self.intercepts_ = [b.copy() for b in self.pretrained_intercepts_]

        self.autoencoders_ = autoencoders
        self.n_iter_ = (
            sum(sae.n_iter_ for sae in autoencoders)
            + self.softmax_n_iter_
            + self.fine_tune_n_iter_
        )
        self.loss_ = loss
        self.loss_curve_ = loss_curve
        self._record_validation()
        return self

    def _n_stages(self):
        return super()._n_stages() + 1 + bool(self.fine_tune)

    def _hold_out(self, X, y_index, random_state):
        """The training part of X and y; the held-out part goes to ``_held_out``.

        With ``early_stopping=True`` a stratified ``validation_fraction`` of
        the samples is held out, as in MLPClassifier; otherwise nothing.
        """
        self._held_out = None
        self._monitors = []
        if not self.early_stopping:
            return X, y_index
        n_val, n_train = check_validation_split(self, X.shape[0])
        counts = np.bincount(y_index, minlength=len(self.classes_))
        n_classes = len(counts)
        if counts.min() < 2 or min(n_val, n_train) < n_classes:
            smallest = self.classes_.tolist()[int(np.argmin(counts))]
            raise ValueError(
                f"{type(self).__name__} with early_stopping=True holds out a "
                "stratified validation_fraction="
                f"{self.validation_fraction} of the samples, which needs at least "
                f"2 samples of each class and as many held-out and training "
                f"samples as classes ({n_classes}); class {smallest!r} has "
                f"{counts.min()} sample(s), and the split would give {n_val} "
                f"held-out and {n_train} training samples. Increase "
                "validation_fraction or the number of samples, or set "
                "early_stopping=False."
            )
        train, held_out = train_test_split(
            np.arange(X.shape[0]),
            test_size=n_val,
            stratify=y_index,
            random_state=random_state,
        )
        train, held_out = np.sort(train), np.sort(held_out)
        self._held_out = {"network": (X[held_out], y_index[held_out])}
        return X[train], y_index[train]

    def _encode_held_out(self, autoencoders):
        """The held-out samples' top features, scored by the softmax stage."""
        if self._held_out is None:
            return
        H, y_index = self._held_out["network"]
        with single_threaded_blas():
            for sae in autoencoders:
                H = sae.transform(H)
        self._held_out["softmax"] = (H, y_index)

    def _monitor(self, layout, stage, theta):
        """The early-stopping hook of a supervised stage, or None.

        The held-out score is the accuracy. The fine-tuning goes on from the
        best of the softmax stage: it must beat that score to change the
        weights.
        """
        if self._held_out is None:
            return None
        X_val, y_val = self._held_out[stage]

        def accuracy(theta):
            weights, biases = layout.unpack(theta)
            Z = forward(
                X_val,
                [W.astype(X_val.dtype) for W in weights],
                [b.astype(X_val.dtype) for b in biases],
            )
            return float(np.mean(np.argmax(Z, axis=1) == y_val))

        carry = {}
        if self._monitors:
            previous = self._monitors[-1]
            carry = {
                "best_score": previous.best_score,
                "best_x": np.array(theta, dtype=np.float64),
                "best_loss": previous.best_loss,
            }
        monitor = EarlyStopping(
            accuracy, n_iter_no_change=self.n_iter_no_change, tol=self.tol, **carry
        )
        self._monitors.append(monitor)
        return monitor

    def _record_validation(self):
        """``validation_scores_`` and ``best_validation_score_`` of the stages."""
        if self._monitors:
            self.validation_scores_ = [s for m in self._monitors for s in m.scores]
            self.best_validation_score_ = self._monitors[-1].best_score
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _validate_training_data(self, X, y):
        """Validated X, and y as indices into ``classes_`` (which it sets)."""
        check_not_none(X, self)
        if is_dask_array(X):
            X, y = self._validate_dask_X_y(X, y)
        else:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse="csr",
                dtype=(np.float64, np.float32),
                order="C",
            )
        try:
            check_classification_targets(y)
            classes, y_index = np.unique(y, return_inverse=True)
        except TypeError as exc:  # labels that cannot be sorted together
            kinds = sorted({type(label).__name__ for label in y})
            raise TypeError(
                f"{type(self).__name__} needs class labels of one kind, all "
                f"strings or all numbers, but y mixes {', '.join(kinds)}."
            ) from exc
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but "
                f"the data contain only one class: {classes.tolist()[0]!r}."
            )
        self.classes_ = classes
        return X, y_index

    def _validate_dask_X_y(self, X, y):
        """A dask array X validated by rows, and y as a 1-d array in memory.

        The labels are read on the driver, for the classes.
        """
        from ._dask_rows import check_dask_array

        X = check_dask_array(self, X, reset=True)
        y = column_or_1d(y.compute() if is_dask_array(y) else y, warn=True)
        check_consistent_length(X, y)
        return X, y

    def _classifier_objective(self, X, y_index, layer_sizes, alpha):
        """The objective of the softmax and fine-tuning stages on X."""
        if is_dask_array(X):
            from ._dask_rows import classifier_objective

            return classifier_objective(self, X, y_index, layer_sizes, alpha)
        return ClassifierObjective(X, y_index, layer_sizes, alpha=alpha)

    def _network_layout(self, X, sizes):
        """The layout of the whole network's parameters, input to classes."""
        return NetworkLayout((X.shape[1], *sizes, len(self.classes_)))

    def _train_softmax(self, H, y_index, random_state):
        """Stage 2: the softmax layer on the top features H."""
        layout = NetworkLayout((H.shape[1], len(self.classes_)))
        theta = np.zeros(layout.size)
        theta[: layout.n_weights] = _SOFTMAX_INIT_SCALE * random_state.standard_normal(
            layout.n_weights
        )
        with self._classifier_objective(
            H, y_index, layout.layer_sizes, self.softmax_alpha
        ) as objective:
            result = self._stage(
                "training the softmax layer",
                partial(
                    self._minimize, objective, theta, self.max_iter, layout, "softmax"
                ),
                max_iter=self.max_iter,
            )
        (weights,), (biases,) = layout.unpack(result.x)
        return _SoftmaxLayer(weights, biases, result)

    def _fine_tune(self, X, y_index, weights, biases):
        """Stage 3: every weight at once, from the pre-trained ones."""
        sizes = [W.shape[0] for W in weights[:-1]]
        layout = self._network_layout(X, sizes)
        max_iter = self.fine_tune_max_iter or self.max_iter
        decay = [0.0] * len(sizes) + [self.softmax_alpha]
        with self._classifier_objective(
            X, y_index, layout.layer_sizes, decay
        ) as objective:
            return self._stage(
                "fine-tuning all layers",
                partial(
                    self._minimize,
                    objective,
                    layout.pack(weights, biases),
                    max_iter,
                    layout,
                    "network",
                ),
                max_iter=max_iter,
                max_iter_name=(
                    "fine_tune_max_iter" if self.fine_tune_max_iter else "max_iter"
                ),
            )

    def _minimize(self, objective, theta, max_iter, layout=None, stage=None):
        reconstruct = None
        if stage == "network":  # callbacks get the network of each iteration

            def reconstruct(theta):
                weights, biases = layout.unpack(theta)
                return {
                    "coefs_": [W.T.copy() for W in weights],
                    "intercepts_": [b.copy() for b in biases],
                }

        hooks = self._stage_tasks.iterations(reconstruct)
        monitor = None if stage is None else self._monitor(layout, stage, theta)
        if monitor is not None:
            hooks.insert(0, monitor)
        try:
            result = minimize_lbfgs(
                objective,
                theta,
                max_iter=max_iter,
                tol=self.tol,
                verbose=self.verbose,
                name=type(self).__name__,
                on_iteration=hooks or None,
            )
        finally:
            close_iterations(hooks)
        if monitor is not None:
            result = monitor.finish(result)
        return result

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def _scores(self, X):
        """Class scores ``z`` (n_samples, n_classes) in the dtype of X."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        weights = [W.T.astype(X.dtype, copy=False) for W in self.coefs_]
        biases = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
        if is_dask_array(X):
            from ._dask_rows import map_rows

            width = len(self.classes_)
            return map_rows(self, X, forward, weights, biases, width=width)
        return forward(X, weights, biases)

    def decision_function(self, X):
        """Class scores of X, before the softmax.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The scores ``z`` of each class. For two classes, the difference
            ``z[:, 1] - z[:, 0]``: positive values favour ``classes_[1]``.
        """
        Z = self._scores(X)
        if Z.shape[1] == 2:
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each sample.
        """
        scores = self._scores(X)
        if is_dask_array(scores):
            from ._dask_rows import predict_lazily

            return predict_lazily(scores, self.classes_)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_log_proba(self, X):
        """Log of the class probabilities, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log softmax(z)``, classes in the order of ``classes_``.
        """
        scores = self._scores(X)
        if is_dask_array(scores):
            return scores.map_blocks(log_softmax)
        return log_softmax(scores)

    def predict_proba(self, X):
        """Class probabilities, the softmax of the class scores.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``softmax(z)``, classes in the order of ``classes_``; each row
            sums to 1.
        """
        return np.exp(self.predict_log_proba(X))
