"""The L-BFGS driver shared by every estimator of the package.

:func:`minimize_lbfgs` runs SciPy's L-BFGS-B and returns an
:class:`LBFGSResult` that says whether it converged and why not;
:func:`warn_if_not_converged` is the one place that turns a result into a
ConvergenceWarning, for every estimator and every stage of a stack.

The driver calls hooks at the end of each iteration (``on_iteration``); a
hook may end the minimisation, which then reports the hook's reason.
:class:`EarlyStopping` is the hook that scores each iterate on held-out data
and keeps the best one.
"""

import math
import time
from contextlib import suppress
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from .utils._warnings import warn_user

# Stop when a step improves the loss by less than this, relative to the loss:
# a few ulps, i.e. only when float64 can no longer tell the iterates apart.
_FTOL = 64 * np.finfo(np.float64).eps
# Line-search steps allowed per iteration (scipy's default is 20).
_MAXLS = 50


# Why L-BFGS stopped: LBFGSResult.reason, with its description.
CONVERGED = "converged"
MAX_ITER = "max_iter"
MAX_EVALUATIONS = "max_evaluations"
LINE_SEARCH = "line_search"
NON_FINITE = "non_finite"
EARLY_STOPPING = "early_stopping"
CALLBACK = "callback"
_REASONS = {
    CONVERGED: "it converged",
    MAX_ITER: "it reached the iteration limit",
    MAX_EVALUATIONS: "it reached the limit of objective evaluations",
    LINE_SEARCH: "the line search could not improve the loss further",
    NON_FINITE: ("the line search ended on a point where the objective is not finite"),
    EARLY_STOPPING: "the held-out score stopped improving",
    CALLBACK: "a callback asked it to stop",
}
# Reasons a hook gives for ending the run: asked for, so not warned about.
_REQUESTED = (EARLY_STOPPING, CALLBACK)


@dataclass
class LBFGSResult:
    """What :func:`minimize_lbfgs` found.

    Attributes
    ----------
    x : ndarray of shape (n_params,)
        The final parameters (float64): those of lowest loss among all the
        points evaluated. That is the last iterate, unless the line search
        failed after trying a point of lower loss that it did not accept.

    loss : float
        The objective at ``x``, always finite.

    n_iter : int
        Number of L-BFGS iterations, at least 1 (see ``loss_curve``).

    loss_curve : list of float
        The objective after each iteration, so ``len(loss_curve) == n_iter``.
        If the starting point already met the stopping criterion, it holds
        the starting loss alone.

    n_evaluations : int
        Number of objective evaluations.

    reason : str
        Why L-BFGS stopped: ``"converged"`` (on its tolerance),
        ``"max_iter"``, ``"max_evaluations"``, ``"line_search"`` (the line
        search could not improve the loss), ``"non_finite"`` (it ended on a
        point where the objective is not finite), or the reason an
        ``on_iteration`` hook gave for ending the run: ``"early_stopping"``
        (see :class:`EarlyStopping`) or ``"callback"`` (a scikit-learn
        callback asked to stop).

    n_nonfinite : int
        Number of trial points where the objective was not finite.
    """

    x: np.ndarray
    loss: float
    n_iter: int
    loss_curve: list = field(default_factory=list)
    n_evaluations: int = 0
    reason: str = CONVERGED
    n_nonfinite: int = 0

    @property
    def converged(self):
        """Whether L-BFGS stopped on its tolerance."""
        return self.reason == CONVERGED

    @property
    def requested(self):
        """Whether an ``on_iteration`` hook ended the run."""
        return self.reason in _REQUESTED

    @property
    def message(self):
        """Why L-BFGS stopped, in words."""
        return _REASONS[self.reason]


