"""The L-BFGS driver shared by the estimators."""

import re
import warnings

import numpy as np
import pytest
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae._optimize import minimize_lbfgs


def _quadratic(scales):
    def fun(x):
        return 0.5 * float(np.sum(scales * x**2)), scales * x

    return fun


def test_converges_on_a_quadratic_without_warning():
    fun = _quadratic(np.array([1.0, 10.0, 100.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = minimize_lbfgs(fun, np.ones(3), max_iter=100, tol=1e-10)
    assert result.converged
    np.testing.assert_allclose(result.x, 0.0, atol=1e-9)
    assert result.loss == pytest.approx(0.0, abs=1e-16)
    assert result.n_iter == len(result.loss_curve) >= 1
    assert result.loss_curve[-1] == result.loss
    assert np.all(np.diff(result.loss_curve) <= 0)
    assert result.n_evaluations >= result.n_iter


def test_warns_when_max_iter_is_reached():
    fun = _quadratic(np.logspace(0, 4, 20))
    with pytest.warns(ConvergenceWarning, match=r"Increase max_iter \(now 3\)"):
        result = minimize_lbfgs(fun, np.ones(20), max_iter=3, tol=0.0, name="Model")
    assert not result.converged
    assert result.n_iter == 3
    assert len(result.loss_curve) == 3


def test_starting_at_the_optimum_still_reports_one_iteration():
    fun = _quadratic(np.ones(4))
    result = minimize_lbfgs(fun, np.zeros(4), max_iter=10, tol=1e-5)
    assert result.converged
    assert result.n_iter == 1
    assert result.loss_curve == [0.0]


def test_line_search_failure_keeps_the_point_and_says_why(monkeypatch):
    """An abnormal stop (scipy's status 2) warns with its reason and a remedy."""

    def abnormal_minimize(fun, x0, **kwargs):
        loss, _ = fun(x0)
        kwargs["callback"](x0)
        return scipy.optimize.OptimizeResult(
            x=x0,
            fun=loss,
            status=2,
            message="ABNORMAL_TERMINATION_IN_LNSRCH",
            nit=1,
        )

    monkeypatch.setattr(scipy.optimize, "minimize", abnormal_minimize)
    x0 = np.array([1.0, -2.0])
    with pytest.warns(ConvergenceWarning, match="ABNORMAL.*line search"):
        result = minimize_lbfgs(_quadratic(np.ones(2)), x0, max_iter=50, tol=1e-8)
    assert not result.converged
    np.testing.assert_array_equal(result.x, x0)
    assert result.loss_curve == [2.5]


def test_verbose_prints_each_iteration(capsys):
    fun = _quadratic(np.logspace(0, 2, 5))
    result = minimize_lbfgs(fun, np.ones(5), max_iter=100, tol=1e-12, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == result.n_iter
    pattern = r"Iteration (\d+), loss = (\S+), gradient norm = (\S+), elapsed = \S+s"
    for i, line in enumerate(lines, start=1):
        match = re.fullmatch(pattern, line)
        assert match is not None, line
        assert int(match.group(1)) == i
        assert float(match.group(2)) == pytest.approx(
            result.loss_curve[i - 1], rel=1e-6
        )


def test_silent_by_default(capsys):
    minimize_lbfgs(_quadratic(np.ones(3)), np.ones(3), max_iter=10, tol=1e-8)
    assert capsys.readouterr().out == ""
