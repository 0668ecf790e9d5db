"""scikit-learn's callbacks (:mod:`sklearn.callback`, scikit-learn 1.9+).

Every estimator of the package takes callbacks through ``set_callbacks``. A
fit is one task; each L-BFGS iteration is a subtask of it, or, for the
stacks, of the task of its stage (a layer's pre-training, the softmax layer,
the fine-tuning), so that :class:`sklearn.callback.ProgressBar` draws a bar
per stage. The iterations reach the callbacks through the L-BFGS driver's
``on_iteration`` hooks, as LogisticRegression's L-BFGS bridge does.

With an older scikit-learn the package works without callbacks, and
``set_callbacks`` says which version it needs.
"""

import sklearn

from ._optimize import CALLBACK

# The first scikit-learn with sklearn.callback.
_MIN_VERSION = "1.9"


def _callback_module():
    """:mod:`sklearn.callback`, or None if this scikit-learn has none."""
    try:
        import sklearn.callback as module
    except ImportError:
        return None
    return module


class CallbackSupportMixin:
    """``set_callbacks`` for the package's estimators, on any scikit-learn.

    It is scikit-learn's ``CallbackSupportMixin.set_callbacks`` when
    :mod:`sklearn.callback` exists, and an error naming the version needed
    otherwise.
    """

    def set_callbacks(self, *callbacks):
        """Set callbacks for the estimator (scikit-learn 1.9 or later).

        Each fit is one task; each L-BFGS iteration is a subtask of it or, for
        the stacks, of the task of its stage (a layer's pre-training, the
        softmax layer, the fine-tuning).

        Parameters
        ----------
        *callbacks : callback instances
            The callbacks to set, such as
            :class:`sklearn.callback.ProgressBar`. None removes them.

        Returns
        -------
        self : estimator instance
            The estimator instance itself.

        Raises
        ------
        ImportError
            If the installed scikit-learn has no :mod:`sklearn.callback`.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_sae import SparseAutoencoder
        >>> class IterationCounter:
        ...     def setup(self, estimator, context):
        ...         self.n_iterations = 0
        ...     def teardown(self, estimator, context):
        ...         pass
        ...     def on_fit_task_begin(self, estimator, context):
        ...         pass
        ...     def on_fit_task_end(self, estimator, context):
        ...         self.n_iterations += context.task_name == "iteration"
        >>> counter = IterationCounter()
        >>> sae = SparseAutoencoder(8, max_iter=300, random_state=0)
        >>> sae = sae.set_callbacks(counter).fit(load_digits().data / 16)
        >>> counter.n_iterations == sae.n_iter_ + 1  # and the one never run
        True
        """
        module = _callback_module()
        if module is None:
            raise ImportError(
                f"set_callbacks needs scikit-learn {_MIN_VERSION} or later "
                f"(sklearn.callback); the installed version is "
                f"{sklearn.__version__}. {type(self).__name__} works without "
                "callbacks on this version."
            )
        return module.CallbackSupportMixin.set_callbacks(self, *callbacks)


class Tasks:
    """A callback task of a fit, or nothing when the fit has no callbacks.

    Build the fit's task with :meth:`fit`; :meth:`stage` opens a nested task
    and :meth:`iterations` the hook that makes each L-BFGS iteration a
    subtask. Without callbacks every method does nothing, so a fit without
    callbacks runs exactly as before they existed.
    """

    def __init__(self, context, estimator, X, y):
        self.context = context
        self.estimator = estimator
        self.X = X
        self.y = y

    @classmethod
    def fit(cls, estimator, X, y=None, *, max_subtasks):
        """The root task of ``estimator``'s fit on X, begun.

        ``max_subtasks`` is the number of stages, or of iterations plus one
        (the driver's last subtask is begun and never run, as in
        LogisticRegression); a callable returning it is called only when
        there are callbacks.
        """
        context = None
        if getattr(estimator, "_skl_callbacks", None) or hasattr(
            estimator, "_parent_callback_ctx"
        ):
            module = _callback_module()
            if module is not None:
                if callable(max_subtasks):
                    max_subtasks = max_subtasks()
                context = module.CallbackSupportMixin._init_callback_context(
                    estimator, max_subtasks=max_subtasks
                )
                context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        return cls(context, estimator, X, y)

    def stage(self, name, max_iter):
        """A nested task named ``name`` of at most ``max_iter`` iterations, begun."""
        if self.context is None:
            return self
        context = self.context.subcontext(task_name=name, max_subtasks=max_iter + 1)
        context.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y)
        return type(self)(context, self.estimator, self.X, self.y)

    def iterations(self, reconstruct=None):
        """The ``on_iteration`` hooks making each iteration a subtask: [] or one.

        ``reconstruct(x)`` returns the fitted attributes of an estimator that
        stopped at the parameters ``x`` (callbacks get it as
        ``fitted_estimator``); None gives them no estimator.
        """
        if self.context is None:
            return []
        return [_Iterations(self, reconstruct)]

    def end(self, reconstruction_attributes=None):
        """End the task; return whether a callback asked to stop."""
        if self.context is None:
            return False
        return self.context.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            reconstruction_attributes=reconstruction_attributes,
        )


class _Iterations:
    """An ``on_iteration`` hook: each L-BFGS iteration one callback subtask.

    SciPy reports the end of each iteration. So the first iteration's subtask
    begins when the hook is made; each call ends the current one and begins
    the next; :meth:`close` ends the last one begun, which never ran, as an
    empty task (LogisticRegression's bridge does the same).
    """

    def __init__(self, tasks, reconstruct):
        self.tasks = tasks
        self.reconstruct = reconstruct
        self.current = self._begin()

    def _begin(self):
        context = self.tasks.context.subcontext(task_name="iteration")
        context.call_on_fit_task_begin(
            estimator=self.tasks.estimator, X=self.tasks.X, y=self.tasks.y
        )
        return context

    def __call__(self, x, loss):
        attributes = None
        if self.reconstruct is not None:

            def attributes():
                return self.reconstruct(x)

        stop = self.current.call_on_fit_task_end(
            estimator=self.tasks.estimator,
            X=self.tasks.X,
            y=self.tasks.y,
            reconstruction_attributes=attributes,
        )
        self.current = self._begin()
        return CALLBACK if stop else None

    def close(self):
        """End the subtask begun for an iteration that did not run."""
        self.current.call_on_fit_task_end(estimator=self.tasks.estimator)


def close_iterations(hooks):
    """Close the iteration subtasks among ``hooks`` once the driver has returned."""
    for hook in hooks:
        if isinstance(hook, _Iterations):
            hook.close()
