"""Stacked sparse autoencoders and the fine-tuned classifier (UFLDL).

:class:`StackedSparseAutoencoder` trains sparse autoencoders greedily, layer
by layer, each on the features of the layer below.
:class:`StackedSparseAutoencoderClassifier` adds a softmax layer on the top
features and then, as the tutorial's stacked-autoencoder exercise does,
fine-tunes every weight at once by back-propagation.
"""

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
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._finetune import ClassifierObjective, NetworkLayout, forward, log_softmax
from ._optimize import (
    LBFGSResult,
    minimize_lbfgs,
    single_threaded_blas,
    warn_if_not_converged,
)
from ._sparse_autoencoder import SparseAutoencoder
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
}
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
    constraint = _LAYER_CONSTRAINTS[name]
    for i, v in enumerate(values):
        if not constraint.is_satisfied_by(v):
            label = name if array.ndim == 0 else f"{name}[{i}]"
            raise InvalidParameterError(
                f"{label} of {type(estimator).__name__} must be {constraint}. "
                f"Got {v!r} instead."
            )
    return [float(v) for v in values]


class _BaseStack(BaseEstimator):
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
    }

    def _validate_X(self, X, *, reset):
        """X as the layers take it: float32 or float64, dense or CSR."""
        check_not_none(X, self)
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
        return sizes, {
            name: _per_layer(self, name, len(sizes)) for name in _LAYER_CONSTRAINTS
        }

    def _stage(self, description, run, *, max_iter, max_iter_name="max_iter"):
        """Run one stage of training, ``run()``, and warn if it did not converge.

        ``run`` returns the stage's :class:`~sklearn_sae._optimize.LBFGSResult`;
        the warning names the stack, the stage and the stack's parameter that
        bounds it.
        """
        owner = type(self).__name__
        if self.verbose:
            print(f"{owner}: {description}")
        result = run()
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
        autoencoders = []
        H = X
        for layer, n_components in enumerate(sizes):
            sae = SparseAutoencoder(
                n_components=n_components,
                **{name: values[layer] for name, values in settings.items()},
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=int(seeds[layer]),
                verbose=self.verbose,
            )
            self._stage(
                f"pre-training layer {layer + 1} of {len(sizes)} "
                f"({H.shape[1]} -> {n_components} units)",
                partial(sae._fit, H),
                max_iter=self.max_iter,
            )
            # The next layer's input, with single-threaded BLAS as in the fits,
            # so that the stack does not depend on the number of threads.
            with single_threaded_blas():
                H = sae.transform(H)
            autoencoders.append(sae)
        return autoencoders, H

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


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
        If positive, print which layer is being trained and one line per
        L-BFGS iteration.

    Attributes
    ----------
    autoencoders_ : list of SparseAutoencoder
        The fitted layers, from the input up; ``autoencoders_[l]`` maps the
        features of layer ``l - 1`` to those of layer ``l``.

    n_iter_ : int
        Total number of L-BFGS iterations over all layers; those of layer
        ``l`` are ``autoencoders_[l].n_iter_``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

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

    References
    ----------
    .. [1] Stanford UFLDL Tutorial, "Stacked Autoencoders" and "Exercise:
       Implement deep networks for digit classification",
       http://ufldl.stanford.edu/wiki/
    .. [2] Y. Bengio, P. Lamblin, D. Popovici and H. Larochelle, "Greedy
       layer-wise training of deep networks", NIPS 2006.

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
    """

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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.rho = rho
        self.beta = beta
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

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
        self._fit(X)
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
        return self._fit(X)

    def _validate_X(self, X, *, reset):
        if is_dask_array(X):
            from ._dask_rows import check_dask_array

            return check_dask_array(self, X, reset=reset)
        return super()._validate_X(X, reset=reset)

    def _fit(self, X):
        X = self._validate_X(X, reset=True)
        sizes, settings = self._layer_settings()
        self.autoencoders_, H = self._pretrain(
            X, sizes, settings, check_random_state(self.random_state)
        )
        self.n_iter_ = sum(sae.n_iter_ for sae in self.autoencoders_)
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
        for sae in reversed(self.autoencoders_):
            H = sae.inverse_transform(H)
        return H

    def score(self, X, y=None):
        """Negative mean reconstruction error of X through the whole stack.

        The reconstruction is ``inverse_transform(transform(X))``; the error
        of one sample is half its squared Euclidean distance to the sample.

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
        check_is_fitted(self)
        if is_dask_array(X):
            from ._dask_rows import reconstruction_score

            return reconstruction_score(self, X)
        X = self._validate_X(X, reset=False)
        X_hat = self.inverse_transform(self.transform(X))
        X_hat -= X.toarray() if sp.issparse(X) else X
        return -0.5 * float(np.vdot(X_hat, X_hat)) / X.shape[0]

    def _inverse_transform_dask(self, H):
        from ._dask_rows import check_dask_array

        H = check_dask_array(
            self,
            H,
            reset=False,
            n_features=self._n_features_out,
            description="the width of the top layer",
        )
        for sae in reversed(self.autoencoders_):
            H = sae.inverse_transform(H)
        return H

    def __sklearn_is_fitted__(self):
        return hasattr(self, "autoencoders_")

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
        If positive, print which stage is running and one line per L-BFGS
        iteration.

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
        X, y_index = self._validate_training_data(X, y)
        sizes, settings = self._layer_settings()
        random_state = check_random_state(self.random_state)

        autoencoders, H = self._pretrain(X, sizes, settings, random_state)
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
        return self

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
                partial(self._minimize, objective, theta, self.max_iter),
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
                    self._minimize, objective, layout.pack(weights, biases), max_iter
                ),
                max_iter=max_iter,
                max_iter_name=(
                    "fine_tune_max_iter" if self.fine_tune_max_iter else "max_iter"
                ),
            )

    def _minimize(self, objective, theta, max_iter):
        return minimize_lbfgs(
            objective,
            theta,
            max_iter=max_iter,
            tol=self.tol,
            verbose=self.verbose,
            name=type(self).__name__,
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def _scores(self, X):
        """Class scores ``z`` (n_samples, n_classes) in the dtype of X."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        weights = [W.T.astype(X.dtype, copy=False) for W in self.coefs_]
        biases = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
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
        return log_softmax(self._scores(X))

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