def warn_if_not_converged(
    result, owner, *, max_iter, max_iter_name="max_iter", stage=None, warm_start=False
):
    """Issue a ConvergenceWarning for ``result`` unless it converged.

    A run that a hook ended (early stopping, a callback) is not warned about:
    its end was asked for.

    The warning points at the line of user code that called into the
    package, whatever the depth of the estimators in between.

    Parameters
    ----------
    result : LBFGSResult
        The outcome of :func:`minimize_lbfgs`.

    owner : str
        The estimator the user called, named first in the message.

    max_iter : int
        The iteration limit, quoted in the advice.

    max_iter_name : str, default="max_iter"
        The user's parameter that sets ``max_iter``.

    stage : str, default=None
        What the stopped minimisation was doing, for estimators of several
        stages, as in "pre-training layer 1 of 2".

    warm_start : bool, default=False
        Whether the estimator can continue the fit with ``warm_start=True``.
    """
    if result.converged or result.requested:
        return
    during = f" while {stage}" if stage else ""
    if result.reason in (MAX_ITER, MAX_EVALUATIONS):
        advice = f"Increase {max_iter_name} (now {max_iter})"
        if warm_start:
            advice += ", or continue this fit with warm_start=True"
        advice += "."
    else:
        overflow = (
            f" The objective overflowed (was not finite) at {result.n_nonfinite} "
            "trial point(s)."
            if result.n_nonfinite
            else ""
        )
        advice = (
            f"The parameters are the best found.{overflow} Scaling the input, "
            "lowering beta or raising alpha can help."
        )
    warn_user(
        f"{owner}: L-BFGS stopped{during} after {result.n_iter} iteration(s) "
        f"without converging: {result.message}. {advice}",
        ConvergenceWarning,
    )


class _Stop(Exception):
    """Raised in the L-BFGS callback to end the minimisation.

    The driver catches it itself: SciPy honours StopIteration from a
    callback only from version 1.11 on.
    """


def single_threaded_blas():
    """Context manager limiting BLAS to one thread, as training runs it.

    Multi-threaded OpenBLAS rounds differently for different thread counts;
    training, and the features computed between the layers of a stack, use
    one BLAS thread so that models do not depend on them (see
    :func:`minimize_lbfgs` for the speed side).
    """
    return ThreadpoolController().limit(limits=1, user_api="blas")


class _Recorder:
    """Wraps the objective for L-BFGS-B.

    It counts evaluations, keeps the latest one and the best finite one, and
    shields the line search from non-finite values.

    scipy's L-BFGS-B does not backtrack from a trial point where the loss is
    inf or NaN (an overflow, for instance): it stops at once and reports
    convergence, or carries on from the NaN, ending anywhere. So a trial point
    whose loss or gradient is not finite is answered with a finite surrogate:
    the quadratic through the line search's starting point (its loss and
    slope along the step) that rises steeply to the trial point. The line
    search sees a loss above its start, which it cannot accept, and
    interpolates back to a step about twenty times shorter.
    """

    def __init__(self, fun, name):
        self.fun = fun
        self.name = name
        self.n_evaluations = 0
        self.n_nonfinite = 0
        self.x = None
        self.loss = None
        self.grad = None
        self.first_loss = None
        # The iterate the line search starts from: (x, loss, gradient).
        self.anchor = None
        self.best_x = None
        self.best_loss = math.inf
        # Whether L-BFGS-B accepted a point where the objective is not finite.
        self.accepted_nonfinite = False

    def __call__(self, x):
        loss, grad = self.fun(x)
        loss = float(loss)
        self.n_evaluations += 1
        self.x = x.copy()
        self.loss = loss
        self.grad = grad
        finite = math.isfinite(loss) and bool(np.all(np.isfinite(grad)))
        if self.first_loss is None:
            if not finite:
                what = (
                    "the gradient is not finite"
                    if math.isfinite(loss)
                    else f"the loss is {loss!r}"
                )
                raise ValueError(
                    f"{self.name}: {what} at the starting point, so L-BFGS cannot "
                    "start: the objective overflows. Scale X down (for instance "
                    "with sklearn.preprocessing.MinMaxScaler or StandardScaler), "
                    "or pass X as float64 rather than float32."
                )
            self.first_loss = loss
            self.anchor = (self.x, loss, np.asarray(grad, dtype=np.float64))
        if not finite:
            self.n_nonfinite += 1
            return self._surrogate(self.x)
        if loss < self.best_loss:
            self.best_x = self.x
            self.best_loss = loss
        return loss, grad

    def _surrogate(self, x):
        """A finite loss and gradient at ``x`` that make the line search back off."""
        x_start, loss_start, grad_start = self.anchor
        step = x - x_start
        step_norm2 = float(np.dot(step, step))
        slope = float(np.dot(grad_start, step))
        if step_norm2 == 0.0:  # cannot happen: the start is finite
            return loss_start, grad_start
        # q(t) = loss_start + slope t + curvature t^2 along the step, minimal
        # at t = 1/20 of it when slope < 0.
        curvature = 10.0 * (
            abs(slope) or np.linalg.norm(grad_start) * math.sqrt(step_norm2) or 1.0
        )
        loss = loss_start + slope + curvature
        # Strictly above the start even where rounding would absorb the rise.
        loss = max(loss, math.nextafter(loss_start, math.inf))
        grad = grad_start + (2.0 * curvature / step_norm2) * step
        return loss, grad

    def accept(self, x):
        """Record the iterate ``x`` L-BFGS accepted; return its loss and gradient.

        Raises :class:`_Stop`, which ends the minimisation, if the objective
        is not finite there. The surrogate keeps the line search off such points,
        but a line search that gives up (on rounding errors, or at its minimum
        step) hands L-BFGS-B its last trial point all the same.
        """
        loss, grad = self.at(x)
        loss = float(loss)
        if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
            self.accepted_nonfinite = True
            raise _Stop
        self.anchor = (x.copy(), loss, np.asarray(grad, dtype=np.float64))
        return loss, grad

    def at(self, x):
        """Loss and gradient at ``x``, re-using the latest evaluation if it was ``x``.

        L-BFGS-B ends every iteration at the point it evaluated last, so this
        normally costs nothing.
        """
        if self.x is None or not np.array_equal(self.x, x):
            return self.fun(x)
        return self.loss, self.grad


