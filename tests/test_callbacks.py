"""scikit-learn's callbacks (sklearn.callback, 1.9+) on every estimator."""

import sys
import warnings

import numpy as np
import pytest
from _models import assert_identical, every_estimator, fit, fitted_attributes
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import (
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
)

callback = pytest.importorskip("sklearn.callback")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Recorder:
    """Records each task's begin and end, with its place in the task tree."""

    def __init__(self, stop_after=None):
        self.events = []
        self.fitted = []
        self.stop_after = stop_after
        self.n_ends = 0

    def setup(self, estimator, context):
        self.events.append(("setup", None, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", None, None))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", _path(context), context.max_subtasks))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", _path(context), context.max_subtasks))
        if context.task_name == "iteration" and fitted_estimator is not None:
            self.fitted.append(fitted_estimator)
        self.n_ends += context.task_name == "iteration"
        return self.stop_after is not None and self.n_ends >= self.stop_after


def _path(context):
    names = []
    while context is not None:
        names.append(context.task_name)
        context = context.parent
    return tuple(reversed(names))


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _count(recorder, kind, path):
    return sum(1 for event in recorder.events if event[:2] == (kind, path))


def test_one_task_per_fit_one_subtask_per_iteration():
    X, _ = _digits()
    recorder = Recorder()
    sae = SparseAutoencoder(16, max_iter=12, random_state=0).set_callbacks(recorder)
    sae.fit(X)
    assert recorder.events[0] == ("setup", None, None)
    assert recorder.events[1] == ("begin", ("fit",), 13)
    assert recorder.events[-2][:2] == ("end", ("fit",))
    assert recorder.events[-1] == ("teardown", None, None)
    # One subtask per iteration and the one begun after the last, as in
    # LogisticRegression; every begin has its end.
    iteration = ("fit", "iteration")
    assert _count(recorder, "begin", iteration) == sae.n_iter_ + 1
    assert _count(recorder, "end", iteration) == sae.n_iter_ + 1
    # Callbacks get the model as it stood after each iteration.
    assert len(recorder.fitted) == sae.n_iter_
    last = recorder.fitted[-1]
    assert last is not sae
    assert last.components_.tobytes() == sae.components_.tobytes()
    first = recorder.fitted[0]
    assert first.transform(X).shape == (300, 16)
    assert first.components_.tobytes() != sae.components_.tobytes()


@pytest.mark.parametrize("fine_tune", [True, False])
def test_stacks_have_a_nested_task_per_stage(fine_tune):
    X, y = _digits()
    recorder = Recorder()
    clf = StackedSparseAutoencoderClassifier(
        (16, 8), max_iter=7, fine_tune=fine_tune, random_state=0
    )
    clf.set_callbacks(recorder).fit(X, y)
    stages = [
        event[1][1]
        for event in recorder.events
        if event[0] == "begin" and len(event[1]) == 2
    ]
    assert stages == [
        "pre-training layer 1 of 2 (64 -> 16 units)",
        "pre-training layer 2 of 2 (16 -> 8 units)",
        "training the softmax layer",
        *(["fine-tuning all layers"] if fine_tune else []),
    ]
    assert recorder.events[1] == ("begin", ("fit",), len(stages))
    n_iters = [sae.n_iter_ for sae in clf.autoencoders_] + [clf.softmax_n_iter_]
    if fine_tune:
        n_iters.append(clf.fine_tune_n_iter_)
    for stage, n_iter in zip(stages, n_iters, strict=True):
        assert _count(recorder, "begin", ("fit", stage)) == 1
        assert _count(recorder, "end", ("fit", stage)) == 1
        path = ("fit", stage, "iteration")
        assert _count(recorder, "begin", path) == n_iter + 1
        assert _count(recorder, "end", path) == n_iter + 1


def test_stack_of_autoencoders_has_a_task_per_layer():
    X, _ = _digits()
    recorder = Recorder()
    stack = StackedSparseAutoencoder((16, 8, 4), max_iter=5, random_state=0)
    stack.set_callbacks(recorder).fit_transform(X)
    assert recorder.events[1] == ("begin", ("fit",), 3)
    stages = {e[1][1] for e in recorder.events if e[0] == "begin" and len(e[1]) == 2}
    assert len(stages) == 3


def test_a_callback_can_stop_the_fit_without_a_warning():
    X, _ = _digits()
    sae = SparseAutoencoder(16, max_iter=50, random_state=0)
    sae.set_callbacks(Recorder(stop_after=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        sae.fit(X)
    assert sae.n_iter_ == 4


def test_callbacks_do_not_change_the_models():
    X, y = _digits()
    for name, plain in every_estimator(12, 10).items():
        if not hasattr(plain, "set_callbacks"):
            continue
        watched = every_estimator(12, 10)[name].set_callbacks(Recorder())
        assert_identical(
            fitted_attributes(fit(plain, X, y)),
            fitted_attributes(fit(watched, X, y)),
            name,
        )


def test_the_fitted_model_does_not_keep_the_tasks():
    X, y = _digits()
    clf = StackedSparseAutoencoderClassifier((8,), max_iter=5, random_state=0)
    clf.set_callbacks(Recorder()).fit(X, y)
    assert [name for name in vars(clf) if name.startswith("_")] == ["_skl_callbacks"]


def test_progress_bar_draws_a_bar_per_stage(capsys):
    pytest.importorskip("rich")
    X, y = _digits()
    clf = StackedSparseAutoencoderClassifier((8,), max_iter=5, random_state=0)
    clf.set_callbacks(callback.ProgressBar()).fit(X, y)
    SparseAutoencoder(8, max_iter=5).set_callbacks(callback.ProgressBar()).fit(X)


def test_scoring_monitor_scores_each_fine_tuning_iteration():
    X, y = _digits()
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = StackedSparseAutoencoderClassifier((8,), max_iter=5, random_state=0)
    clf.set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    tuning = [row for row in rows if row["task_name"] == "iteration"]
    assert len(tuning) == clf.fine_tune_n_iter_
    assert tuning[-1]["accuracy"] == clf.score(X, y)
    (fit_row,) = [row for row in rows if row["task_name"] == "fit"]
    assert fit_row["accuracy"] == clf.score(X, y)


def test_without_sklearn_callback_set_callbacks_names_the_version(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.callback", None)
    X, _ = _digits()
    sae = SparseAutoencoder(8, max_iter=5, random_state=0)
    with pytest.raises(ImportError, match=r"scikit-learn 1\.9 or later"):
        sae.set_callbacks(Recorder())
    # The package works as before.
    assert sae.fit(X).transform(X).shape == (300, 8)
    assert np.isfinite(sae.score(X))


def test_set_callbacks_rejects_what_is_not_a_callback():
    with pytest.raises(TypeError, match="callbacks must be instances"):
        SparseAutoencoder().set_callbacks(object())
