"""Sparse autoencoder (UFLDL / CS294A) as a scikit-learn transformer."""

import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _rows
from ._callbacks import CallbackSupportMixin, Tasks, close_iterations
from ._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
    decode,
    encode,
    masking_noise,
)
from ._optimize import EarlyStopping, minimize_lbfgs, warn_if_not_converged
from .utils._param_validation import StrictInterval
from .utils._validation import (
    check_inverse_transform_input,
    check_not_none,
    is_dask_array,
)
from .utils._warnings import warn_user


def check_validation_split(estimator, n_samples, *, name="X"):
    """The held-out and training row counts of early stopping, or a ValueError.

    The counts are those of :func:`~sklearn.model_selection.train_test_split`
    with ``test_size=validation_fraction``; early stopping needs at least two
    held-out rows (as MLPClassifier does) and one training row.
    """
    n_val = math.ceil(estimator.validation_fraction * n_samples)
    n_train = n_samples - n_val
    if n_val < 2 or n_train < 1:
        raise ValueError(
            f"{type(estimator).__name__} with early_stopping=True holds out "
            f"validation_fraction={estimator.validation_fraction} of the "
            f"{n_samples} samples of {name}: {n_val} held-out and {n_train} "
            "training sample(s), but it needs at least 2 held-out samples and 1 "
            "training sample. Increase validation_fraction or the number of "
            "samples, or set early_stopping=False."
        )
    return n_val, n_train


