"""k-sparse autoencoder (Makhzani and Frey) as a scikit-learn transformer."""

from numbers import Integral

from ._sparse_autoencoder import _BaseAutoencoder
from .utils._param_validation import StrictInterval


class KSparseAutoencoder(_BaseAutoencoder):
    r"""k-sparse autoencoder: linear codes that keep their k largest values.

    The autoencoder of Makhzani and Frey, trained here by L-BFGS like
    :class:`SparseAutoencoder`. Each sample ``x`` is encoded by linear hidden
    units ``z = x W^T + b1``, of which only the ``k`` largest are kept, the
    others set to zero: ``a = top_k(z)``. The decoder uses the same weights,
    ``x_hat = a W + b2``. Training minimises, over the ``m`` training
    samples,

    .. math::

        J = \frac{1}{2m} \sum_i \lVert \hat x_i - x_i \rVert^2
            + \frac{\alpha}{2} \lVert W \rVert_F^2 .

    The selection is part of the model: back-propagation passes through the
    ``k`` kept units of each sample and stops at the others, and
    :meth:`transform` returns codes with at most ``k`` non-zeros per row.
    The sparsity is imposed by the selection, so there is no sparsity
    penalty. Inputs may be any real values; centre them (see Notes).

    Parameters
    ----------
    n_components : int, default=200
        Number of hidden units.

    k : int, default=25
        Number of hidden units kept per sample. With ``k >= n_components``
        every unit is kept, and the model is a linear autoencoder with tied
        weights.

    alpha : float, default=1e-4
        Weight decay on the (shared) weight matrix.

    max_iter : int, default=400
        Maximum number of L-BFGS iterations.

    tol : float, default=1e-5
        Stop when the largest absolute component of the gradient falls to
        ``tol``.

    warm_start : bool, default=False
        When True and the model is already fitted, ``fit`` starts from the
        previous solution instead of a fresh random initialisation.

    random_state : int, RandomState instance or None, default=None
        Seeds the random initialisation of the weights. Pass an int for
        reproducible results. See :term:`Glossary <random_state>`.

    verbose : int, default=0
        If positive, print one line every ``verbose`` L-BFGS iterations
        (every iteration for 1).

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
        The weights ``W``; row ``j`` is the filter of hidden unit ``j``.

    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units, ``b1``.

    decoder_components_ : ndarray of shape (n_components, n_features)
        The decoder weights: the same array as ``components_``.

    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the reconstruction, ``b2``.

    n_iter_ : int
        Number of L-BFGS iterations run by the last call to ``fit``.

    loss_ : float
        The objective ``J`` at the solution.

    loss_curve_ : list of float
        ``J`` after each iteration of the last fit.

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
    SparseAutoencoder : Sigmoid hidden units with a KL or L1 sparsity
        penalty.

    Notes
    -----
    The objective is piecewise smooth: it is differentiable wherever no two
    of a sample's hidden inputs tie at the ``k``-th place, which holds almost
    everywhere, and L-BFGS treats it as smooth.

    A unit that is never among a sample's ``k`` largest receives no gradient
    and stays unused. Makhzani and Frey avoid this with stochastic gradient
    descent and a schedule that starts ``k`` large; this full-batch L-BFGS
    has no schedule. Centre the input (for instance with
    :class:`~sklearn.preprocessing.StandardScaler` and ``with_std=False``,
    or whiten it): on raw pixel intensities, all of the same sign, many
    units can go unused. On centred input fewer do, but with a very small
    ``k`` relative to ``n_components`` some units can still end up never
    selected (about one in ten on MNIST with ``k=5`` of 100).

    References
    ----------
    .. [1] A. Makhzani and B. Frey, "k-Sparse Autoencoders", ICLR 2014,
       arXiv:1312.5663.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_sae import KSparseAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0 - (X / 16.0).mean(axis=0)  # centred
    >>> ksae = KSparseAutoencoder(n_components=64, k=8, max_iter=50, random_state=0)
    >>> H = ksae.fit_transform(X)
    >>> H.shape
    (1797, 64)
    >>> int((H != 0).sum(axis=1).max())
    8
    """

    _parameter_constraints: dict = {
        **_BaseAutoencoder._parameter_constraints,
        "k": [StrictInterval(Integral, 1, None, closed="left")],
    }

    _decoder = "linear"
    _tied_weights = True

    def __init__(
        self,
        n_components=200,
        *,
        k=25,
        alpha=1e-4,
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
        self.k = k
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    @property
    def _k(self):
        return self.k
