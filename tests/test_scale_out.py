"""Scaling out and up: a dask cluster for searches, memmaps for big data.

- A hyperparameter search runs on a dask.distributed cluster through joblib's
  ``dask`` backend and gives exactly the scores of the sequential search (the
  test uses an in-process LocalCluster; docs/scaling.rst shows a real one).
- Training data larger than memory: ``fit`` on a read-only ``numpy.memmap``
  reads it in blocks of rows and never loads it whole; the model is the one
  fitted on the in-memory array.
"""

import re
import tracemalloc

import joblib
import numpy as np
import pytest
from _data import digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from sklearn_sae import SparseAutoencoder

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_FITTED = ("components_", "decoder_components_", "intercept_hidden_")


def _search():
    pipeline = Pipeline(
        [
            ("sae", SparseAutoencoder(n_components=32, max_iter=10, random_state=0)),
            # saga's epochs run without BLAS (see test_determinism.py).
            ("clf", LogisticRegression(solver="saga", max_iter=30, random_state=0)),
        ]
    )
    grid = {"sae__rho": [0.05, 0.2], "sae__beta": [0.5, 3.0]}
    return GridSearchCV(pipeline, grid, cv=KFold(3, shuffle=True, random_state=0))


def test_grid_search_on_a_dask_cluster_matches_sequential_search():
    pytest.importorskip("dask", reason="dask is not installed (the 'dask' extra)")
    distributed = pytest.importorskip(
        "dask.distributed",
        reason="dask.distributed is not installed (the 'dask' extra)",
    )
    X, y = digits()

    sequential = _search().fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = _search().fit(X, y)
        workers = set(client.scheduler_info()["workers"])

    # Every fit of the search ran as a task on the cluster: 4 candidates
    # times 3 folds (joblib may batch several fits into one task, and names
    # the task after the number of calls it holds, "mixed_" when their
    # callables are distinct objects).
    assert len(workers) == 2
    calls = [
        re.match(r"(?:mixed_)?batch_of__fit_and_score_(\d+)_calls-", task["key"])
        for task in tasks.data
    ]
    assert all(calls), [task["key"] for task in tasks.data]
    assert sum(int(match.group(1)) for match in calls) == 4 * 3
    keys = ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]
    for key in keys:
        assert on_dask.cv_results_[key].tolist() == sequential.cv_results_[key].tolist()
    assert on_dask.best_params_ == sequential.best_params_
    for name in _FITTED:
        assert np.array_equal(
            getattr(on_dask.best_estimator_["sae"], name),
            getattr(sequential.best_estimator_["sae"], name),
        )


def test_fit_streams_a_memmap_larger_than_its_memory(tmp_path):
    # A read-only, C-ordered float32 file of 64000 x 256, 65.5 MB. The memory
    # fit allocates is the hidden activations (64000 x 16 float32, 4.1 MB), a
    # block of rows per thread (about 2 MB each) and L-BFGS's history (about
    # 2.7 MB for the 8464 parameters): about 11.5 MB, 0.18 of the file. The
    # fixed part, near 8 MB, is why the file must be large for the fraction
    # to be small: at 20000 x 256 (20 MB) it is 0.45. Two threads at most, so
    # that the figure does not grow with the cores of the machine.
    n_samples, n_features = 64000, 256
    path = tmp_path / "X.float32"
    rng = np.random.RandomState(0)
    X_file = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
    for start in range(0, n_samples, 8000):
        X_file[start : start + 8000] = rng.random_sample((8000, n_features))
    X_file.flush()
    del X_file
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_samples, n_features))
    file_size = path.stat().st_size
    assert file_size == n_samples * n_features * 4

    with threadpool_limits(limits=2, user_api="blas"):
        tracemalloc.start()
        try:
            model = SparseAutoencoder(n_components=16, max_iter=3, random_state=0)
            model.fit(X)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # tracemalloc counts what Python and NumPy allocate, not the pages of
        # the mapped file: a copy of X would count in full.
        assert peak < 0.25 * file_size, f"peak {peak / file_size:.3f} of the file"

        in_memory = SparseAutoencoder(n_components=16, max_iter=3, random_state=0)
        in_memory.fit(np.array(X))
    for name in (*_FITTED, "intercept_visible_"):
        assert getattr(model, name).dtype == np.float32
        assert getattr(model, name).tobytes() == getattr(in_memory, name).tobytes()
    assert model.loss_curve_ == in_memory.loss_curve_
    assert model.n_iter_ == in_memory.n_iter_ >= 2
