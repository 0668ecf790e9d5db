"""Finite-difference check of analytic gradients."""

import numpy as np

# The UFLDL tutorial's step for central differences.
EPSILON = 1e-4


def numerical_gradient(fun, x, *, epsilon=EPSILON):
    """Central finite-difference gradient of a scalar function.

    Parameters
    ----------
    fun : callable
        ``fun(x)`` returns either the loss, or a tuple whose first element is
        the loss (as for ``scipy.optimize.minimize(..., jac=True)``).

    x : array-like of shape (n_params,)
        Point at which to differentiate.

    epsilon : float, default=1e-4
        Step of the central difference ``(f(x + e_i eps) - f(x - e_i eps)) /
        (2 eps)``.

    Returns
    -------
    gradient : ndarray of shape (n_params,)
        The numerical gradient, in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sae.utils import numerical_gradient
    >>> numerical_gradient(lambda x: np.sum(x**2), [1.0, -3.0]).round(6)
    array([ 2., -6.])
    """
    x = np.array(x, dtype=np.float64, copy=True).ravel()
    gradient = np.empty_like(x)
    for i in range(x.size):
        saved = x[i]
        x[i] = saved + epsilon
        f_plus = _loss(fun(x))
        x[i] = saved - epsilon
        f_minus = _loss(fun(x))
        x[i] = saved
        gradient[i] = (f_plus - f_minus) / (2.0 * epsilon)
    return gradient


def _loss(value):
    return float(value[0] if isinstance(value, tuple) else value)


def check_gradient(fun, x, *, epsilon=EPSILON):
    """Compare an analytic gradient with central finite differences.

    This is the gradient check of the UFLDL tutorial: it returns
    ``||num - ana|| / ||num + ana||``, where ``num`` is the central
    finite-difference gradient with step ``epsilon`` and ``ana`` the gradient
    ``fun`` returns. A correct gradient of a smooth objective gives values
    around 1e-9 or below in float64; an error in the derivation gives values
    near 1.

    It evaluates ``fun`` twice per parameter, so use it on small problems.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, gradient)``, the form
        ``scipy.optimize.minimize(..., jac=True)`` takes.

    x : array-like of shape (n_params,)
        Point at which to compare the gradients.

    epsilon : float, default=1e-4
        Step of the central differences.

    Returns
    -------
    relative_error : float
        ``||num - ana|| / ||num + ana||``; 0.0 when both gradients are zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sae.utils import check_gradient
    >>> def fun(x):
    ...     return np.sum(x**3), 3 * x**2
    >>> bool(check_gradient(fun, np.array([1.0, -2.0, 0.5])) < 1e-9)
    True
    >>> def wrong(x):
    ...     return np.sum(x**3), 2 * x**2
    >>> round(check_gradient(wrong, np.array([1.0, -2.0, 0.5])), 2)
    0.2
    """
    x = np.asarray(x, dtype=np.float64)
    analytic = np.asarray(fun(x.copy())[1], dtype=np.float64).ravel()
    numeric = numerical_gradient(fun, x, epsilon=epsilon)
    denominator = np.linalg.norm(numeric + analytic)
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(numeric - analytic) / denominator)
