"""The L-BFGS driver: its result, its ConvergenceWarning, and where it points."""

import math
import re
import warnings

import numpy as np
import pytest
import scipy.optimize
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
)
from sklearn_sae._optimize import (
    EarlyStopping,
    minimize_lbfgs,
    warn_if_not_converged,
)


def _quadratic(scales):
    def fun(x):
        return 0.5 * float(np.sum(scales * x**2)), scales * x

    return fun


def _pseudo_huber(x):
    s = np.sqrt(1.0 + x**2)
    return float(np.sum(s)), x / s


def _warning_text(result, **kwargs):
    """The ConvergenceWarning message for ``result``, or None if it is silent."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_not_converged(result, "Model", **kwargs)
    assert all(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert len(caught) <= 1
    return str(caught[0].message) if caught else None


def test_converges_on_a_quadratic():
    fun = _quadratic(np.array([1.0, 10.0, 100.0]))
    result = minimize_lbfgs(fun, np.ones(3), max_iter=100, tol=1e-10)
    assert result.converged
    assert result.reason == "converged"
    assert _warning_text(result, max_iter=100) is None
    np.testing.assert_allclose(result.x, 0.0, atol=1e-9)
    assert result.loss == pytest.approx(0.0, abs=1e-16)
    assert result.n_iter == len(result.loss_curve) >= 1
    assert result.loss_curve[-1] == result.loss
    assert np.all(np.diff(result.loss_curve) <= 0)
    assert result.n_evaluations >= result.n_iter


def test_the_driver_reports_max_iter_and_does_not_warn_itself():
    fun = _quadratic(np.logspace(0, 4, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = minimize_lbfgs(fun, np.ones(20), max_iter=3, tol=0.0, name="Model")
    assert not result.converged
    assert result.reason == "max_iter"
    assert result.n_iter == 3
    assert len(result.loss_curve) == 3
    assert _warning_text(result, max_iter=3) == (
        "Model: L-BFGS stopped after 3 iteration(s) without converging: it "
        "reached the iteration limit. Increase max_iter (now 3)."
    )
    assert _warning_text(
        result,
        max_iter=3,
        max_iter_name="fine_tune_max_iter",
        stage="fine-tuning all layers",
        warm_start=True,
    ) == (
        "Model: L-BFGS stopped while fine-tuning all layers after 3 iteration(s) "
        "without converging: it reached the iteration limit. Increase "
        "fine_tune_max_iter (now 3), or continue this fit with warm_start=True."
    )


def test_starting_at_the_optimum_still_reports_one_iteration():
    fun = _quadratic(np.ones(4))
    result = minimize_lbfgs(fun, np.zeros(4), max_iter=10, tol=1e-5)
    assert result.converged
    assert result.n_iter == 1
    assert result.loss_curve == [0.0]


@pytest.mark.parametrize(
    "scipy_message",
    # SciPy's words for a failed line search before and after its L-BFGS-B
    # rewrite: the warning must not depend on them.
    ["ABNORMAL_TERMINATION_IN_LNSRCH", "ABNORMAL: "],
)
def test_line_search_failure_keeps_the_point_and_says_why(monkeypatch, scipy_message):
    def abnormal_minimize(fun, x0, **kwargs):
        loss, _ = fun(x0)
        kwargs["callback"](x0)
        return scipy.optimize.OptimizeResult(
            x=x0, fun=loss, status=2, message=scipy_message, nit=1
        )

    monkeypatch.setattr(scipy.optimize, "minimize", abnormal_minimize)
    x0 = np.array([1.0, -2.0])
    result = minimize_lbfgs(_quadratic(np.ones(2)), x0, max_iter=50, tol=1e-8)
    assert result.reason == "line_search"
    np.testing.assert_array_equal(result.x, x0)
    assert result.loss_curve == [2.5]
    assert _warning_text(result, max_iter=50) == (
        "Model: L-BFGS stopped after 1 iteration(s) without converging: the line "
        "search could not improve the loss further. The parameters are the best "
        "found. Scaling the input, lowering beta or raising alpha can help."
    )


def test_stopping_never_lets_a_control_flow_exception_out(monkeypatch):
    """SciPy before 1.11 lets any exception raised in the callback through.

    The driver ends a minimisation from its callback when L-BFGS-B accepts a
    point where the objective is not finite; on such a SciPy the driver must
    still return its result rather than raise.
    """

    def old_minimize(fun, x0, callback, **kwargs):
        fun(x0)
        x1 = x0 + 100.0
        fun(x1)
        callback(x1)  # an exception raised here is not caught, as in SciPy 1.10
        raise AssertionError("the driver should have stopped at the callback")

    def fun(x):
        loss, grad = _pseudo_huber(x)
        return (math.inf, grad) if x[0] > 50 else (loss, grad)

    monkeypatch.setattr(scipy.optimize, "minimize", old_minimize)
    x0 = np.zeros(3)
    result = minimize_lbfgs(fun, x0, max_iter=10, tol=1e-8)
    assert result.reason == "non_finite"
    np.testing.assert_array_equal(result.x, x0)
    assert result.loss == _pseudo_huber(x0)[0]


def test_verbose_prints_each_iteration(capsys):
    fun = _quadratic(np.logspace(0, 2, 5))
    result = minimize_lbfgs(fun, np.ones(5), max_iter=100, tol=1e-12, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == result.n_iter
    pattern = (
        r"Iteration (\d+), loss = (\S+), gradient norm = (\S+), elapsed = \S+s, "
        r"\S+ iterations/s"
    )
    for i, line in enumerate(lines, start=1):
        match = re.fullmatch(pattern, line)
        assert match is not None, line
        assert int(match.group(1)) == i
        assert float(match.group(2)) == pytest.approx(
            result.loss_curve[i - 1], rel=1e-6
        )


@pytest.mark.parametrize("every", [2, 3, 7])
def test_verbose_k_prints_every_kth_iteration(capsys, every):
    fun = _quadratic(np.logspace(0, 3, 20))
    result = minimize_lbfgs(fun, np.ones(20), max_iter=100, tol=1e-12, verbose=every)
    lines = capsys.readouterr().out.strip().splitlines()
    printed = [int(re.match(r"Iteration (\d+),", line).group(1)) for line in lines]
    assert result.n_iter > every
    assert printed == list(range(every, result.n_iter + 1, every))


def test_verbose_k_of_an_estimator(capsys):
    X = load_digits().data[:200] / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SparseAutoencoder(8, max_iter=9, verbose=4, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 4", "Iteration 8"]


def test_silent_by_default(capsys):
    minimize_lbfgs(_quadratic(np.ones(3)), np.ones(3), max_iter=10, tol=1e-8)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("gradient", ["nan", "finite"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize(
    "bad_evaluations",
    [{2}, {2, 3, 4}, {5}, {8, 9}, set(range(5, 12))],
    ids=lambda s: f"evaluations-{min(s)}-to-{max(s)}",
)
def test_driver_backs_off_from_non_finite_trial_points(bad_evaluations, bad, gradient):
    """Left to SciPy, these stop early, claiming convergence, or end at a NaN."""
    count = [0]

    def fun(x):
        count[0] += 1
        loss, grad = _pseudo_huber(x)
        if count[0] in bad_evaluations:
            return bad, np.full_like(x, np.nan) if gradient == "nan" else grad
        return loss, grad

    result = minimize_lbfgs(fun, np.linspace(5, 10, 5), max_iter=200, tol=1e-8)
    assert result.converged
    assert result.n_nonfinite == len(bad_evaluations)
    assert result.loss == pytest.approx(5.0, abs=1e-10)
    np.testing.assert_allclose(result.x, 0.0, atol=1e-4)
    assert np.all(np.isfinite(result.loss_curve))


def test_driver_reports_a_line_search_ending_on_a_non_finite_point():
    """Past its second evaluation the objective is never finite again."""
    count = [0]

    def fun(x):
        count[0] += 1
        loss, grad = _pseudo_huber(x)
        return (np.inf, grad) if count[0] > 2 else (loss, grad)

    x0 = np.linspace(5, 10, 5)
    result = minimize_lbfgs(fun, x0, max_iter=50, tol=1e-8, name="Model")
    assert result.reason == "non_finite"
    assert result.n_nonfinite >= 1
    assert re.fullmatch(
        r"Model: L-BFGS stopped after \d+ iteration\(s\) without converging: the "
        r"line search ended on a point where the objective is not finite\. The "
        r"parameters are the best found\. The objective overflowed \(was not "
        r"finite\) at \d+ trial point\(s\)\. Scaling the input, lowering beta or "
        r"raising alpha can help\.",
        _warning_text(result, max_iter=50),
    )
    # The second evaluation, the best finite point, is kept.
    assert math.isfinite(result.loss)
    assert result.loss < _pseudo_huber(x0)[0]
    assert result.loss == _pseudo_huber(result.x)[0]
    assert np.all(np.isfinite(result.loss_curve))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_driver_refuses_a_non_finite_starting_point(bad):
    def fun(x):
        return bad, np.ones_like(x)

    with pytest.raises(
        ValueError, match=rf"Model: the loss is {bad!r} at the starting"
    ):
        minimize_lbfgs(fun, np.ones(3), max_iter=10, tol=1e-8, name="Model")

    def bad_gradient(x):
        return 1.0, np.full_like(x, bad)

    with pytest.raises(ValueError, match=r"Model: the gradient is not finite at the"):
        minimize_lbfgs(bad_gradient, np.ones(3), max_iter=10, tol=1e-8, name="Model")


X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:300] / 16.0
Y_DIGITS = Y_DIGITS[:300]

# Fits stopped by max_iter=2, each called on the line that the warning must
# name, with the stage it must name.
SHORT_FITS = {
    "sae": (lambda: SparseAutoencoder(8, max_iter=2).fit(X_DIGITS), None),
    "k-sparse": (lambda: KSparseAutoencoder(8, k=2, max_iter=2).fit(X_DIGITS), None),
    "stack": (
        lambda: StackedSparseAutoencoder((8, 4), max_iter=2).fit(X_DIGITS),
        "pre-training layer 1 of 2 (64 -> 8 units)",
    ),
    "classifier": (
        lambda: StackedSparseAutoencoderClassifier((8,), max_iter=2).fit(
            X_DIGITS, Y_DIGITS
        ),
        "fine-tuning all layers",
    ),
    "pipeline": (
        lambda: make_pipeline(
            StackedSparseAutoencoder(8, max_iter=2), LogisticRegression()
        ).fit(X_DIGITS, Y_DIGITS),
        "pre-training layer 1 of 1",
    ),
}


@pytest.mark.parametrize("name", list(SHORT_FITS))
def test_convergence_warnings_point_at_the_callers_line(name):
    fit, stage = SHORT_FITS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert convergence
    # The line that calls fit is the lambda's, in SHORT_FITS.
    for warning in convergence:
        assert warning.filename == __file__, warning.filename
        assert "Increase max_iter (now 2)" in str(warning.message)
    if stage is not None:
        assert any(stage in str(w.message) for w in convergence)


def test_the_input_range_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        StackedSparseAutoencoder(4, max_iter=2).fit(X_DIGITS * 16)
    (warning,) = [w for w in caught if w.category is UserWarning]
    assert "Scale X into [0, 1]" in str(warning.message)
    assert warning.filename == __file__


def test_on_iteration_hooks_see_every_iterate_and_can_stop_the_run():
    fun = _quadratic(np.logspace(0, 3, 20))
    seen, other = [], []

    def hook(x, loss):
        seen.append((x.copy(), loss))
        return "early_stopping" if len(seen) == 3 else None

    result = minimize_lbfgs(
        fun,
        np.ones(20),
        max_iter=100,
        tol=1e-12,
        on_iteration=[hook, lambda x, loss: other.append(loss)],
    )
    assert result.reason == "early_stopping"
    assert result.requested
    assert not result.converged
    assert result.n_iter == 3
    # Every hook saw every iteration, the last included.
    assert [loss for _, loss in seen] == result.loss_curve == other
    for x, loss in seen:
        assert fun(x)[0] == loss
    assert _warning_text(result, max_iter=100) is None
    assert "held-out score stopped improving" in result.message


def test_a_callback_stop_is_not_warned_about():
    result = minimize_lbfgs(
        _quadratic(np.logspace(0, 3, 20)),
        np.ones(20),
        max_iter=100,
        tol=1e-12,
        on_iteration=lambda x, loss: "callback",
    )
    assert result.reason == "callback"
    assert result.n_iter == 1
    assert _warning_text(result, max_iter=100) is None


def test_hooks_do_not_change_the_minimisation():
    fun = _quadratic(np.logspace(0, 3, 20))
    plain = minimize_lbfgs(fun, np.ones(20), max_iter=100, tol=1e-10)
    hooked = minimize_lbfgs(
        fun, np.ones(20), max_iter=100, tol=1e-10, on_iteration=lambda x, loss: None
    )
    assert hooked.x.tobytes() == plain.x.tobytes()
    assert hooked.loss_curve == plain.loss_curve
    assert hooked.reason == plain.reason


def test_a_hook_returning_an_unknown_reason_is_an_error():
    with pytest.raises(ValueError, match="on_iteration hook returned 'stop'"):
        minimize_lbfgs(
            _quadratic(np.ones(3)),
            np.ones(3),
            max_iter=10,
            tol=1e-12,
            on_iteration=lambda x, loss: "stop",
        )


def test_early_stopping_follows_mlp_rule_and_keeps_the_best():
    scores = iter([0.1, 0.5, 0.4, 0.5, 0.3, 0.2, 0.9])
    monitor = EarlyStopping(lambda x: next(scores), n_iter_no_change=2, tol=1e-3)
    reasons = [monitor(np.full(2, i, dtype=float), float(i)) for i in range(5)]
    # 0.4, 0.5 (not better than 0.5 + tol) and 0.3: the third without
    # improvement ends the run.
    assert reasons == [None, None, None, None, "early_stopping"]
    assert monitor.scores == [0.1, 0.5, 0.4, 0.5, 0.3]
    assert monitor.best_score == 0.5
    assert monitor.best_x.tolist() == [1.0, 1.0]
    assert monitor.best_loss == 1.0


def test_early_stopping_carries_over_a_best_to_beat():
    start = np.zeros(2)
    monitor = EarlyStopping(
        lambda x: 0.5,
        n_iter_no_change=1,
        tol=0.0,
        best_score=0.7,
        best_x=start,
        best_loss=3.0,
    )
    result = minimize_lbfgs(
        _quadratic(np.ones(2)), np.ones(2), max_iter=50, tol=1e-12, on_iteration=monitor
    )
    assert result.reason == "early_stopping"
    kept = monitor.finish(result)
    assert kept.x is start
    assert kept.loss == 3.0
    assert kept.n_iter == result.n_iter == 2