def minimize_lbfgs(
    fun, x0, *, max_iter, tol, verbose=0, name="estimator", on_iteration=None
):
    """Minimise ``fun`` with SciPy's L-BFGS-B and record the loss curve.

    BLAS runs single-threaded for the whole minimisation: the objectives
    split their rows over threads of their own, each calling BLAS on its
    block, and BLAS pools left multi-threaded keep spinning on the cores
    those threads need. L-BFGS's own vector updates are memory-bound and gain
    nothing from threads.

    The result says why the minimisation stopped; it does not warn (see
    :func:`warn_if_not_converged`).

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
        (SciPy's ``gtol``). With ``tol=0`` only ``max_iter`` or the numerical
        limits of float64 stop the optimizer.

    verbose : int, default=0
        If positive, print one line every ``verbose`` iterations (every
        iteration for 1): iteration, loss, gradient norm, elapsed time and
        iterations per second.

    name : str, default="estimator"
        Named in the error raised when the objective is not finite at ``x0``.

    on_iteration : callable or list of callable, default=None
        Hooks called at the end of each iteration, in order, as
        ``hook(x, loss)`` with the accepted iterate (float64, not to be
        modified or kept: copy it) and its loss. A hook returns None to go on,
        or a reason (``"early_stopping"`` or ``"callback"``) to end the run
        after this iteration; the result then has that reason. Every hook is
        called on every iteration, including the last.

    Returns
    -------
    result : LBFGSResult
    """
    recorder = _Recorder(fun, name)
    loss_curve = []
    hooks = (
        []
        if on_iteration is None
        else [on_iteration]
        if callable(on_iteration)
        else list(on_iteration)
    )
    every = int(verbose)
    stop_reason = None
    start = time.perf_counter()

    def callback(xk):
        nonlocal stop_reason
        loss, grad = recorder.accept(xk)
        loss_curve.append(float(loss))
        n_iter = len(loss_curve)
        if every and n_iter % every == 0:
            elapsed = time.perf_counter() - start
            print(
                f"Iteration {n_iter}, loss = {loss:.8g}, "
                f"gradient norm = {np.linalg.norm(grad):.4g}, "
                f"elapsed = {elapsed:.2f}s, "
                f"{n_iter / elapsed if elapsed > 0 else math.inf:.3g} iterations/s"
            )
        for hook in hooks:
            reason = hook(xk, float(loss))
            if reason is not None and stop_reason is None:
                if reason not in _REQUESTED:
                    raise ValueError(
                        f"An on_iteration hook returned {reason!r}; expected None "
                        f"or one of {_REQUESTED}."
                    )
                stop_reason = reason
        if stop_reason is not None:
            raise _Stop

    status = None
    with single_threaded_blas(), suppress(_Stop):  # see docstring
        status = scipy.optimize.minimize(
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
        ).status
    if not loss_curve:
        loss_curve.append(float(recorder.first_loss))
    n_iter = len(loss_curve)
    if recorder.accepted_nonfinite:
        reason = NON_FINITE
    elif stop_reason is not None:
        reason = stop_reason
    elif status == 0:
        reason = CONVERGED
    elif status == 1:
        reason = MAX_ITER if n_iter >= max_iter else MAX_EVALUATIONS
    else:
        reason = LINE_SEARCH
    # Keep the best point seen. After a failed line search SciPy restores the
    # last iterate but reports the loss of the last (rejected) trial point,
    # and the line search may have rejected a point of lower loss.
    x, loss = recorder.best_x, recorder.best_loss
    return LBFGSResult(
        x=np.asarray(x, dtype=np.float64),
        loss=float(loss),
        n_iter=n_iter,
        loss_curve=loss_curve,
        n_evaluations=recorder.n_evaluations,
        reason=reason,
        n_nonfinite=recorder.n_nonfinite,
    )