class _BaseAutoencoder(
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Training and the forward pass shared by the one-hidden-layer autoencoders.

    Subclasses say which objective they minimise through
    :meth:`_objective_params` and the properties below; everything else (input
    validation, initialisation, warm start, the L-BFGS run, the fitted
    attributes, transform, inverse_transform and score) lives here once.
    """

    _parameter_constraints: dict = {
        "n_components": [StrictInterval(Integral, 1, None, closed="left")],
        "alpha": [StrictInterval(Real, 0, None, closed="left")],
        "max_iter": [StrictInterval(Integral, 1, None, closed="left")],
        "tol": [StrictInterval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "early_stopping": ["boolean"],
        "validation_fraction": [StrictInterval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [StrictInterval(Integral, 1, None, closed="left")],
    }

    # The objective's switches; subclasses override what they use.
    _decoder = "sigmoid"
    _tied_weights = False
    _k = None
    _corruption = 0.0

    def _objective_params(self):
        """Keyword arguments of :class:`SparseAutoencoderObjective`."""
        return {"alpha": self.alpha}

    def _check_training_data(self, X):
        """Hook for warnings and errors that depend on the data and parameters."""

    def _input_mask(self, X, random_state):
        """Masking noise for the encoder's input, or None."""
        return None

    def _make_objective(self, X, random_state):
        """The objective this model minimises on the validated training data X.

        ``random_state`` draws the masking noise, if any.
        """
        if is_dask_array(X):
            return self._make_dask_objective(X, random_state)
        return SparseAutoencoderObjective(
            X,
            self.n_components,
            decoder=self._decoder,
            tied_weights=self._tied_weights,
            k=self._k,
            input_mask=self._input_mask(X, random_state),
            **self._objective_params(),
        )

    def _make_dask_objective(self, X, random_state):
        """The objective on a dask array X persisted on a cluster."""
        from ._dask_rows import DaskAutoencoderObjective

        return DaskAutoencoderObjective(
            X,
            self.n_components,
            decoder=self._decoder,
            tied_weights=self._tied_weights,
            k=self._k,
            corruption=self._corruption,
            random_state=random_state,
            **self._objective_params(),
        )

    def _validate_dask(self, X, *, reset, fit=False):
        """A dask array X validated by rows; persisted and checked for ``fit``."""
        from ._dask_rows import check_dask_array, persist_finite

        X = check_dask_array(self, X, reset=reset)
        return persist_finite(self, X) if fit else X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the encoder and decoder weights from X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.
        """
        tasks = Tasks.fit(self, X, max_subtasks=self.max_iter + 1)
        result = self._fit(X, tasks)
        tasks.end(reconstruction_attributes={})
        warn_if_not_converged(
            result, type(self).__name__, max_iter=self.max_iter, warm_start=True
        )
        return self

    def _fit(self, X, tasks=None):
        """Fit on X without warning; return the L-BFGS result.

        The stacks train their layers through this method and word the
        ConvergenceWarning themselves. ``tasks`` (a
        :class:`~sklearn_sae._callbacks.Tasks`) makes each L-BFGS iteration a
        callback subtask; its callbacks get this model as ``fitted_estimator``
        only when it is the estimator they were set on.
        """
        continuing = self.warm_start and hasattr(self, "components_")
        check_not_none(X, self)
        if is_dask_array(X):
            X = self._validate_dask(X, reset=not continuing, fit=True)
        else:
            X = validate_data(
                self,
                X,
                accept_sparse="csr",
                dtype=(np.float64, np.float32),
                order="C",
                reset=not continuing,
            )
        self._check_training_data(X)

        layout = ParameterLayout(X.shape[1], self.n_components, self._tied_weights)
        random_state = check_random_state(self.random_state)
        if continuing:
            if self.components_.shape[0] != self.n_components:
                raise ValueError(
                    "warm_start=True needs the same n_components as the previous "
                    f"fit ({self.components_.shape[0]}), got n_components="
                    f"{self.n_components}. Set warm_start=False to start afresh."
                )
            theta0 = layout.pack(
                self.components_,
                self.decoder_components_,
                self.intercept_hidden_,
                self.intercept_visible_,
            )
        else:
            theta0 = layout.initialize(random_state)

        hooks = []
        monitor = None
        if self.early_stopping:
            X, X_val = self._validation_split(X, random_state)
            monitor = EarlyStopping(
                lambda theta: (
                    -float(
                        np.mean(
                            self._errors(X_val, self._unpacked(layout, theta, X.dtype)),
                            dtype=np.float64,
                        )
                    )
                ),
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
            )
            hooks.append(monitor)
        if tasks is not None:
            hooks += tasks.iterations(
                (lambda theta: self._attributes(layout, theta, X.dtype))
                if tasks.estimator is self
                else None
            )
        with self._make_objective(X, random_state) as objective:
            try:
                result = minimize_lbfgs(
                    objective,
                    theta0,
                    max_iter=self.max_iter,
                    tol=self.tol,
                    verbose=self.verbose,
                    name=type(self).__name__,
                    on_iteration=hooks or None,
                )
            finally:
                close_iterations(hooks)
        if monitor is None:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        else:
            result = monitor.finish(result)
            self.validation_scores_ = monitor.scores
            self.best_validation_score_ = monitor.best_score
        self._set_weights(layout, result.x, X.dtype)
        self.n_iter_ = result.n_iter
        self.loss_ = result.loss
        self.loss_curve_ = result.loss_curve
        return result

    def _validation_split(self, X, random_state):
        """The training rows and the held-out rows of X, each in their order in X."""
        n_val, _ = check_validation_split(self, X.shape[0])
        train, held_out = train_test_split(
            np.arange(X.shape[0]), test_size=n_val, random_state=random_state
        )
        return X[np.sort(train)], X[np.sort(held_out)]

    @staticmethod
    def _unpacked(layout, theta, dtype):
        """The parameter vector ``theta`` as ``(W1, W2T, b1, b2)`` of ``dtype``."""
        return tuple(np.ascontiguousarray(p, dtype=dtype) for p in layout.unpack(theta))

    def _attributes(self, layout, theta, dtype):
        """The fitted attributes of the parameters ``theta``."""
        W1, W2T, b1, b2 = self._unpacked(layout, theta, dtype)
        return {
            "components_": W1,
            "decoder_components_": W1 if self._tied_weights else W2T,
            "intercept_hidden_": b1,
            "intercept_visible_": b2,
        }

    def _set_weights(self, layout, theta, dtype):
        W1, W2T, b1, b2 = self._unpacked(layout, theta, dtype)
        self.components_ = W1
        self.decoder_components_ = W1 if self._tied_weights else W2T
        self.intercept_hidden_ = b1
        self.intercept_visible_ = b2

    def _weights(self, dtype):
        """The fitted parameters cast to ``dtype`` (no copy when it matches)."""
        return tuple(
            p.astype(dtype, copy=False)
            for p in (
                self.components_,
                self.decoder_components_,
                self.intercept_hidden_,
                self.intercept_visible_,
            )
        )

    def transform(self, X):
        """Encode X into hidden activations.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Hidden activations (the codes), of the dtype of X (float32 or
            float64).
        """
        check_is_fitted(self)
        check_not_none(X, self)
        if is_dask_array(X):
            return self._transform_dask(X)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), reset=False
        )
        W1, _, b1, _ = self._weights(X.dtype)
        return encode(X, W1, b1, k=self._k)

    def _transform_dask(self, X):
        from ._dask_rows import encode_lazily

        X = self._validate_dask(X, reset=False)
        W1, _, b1, _ = self._weights(X.dtype)
        return encode_lazily(self, X, W1, b1, self._k)

    def inverse_transform(self, X):
        """Decode hidden activations back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden activations, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstruction ``X @ decoder_components_ + intercept_visible_``,
            through the sigmoid for the sigmoid decoder, of the dtype of X
            (float32 or float64).
        """
        check_is_fitted(self)
        if is_dask_array(X):
            return self._inverse_transform_dask(X)
        H = check_inverse_transform_input(
            self, X, self.components_.shape[0], "n_components"
        )
        _, W2T, _, b2 = self._weights(H.dtype)
        return decode(H, W2T, b2, linear=self._decoder == "linear")

    def _errors(self, X, weights):
        """Half the squared reconstruction error of each row of the validated X.

        The rows are taken one block at a time (see
        :func:`sklearn_sae._rows.block_rows`), so memory beyond X stays near a
        block's activations and reconstructions, whatever the number of rows.
        """
        W1, W2T, b1, b2 = weights
        n_samples = X.shape[0]
        errors = np.empty(n_samples, dtype=X.dtype)
        rows = _rows.block_rows(
            n_samples, max(X.shape[1], W1.shape[0]), X.dtype.itemsize
        )
        for start in range(0, n_samples, rows):
            stop = min(start + rows, n_samples)
            if sp.issparse(X):
                block = _rows.csr_rows(X, start, stop)
                X_hat = self._reconstruct(block, W1, W2T, b1, b2)
                X_hat -= block.toarray()
            else:
                X_hat = self._reconstruct(X[start:stop], W1, W2T, b1, b2)
                X_hat -= X[start:stop]
            np.einsum("ij,ij->i", X_hat, X_hat, out=errors[start:stop])
        errors *= 0.5
        return errors

    def _reconstruct(self, X, W1, W2T, b1, b2):
        H = encode(X, W1, b1, k=self._k)
        return decode(H, W2T, b2, linear=self._decoder == "linear")

    def score_samples(self, X):
        """Minus the reconstruction error of each sample (higher is more normal).

        The error of a sample ``x`` is half its squared Euclidean
        reconstruction error, ``0.5 * ||x_hat - x||^2`` with ``x_hat =
        inverse_transform(transform(x))``: the term of the training objective
        that :meth:`score` averages. Samples unlike the training data
        reconstruct badly, so low scores flag them, as in novelty detection.
        The rows are processed in blocks, so memory does not grow with the
        number of samples beyond the result.

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
        >>> from sklearn_sae import SparseAutoencoder
        >>> X, y = load_digits(return_X_y=True)
        >>> X = X / 16.0
        >>> sae = SparseAutoencoder(n_components=16, max_iter=50, random_state=0)
        >>> sae = sae.fit(X[y == 0])  # zeros only
        >>> scores = sae.score_samples(X)
        >>> bool(scores[y == 0].mean() > scores[y != 0].mean())
        True
        """
        check_is_fitted(self)
        check_not_none(X, self)
        if is_dask_array(X):
            from ._dask_rows import score_samples_lazily

            return score_samples_lazily(self, X)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), reset=False
        )
        errors = self._errors(X, self._weights(X.dtype))
        return np.negative(errors, out=errors)

    def _inverse_transform_dask(self, H):
        from ._dask_rows import check_dask_array, decode_lazily

        H = check_dask_array(
            self,
            H,
            reset=False,
            n_features=self.components_.shape[0],
            description="n_components",
        )
        _, W2T, _, b2 = self._weights(H.dtype)
        return decode_lazily(self, H, W2T, b2, self._decoder == "linear")

    def score(self, X, y=None):
        """Negative mean reconstruction error of X (higher is better).

        The error of one sample is half its squared Euclidean reconstruction
        error, so the score is minus the reconstruction term of the training
        objective (of the clean input): ``-(1 / 2m) sum_i ||x_hat_i - x_i||^2``,
        the mean of :meth:`score_samples`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean reconstruction error.
        """
        if is_dask_array(X):
            from ._dask_rows import mean_of_rows

            return mean_of_rows(self.score_samples(X))
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.components_.shape[0]

    def __setstate__(self, state):
        super().__setstate__(state)
        # Tied weights are one array. pickle keeps the sharing, but joblib
        # stores each array on its own and would load two equal copies.
        if self._tied_weights and hasattr(self, "components_"):
            self.decoder_components_ = self.components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class SparseAutoencoder(_BaseAutoencoder):
    r"""Sparse autoencoder with one sigmoid hidden layer, trained by L-BFGS.

    The model of Andrew Ng's CS294A lecture notes and the Stanford UFLDL
    tutorial. Each sample ``x`` is encoded into hidden activations
    ``a = sigmoid(x W1^T + b1)`` and reconstructed as
    ``x_hat = sigmoid(a W2^T + b2)``. Training minimises, over the ``m``
    training samples,

    .. math::

        J = \frac{1}{2m} \sum_i \lVert \hat x_i - x_i \rVert^2
            + \frac{\alpha}{2} \left(\lVert W_1 \rVert_F^2
            + \lVert W_2 \rVert_F^2\right)
            + \beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j),

    where :math:`\hat\rho_j` is the mean activation of hidden unit ``j`` and
    :math:`\mathrm{KL}(\rho \Vert \hat\rho) = \rho \log(\rho / \hat\rho)
    + (1 - \rho) \log((1 - \rho) / (1 - \hat\rho))`. Biases are not
    decayed. The features it learns are the hidden activations, returned by
    :meth:`transform`.

    The tutorial's variants are options of the same model: a linear decoder
    (``decoder="linear"``), an L1 activity penalty in place of the KL term
    (``sparsity="l1"``), tied weights (``tied_weights=True``) and the
    denoising autoencoder's masking noise (``corruption``). The user guide
    gives each one's equations.

    With the default sigmoid decoder the reconstruction lies in [0, 1], so
    the input must be scaled into that range, for instance with
    :class:`~sklearn.preprocessing.MinMaxScaler`; ``fit`` warns when it is
    not. The linear decoder takes any real-valued input, such as
    ZCA-whitened patches (:class:`~sklearn_sae.preprocessing.ZCAWhitener`).

    Parameters
    ----------
    n_components : int, default=200
        Number of hidden units.

    rho : float, default=0.1
        Sparsity target of the KL penalty: the desired mean activation of
        each hidden unit, strictly between 0 and 1. Unused with
        ``sparsity="l1"``.

    beta : float, default=3.0
        Weight of the sparsity penalty. ``beta=0`` gives a plain
        (non-sparse) autoencoder.

    alpha : float, default=3e-3
        Weight decay on the weight matrices (the tutorial's lambda). With
        tied weights the shared matrix is decayed once:
        :math:`\frac{\alpha}{2} \lVert W \rVert_F^2`.

    decoder : {"sigmoid", "linear"}, default="sigmoid"
        Output units of the reconstruction: ``sigmoid(a W2^T + b2)``, for
        inputs in [0, 1], or the tutorial's linear decoder ``a W2^T + b2``,
        for real-valued inputs.

    sparsity : {"kl", "l1"}, default="kl"
        Sparsity penalty: ``beta`` times the KL divergence between ``rho``
        and each unit's mean activation, summed over units, or ``"l1"``:
        ``beta`` times the mean over samples of the L1 norm of the hidden
        activations, :math:`\beta \frac{1}{m} \sum_i \sum_j |a_{ij}|`.

    tied_weights : bool, default=False
        If True, the decoder weights are the encoder's, ``W2 = W1^T``, one
        matrix learned for both; ``decoder_components_`` is then the same
        array as ``components_``.

    corruption : float, default=0.0
        Fraction of each training sample's entries set to zero before
        encoding (the denoising autoencoder's masking noise), in [0, 1); the
        reconstruction is compared with the clean sample. L-BFGS needs a
        deterministic objective, so the noise is drawn once per ``fit``, from
        ``random_state``, and held fixed while training. ``transform`` and
        ``score`` see uncorrupted input.

    max_iter : int, default=400
        Maximum number of L-BFGS iterations.

    tol : float, default=1e-5
        Stop when the largest absolute component of the gradient falls to
        ``tol``. With ``tol=0`` only ``max_iter`` or the numerical limits of
        float64 stop the optimizer.

    warm_start : bool, default=False
        When True and the model is already fitted, ``fit`` starts from the
        previous solution instead of a fresh random initialisation: the
        tutorial's way of continuing a long run. ``n_components`` and the
        number of features must not change between such fits.

    random_state : int, RandomState instance or None, default=None
        Seeds the random initialisation of the weights and the masking noise.
        Pass an int for reproducible results. See :term:`Glossary
        <random_state>`.

    verbose : int, default=0
        If positive, print one line every ``verbose`` L-BFGS iterations
        (every iteration for 1) with the loss, the gradient norm, the elapsed
        time and the iterations per second.

    early_stopping : bool, default=False
        Whether to stop training when the reconstruction of held-out samples
        no longer improves, as MLPClassifier does. With True,
        ``validation_fraction`` of the training samples are set aside (drawn
        from ``random_state``; the objective sees only the rest); after each
        L-BFGS iteration their score, minus the mean reconstruction error
        (:meth:`score`), is recorded, and training stops when it has not
        improved by at least ``tol`` for ``n_iter_no_change`` consecutive
        iterations. The weights of the best held-out score are kept.

    validation_fraction : float, default=0.1
        The fraction of the training samples set aside for early stopping,
        strictly between 0 and 1. Only used if ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Iterations without an improvement of at least ``tol`` of the
        held-out score tolerated before stopping. Only used if
        ``early_stopping=True``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Encoder weights ``W1``; row ``j`` is the filter of hidden unit ``j``.

    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units, ``b1``.

    decoder_components_ : ndarray of shape (n_components, n_features)
        Decoder weights ``W2^T``, so that
        ``inverse_transform(H) = sigmoid(H @ decoder_components_ +
        intercept_visible_)`` (without the sigmoid for the linear decoder).

    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the reconstruction, ``b2``.

    n_iter_ : int
        Number of L-BFGS iterations run by the last call to ``fit`` (at
        least 1).

    loss_ : float
        The objective ``J`` at the solution, with the penalty and the fixed
        corruption that were minimised.

    loss_curve_ : list of float
        ``J`` after each iteration of the last fit;
        ``len(loss_curve_) == n_iter_``. If the starting point already met
        the stopping criterion, it holds that starting loss alone.

    validation_scores_ : list of float or None
        The held-out score after each L-BFGS iteration, minus the mean
        reconstruction error of the held-out samples, when
        ``early_stopping=True``; None otherwise.

    best_validation_score_ : float or None
        The best of ``validation_scores_``, that of the weights kept, when
        ``early_stopping=True``; None otherwise.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X` has
        feature names that are all strings.

    See Also
    --------
    KSparseAutoencoder : Autoencoder whose codes keep the k largest
        activations.
    StackedSparseAutoencoder : Several sparse autoencoders trained layer by
        layer.
    sklearn.neural_network.BernoulliRBM : Another unsupervised feature learner
        with sigmoid hidden units.
    sklearn.decomposition.PCA : Linear dimensionality reduction.

    Notes
    -----
    Input of dtype float32 is trained and transformed in float32; any other
    input is converted to float64. Sparse input is accepted (converted to
    CSR): its objective and gradient equal those of its dense form up to
    float rounding, which L-BFGS can amplify over hundreds of iterations, so
    the fitted weights may differ noticeably from a dense fit's, most in
    float32.

    Training evaluates the loss and its analytic gradient over all samples
    at each step; the work arrays hold one block of rows at a time, so
    memory beyond the data stays near the size of the hidden activations,
    ``n_samples * n_components``, plus the history SciPy's L-BFGS-B keeps:
    about 25 float64 values per parameter (``2 * n_components * n_features
    + n_components + n_features`` parameters). The data is never copied when
    it is a C-ordered float32 or float64 array, a read-only memory map
    included: training streams it block by block. The masking noise of
    ``corruption > 0`` is kept as one bit per entry of the training data.
    The result does not depend on the number of threads.

    References
    ----------
    .. [1] A. Ng, "Sparse autoencoder", CS294A Lecture notes, Stanford
       University, 2011.
    .. [2] Stanford UFLDL Tutorial, "Sparse Autoencoder", "Exercise: Sparse
       Autoencoder" and "Linear Decoders", http://ufldl.stanford.edu/wiki/
    .. [3] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol,
       "Extracting and composing robust features with denoising
       autoencoders", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_sae import SparseAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0  # the sigmoid decoder needs inputs in [0, 1]
    >>> sae = SparseAutoencoder(n_components=32, max_iter=50, random_state=0)
    >>> H = sae.fit_transform(X)
    >>> H.shape
    (1797, 32)
    >>> X_hat = sae.inverse_transform(H)
    >>> X_hat.shape
    (1797, 64)
    >>> bool(sae.score(X) > -5.0)
    True
    """

    _parameter_constraints: dict = {
        **_BaseAutoencoder._parameter_constraints,
        "rho": [StrictInterval(Real, 0, 1, closed="neither")],
        "beta": [StrictInterval(Real, 0, None, closed="left")],
        "decoder": [StrOptions({"sigmoid", "linear"})],
        "sparsity": [StrOptions({"kl", "l1"})],
        "tied_weights": ["boolean"],
        "corruption": [StrictInterval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        n_components=200,
        *,
        rho=0.1,
        beta=3.0,
        alpha=3e-3,
        decoder="sigmoid",
        sparsity="kl",
        tied_weights=False,
        corruption=0.0,
        max_iter=400,
        tol=1e-5,
        warm_start=False,
        random_state=None,
        verbose=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
    ):
        self.n_components = n_components
        self.rho = rho
        self.beta = beta
        self.alpha = alpha
        self.decoder = decoder
        self.sparsity = sparsity
        self.tied_weights = tied_weights
        self.corruption = corruption
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    @property
    def _decoder(self):
        return self.decoder

    @property
    def _tied_weights(self):
        return self.tied_weights

    @property
    def _corruption(self):
        return self.corruption

    def _objective_params(self):
        return {
            "rho": self.rho,
            "beta": self.beta,
            "alpha": self.alpha,
            "sparsity": self.sparsity,
        }

    def _input_mask(self, X, random_state):
        if self.corruption == 0:
            return None
        return masking_noise(*X.shape, self.corruption, random_state)

    def _check_training_data(self, X):
        if self.decoder == "linear":
            return
        data = X.data if sp.issparse(X) else X
        if data.size == 0:
            return
        low, high = float(data.min()), float(data.max())
        if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
            low = min(low, 0.0)
        if low < 0.0 or high > 1.0:
            warn_user(
                f"{type(self).__name__} reconstructs inputs through a sigmoid, "
                f"which only reaches values in [0, 1], but X has values in "
                f"[{low:.4g}, {high:.4g}]. Scale X into [0, 1] first, for "
                "instance with sklearn.preprocessing.MinMaxScaler, or use "
                'decoder="linear".',
                UserWarning,
            )
