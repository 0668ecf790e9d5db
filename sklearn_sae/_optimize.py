"""The L-BFGS driver shared by every estimator of the package."""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

# Stop when a step improves the loss by less than this, relative to the loss:
# a few ulps, i.e. only when float64 can no longer tell the iterates apart.
_FTOL = 64 * np.finfo(np.float64).eps
# Line-search steps allowed per iteration (scipy's default is 20).
_MAXLS = 50


@dataclass
class LBFGSResult:
    """What :func:`minimize_lbfgs` found.

    Attributes
    ----------
    x : ndarray of shape (n_params,)
        The final parameters (float64).

    loss : float
        The objective at ``x``.

    n_iter : int
        Number of L-BFGS iterations, at least 1 (see ``loss_curve``).

    loss_curve : list of float
        The objective after each iteration, so ``len(loss_curve) == n_iter``.
        If the starting point already met the stopping criterion, it holds
        the starting loss alone.

    n_evaluations : int
        Number of objective evaluations.

    converged : bool
        Whether L-BFGS stopped on its tolerance rather than on ``max_iter``
        or a numerical failure.

    message : str
        The optimizer's reason for stopping.
    """

    x: np.ndarray
    loss: float
    n_iter: int
    loss_curve: list = field(default_factory=list)
    n_evaluations: int = 0
    converged: bool = True
    message: str = ""


class _Recorder:
    """Wraps the objective: counts evaluations and keeps the latest one."""

    def __init__(self, fun):
        self.fun = fun
        self.n_evaluations = 0
        self.x = None
        self.loss = None
        self.grad = None
        self.first_loss = None

    def __call__(self, x):
        loss, grad = self.fun(x)
        self.n_evaluations += 1
        self.x = x.copy()
        self.loss = loss
        self.grad = grad
        if self.first_loss is None:
            self.first_loss = loss
        return loss, grad

    def at(self, x):
        """Loss and gradient at ``x``, re-using the latest evaluation if it was ``x``.

        L-BFGS-B ends every iteration at the point it evaluated last, so this
        normally costs nothing.
        """
        if self.x is None or not np.array_equal(self.x, x):
            return self.fun(x)
        return self.loss, self.grad


def minimize_lbfgs(fun, x0, *, max_iter, tol, verbose=0, name="estimator"):
    """Minimise ``fun`` with scipy's L-BFGS-B and record the loss curve.

    BLAS runs single-threaded for the whole minimisation. L-BFGS's own vector
    updates are memory-bound and gain nothing from threads, and the objectives
    of this package split their rows over threads of their own, each calling
    BLAS on its block. Left multi-threaded, the BLAS pools (NumPy's and SciPy's
    wheels each ship one) keep spinning on the cores those threads need: that
    made whole fits several times slower on two cores
    (``benchmarks/bench_threads.py``).

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, gradient)`` for a float64 vector ``x``.

    x0 : ndarray of shape (n_params,)
        Starting point (float64).

    max_iter : int
        Maximum number of L-BFGS iterations.

    tol : float
        Stop when the largest absolute gradient component falls to ``tol``
        (scipy's ``gtol``). With ``tol=0`` only ``max_iter`` or the numerical
        limits of float64 stop the optimizer.

    verbose : int, default=0
        If positive, print one line per iteration: iteration, loss, gradient
        norm and elapsed time.

    name : str, default="estimator"
        Name used in the ConvergenceWarning.

    Returns
    -------
    result : LBFGSResult
    """
    recorder = _Recorder(fun)
    loss_curve = []
    start = time.perf_counter()

    def callback(xk):
        loss, grad = recorder.at(xk)
        loss_curve.append(float(loss))
        if verbose:
            print(
                f"Iteration {len(loss_curve)}, loss = {loss:.8g}, "
                f"gradient norm = {np.linalg.norm(grad):.4g}, "
                f"elapsed = {time.perf_counter() - start:.2f}s"
            )

    with ThreadpoolController().limit(limits=1, user_api="blas"):  # see docstring
        result = scipy.optimize.minimize(
            recorder,
            x0,
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={
                "maxiter": max_iter,
                "maxfun": max(15000, 20 * max_iter),
                "maxls": _MAXLS,
                "gtol": tol,
                "ftol": _FTOL,
            },
        )
    if not loss_curve:
        loss_curve.append(float(recorder.first_loss))
    message = str(result.message)
    n_iter = len(loss_curve)
    converged = result.status == 0
    if not converged:
        if result.status == 1:
            advice = (
                f"Increase max_iter (now {max_iter}), or continue this fit "
                "with warm_start=True."
            )
        else:
            advice = (
                "The line search could not improve the loss further; the "
                "parameters are the best found. Scaling the input, lowering "
                "beta or raising alpha can help."
            )
        warnings.warn(
            f"{name}: L-BFGS stopped after {n_iter} iteration(s) without "
            f"converging: {message}. {advice}",
            ConvergenceWarning,
            stacklevel=4,
        )
    return LBFGSResult(
        x=np.asarray(result.x, dtype=np.float64),
        loss=float(result.fun),
        n_iter=n_iter,
        loss_curve=loss_curve,
        n_evaluations=recorder.n_evaluations,
        converged=converged,
        message=message,
    )