class EarlyStopping:
    """An ``on_iteration`` hook: score each iterate on held-out data, keep the best.

    The rule is MLPClassifier's: the run ends when the held-out score has not
    improved by at least ``tol`` on the best one for ``n_iter_no_change``
    consecutive iterations (it ends on the ``n_iter_no_change + 1``-th such
    iteration). The best iterate is kept whatever ends the run.

    Parameters
    ----------
    score : callable
        ``score(x) -> float`` of a parameter vector, higher is better.

    n_iter_no_change : int
        Iterations without an improvement of ``tol`` tolerated.

    tol : float
        The least improvement that counts.

    best_score : float, default=-inf
        The score to beat, and ``best_x``, the parameters that reached it: a
        later stage of training goes on from the best of the one before.

    best_x : ndarray, default=None
        The parameters of ``best_score``.

    best_loss : float, default=None
        The training loss of ``best_x``.

    Attributes
    ----------
    scores : list of float
        The held-out score after each iteration.

    best_score : float
        The best of them, or the initial ``best_score`` if none beat it.

    best_x : ndarray or None
        A copy of the iterate of ``best_score``.

    best_loss : float or None
        The training loss of ``best_x``.
    """

    def __init__(
        self,
        score,
        *,
        n_iter_no_change,
        tol,
        best_score=-math.inf,
        best_x=None,
        best_loss=None,
    ):
        self.score = score
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scores = []
        self.best_score = best_score
        self.best_x = best_x
        self.best_loss = best_loss
        self._no_improvement = 0

    def __call__(self, x, loss):
        score = float(self.score(x))
        self.scores.append(score)
        if score < self.best_score + self.tol:
            self._no_improvement += 1
        else:
            self._no_improvement = 0
        if score > self.best_score:
            self.best_score = score
            self.best_x = np.array(x, dtype=np.float64)
            self.best_loss = float(loss)
        if self._no_improvement > self.n_iter_no_change:
            return EARLY_STOPPING
        return None

    def finish(self, result):
        """``result`` with the best parameters and their training loss.

        If the run made no iteration (its start met the stopping criterion),
        its one point is scored as the iterate of iteration 1, so that
        ``scores`` holds one score per entry of the loss curve.
        """
        if not self.scores:
            self(result.x, result.loss)
        return replace(result, x=self.best_x, loss=self.best_loss)
