"""Fitting on a dask array chunked by rows, on a dask.distributed cluster.

The tests run on an in-process LocalCluster of two single-threaded workers.
What they pin down:

- ``import sklearn_sae`` does not import dask;
- the distributed objective is the in-memory objective bit for bit when the
  chunks have the in-memory row bounds, and its gradient is right;
- a fit on one chunk is the in-memory fit bit for bit; on other chunks it
  agrees to float rounding; it is the same whatever the number of workers
  and threads, and when a worker is lost in the middle of it;
- transform, inverse_transform and score_samples are lazy and agree with
  the in-memory results, score is the mean of score_samples; bad chunkings,
  NaN and dtypes behave as for in-memory data, and what can be checked
  without reading the values is checked when the method is called;
- the stacked classifier's objective (softmax stage and fine-tuning) is the
  in-memory one bit for bit on the same row bounds, its fit on one chunk is
  the in-memory fit, and its predictions on a dask array are lazy.
"""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from _models import assert_identical, fitted_attributes
from sklearn.datasets import load_digits

from sklearn_sae import KSparseAutoencoder, SparseAutoencoder, StackedSparseAutoencoder
from sklearn_sae._objective import ParameterLayout, SparseAutoencoderObjective
from sklearn_sae.utils import check_gradient

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_REASON = "dask.distributed is not installed (the 'dask' extra)"

# The options of the objective, as estimators and as objective settings.
_OPTIONS = {
    "kl": {"beta": 3.0, "alpha": 1e-3},
    "l1": {"beta": 0.5, "alpha": 1e-3, "sparsity": "l1"},
    "linear": {"beta": 3.0, "decoder": "linear"},
    "tied": {"beta": 3.0, "alpha": 1e-3, "tied_weights": True},
    "k-sparse": {"k": 3, "decoder": "linear", "tied_weights": True, "alpha": 1e-4},
}


def _estimators():
    common = {"n_components": 16, "max_iter": 40, "random_state": 0}
    return {
        "sae": SparseAutoencoder(**common),
        "sae-linear": SparseAutoencoder(decoder="linear", **common),
        "sae-l1": SparseAutoencoder(sparsity="l1", **common),
        "sae-tied": SparseAutoencoder(tied_weights=True, **common),
        "k-sparse": KSparseAutoencoder(k=4, **common),
        "stacked": StackedSparseAutoencoder((16, 8), max_iter=10, random_state=0),
    }


@pytest.fixture(scope="module")
def distributed():
    pytest.importorskip("dask.array", reason=_REASON)
    return pytest.importorskip("dask.distributed", reason=_REASON)


@pytest.fixture(scope="module")
def client(distributed):
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X / 16.0


def _dask(X, rows):
    """X as a dask array chunked by rows: ``rows`` per chunk, or a tuple of them."""
    import dask.array as da

    return da.from_array(X, chunks=(rows, -1))


def _bounds(n_samples, n_chunks):
    """Rows per chunk at the in-memory objective's row bounds."""
    bounds = [n_samples * i // n_chunks for i in range(n_chunks + 1)]
    return tuple(int(b) for b in np.diff(bounds))


def _fitted(estimator, X):
    return fitted_attributes(estimator.fit(X))


def _run_python(code):
    """Run ``code`` in a new interpreter that imports this checkout."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )


def test_importing_the_package_does_not_import_dask():
    code = (
        "import sys; import numpy as np; import sklearn_sae\n"
        "sklearn_sae.SparseAutoencoder(4, max_iter=2).fit(np.random.rand(20, 5))\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    out = _run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("option", list(_OPTIONS))
def test_objective_is_the_in_memory_objective_bit_for_bit(client, option, dtype):
    from sklearn_sae._dask_rows import DaskAutoencoderObjective

    X = np.random.RandomState(0).rand(600, 20).astype(dtype)
    settings = _OPTIONS[option]
    in_memory = SparseAutoencoderObjective(X, 7, n_chunks=3, n_threads=1, **settings)
    on_dask = DaskAutoencoderObjective(
        client.persist(_dask(X, _bounds(600, 3))), 7, **settings
    )
    theta = in_memory.layout.initialize(np.random.RandomState(1))
    for _ in range(2):  # and again, from the same objects
        loss, grad = in_memory(theta)
        dask_loss, dask_grad = on_dask(theta)
        assert dask_loss == loss
        assert dask_grad.dtype == np.float64
        assert dask_grad.tobytes() == grad.tobytes()
    # Per evaluation, the parameters to each worker holding chunks and the
    # sparsity term's derivative to each chunk; per-unit sums, squared errors
    # and gradient shares back: the formula of docs/scaling.rst.
    P, s = in_memory.layout.size, np.dtype(dtype).itemsize
    n_workers = len({holders[0] for holders in client.who_has(on_dask.X).values()})
    delta = 0 if option == "k-sparse" else 3 * 7 * s
    assert on_dask.n_bytes_sent == 2 * (n_workers * P * s + delta)
    assert on_dask.n_bytes_received == 2 * 3 * (P * s + 8 * 7 + 8)


def test_each_chunks_objective_is_built_once_and_freed_after_the_fit(
    client, digits, monkeypatch
):

    built = []
    init = SparseAutoencoderObjective.__init__

    def counting(self, X, *args, **kwargs):
        if X.shape[0]:  # not the objective on no rows that checks the options
            built.append(X.shape[0])
        init(self, X, *args, **kwargs)

    # The module's cluster runs in this process, and its tasks refer to the
    # class by name: they see the patch.
    monkeypatch.setattr(SparseAutoencoderObjective, "__init__", counting)
    estimator = SparseAutoencoder(n_components=8, max_iter=10, random_state=0)
    estimator.fit(_dask(digits, (500, 700, 597)))
    assert estimator.n_iter_ > 1
    assert sorted(built) == [500, 597, 700]

    def caches(dask_worker):
        return [key for key in dask_worker.data if "ChunkCache" in str(key)]

    for _ in range(100):  # the workers forget released results soon after
        if not any(client.run(caches).values()):
            break
        time.sleep(0.1)
    assert not any(client.run(caches).values())


def test_a_chunk_whose_cache_was_lost_gives_the_same_share(digits):
    # A cache moved, spilled or recomputed arrives empty: round two computes
    # the chunk's activations again, the same.
    import pickle

    pytest.importorskip("dask.array", reason=_REASON)

    from sklearn_sae._dask_rows import ChunkCache, _backward_task, _encode_task

    X = digits[:300].astype(np.float32)
    spec = {"n_components": 6, "beta": 3.0, "alpha": 1e-3}
    layout = ParameterLayout(64, 6)
    params = layout.initialize(np.random.RandomState(0)).astype(np.float32)
    delta = np.linspace(-1, 1, 6).astype(np.float32)
    kept = ChunkCache()
    _encode_task(X, None, kept, params, spec, 1)
    squared_error, share = _backward_task(X, None, kept, params, delta, spec, 1)
    lost = pickle.loads(pickle.dumps(kept))
    assert lost.objective is None
    again = _backward_task(X, None, lost, params, delta, spec, 1)
    assert again[0] == squared_error
    assert again[1].tobytes() == share.tobytes()
    # The activations of another evaluation are not taken for this one's.
    other = params * 0.5
    fresh = ChunkCache()
    _encode_task(X, None, fresh, other, spec, 2)
    expected = _backward_task(X, None, fresh, other, delta, spec, 2)
    stale = _backward_task(X, None, kept, other, delta, spec, 2)
    assert stale[1].tobytes() == expected[1].tobytes() != share.tobytes()


def test_gradient_of_the_distributed_objective(client):
    from sklearn_sae._dask_rows import DaskAutoencoderObjective

    X = np.random.RandomState(0).rand(40, 4)
    objective = DaskAutoencoderObjective(
        client.persist(_dask(X, (15, 25))), 2, beta=3.0, alpha=1e-3
    )
    theta = ParameterLayout(4, 2).initialize(np.random.RandomState(0))
    assert check_gradient(objective, theta) < 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(_estimators()))
def test_fit_on_one_chunk_is_the_in_memory_fit(client, digits, name, dtype):
    # The digits are one chunk for the in-memory objective too.
    X = digits.astype(dtype)
    estimator = _estimators()[name]
    assert_identical(_fitted(estimator, _dask(X, -1)), _fitted(estimator, X))


@pytest.mark.parametrize("name", ["sae", "sae-l1", "k-sparse", "stacked"])
def test_fit_on_other_chunks_agrees_to_rounding(client, digits, name):
    # Float64, 40 iterations (10 per layer for the stack): the weights of
    # about 1 agree to about 1e-11 and the losses to a few 1e-12 (measured);
    # a lost or doubled chunk would change them in the first digits.
    estimator = _estimators()[name]
    on_dask = _fitted(estimator, _dask(digits, (500, 700, 597)))
    in_memory = _fitted(estimator, digits)
    if name == "stacked":
        on_dask, in_memory = (
            {f"{i}": fitted_attributes(sae) for i, sae in enumerate(f["autoencoders_"])}
            for f in (on_dask, in_memory)
        )
        pairs = [(on_dask[i], in_memory[i]) for i in on_dask]
    else:
        pairs = [(on_dask, in_memory)]
    for a, b in pairs:
        for attribute in ("components_", "intercept_hidden_", "intercept_visible_"):
            np.testing.assert_allclose(a[attribute], b[attribute], rtol=0, atol=1e-9)
        assert a["n_iter_"] == b["n_iter_"]
        assert a["loss_"] == pytest.approx(b["loss_"], rel=1e-11)


def test_fit_is_the_same_whatever_the_workers_and_threads(client, distributed, digits):
    X = _dask(digits, (400, 400, 400, 597))
    estimator = SparseAutoencoder(
        n_components=16, corruption=0.2, max_iter=20, random_state=0
    )
    on_two_workers = _fitted(estimator, X)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=3, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as other,
        other.as_current(),
    ):
        on_one_worker = _fitted(estimator, X)
    assert_identical(on_one_worker, on_two_workers)
    # The masking noise was used: it is fixed per chunk, drawn from random_state.
    plain = _fitted(SparseAutoencoder(n_components=16, max_iter=20, random_state=0), X)
    assert not np.array_equal(plain["components_"], on_two_workers["components_"])


def test_a_worker_lost_in_the_middle_of_a_fit(distributed, digits, monkeypatch):
    from sklearn_sae import _dask_rows

    X = _dask(digits, (450, 450, 450, 447))
    estimator = SparseAutoencoder(n_components=16, max_iter=15, random_state=0)
    cluster_options = {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": False,
        "dashboard_address": None,
    }
    with (
        distributed.LocalCluster(**cluster_options) as cluster,
        distributed.Client(cluster),
    ):
        intact = _fitted(estimator, X)

    backward = _dask_rows.DaskAutoencoderObjective._backward
    evaluations = []

    with (
        distributed.LocalCluster(**cluster_options) as cluster,
        distributed.Client(cluster) as client,
    ):

        def backward_losing_a_worker(self, params, sparsity_delta):
            # Between the two rounds of the third evaluation: the activations
            # kept on the lost worker, its chunks and maybe the parameters
            # are gone and must be recomputed.
            evaluations.append(None)
            if len(evaluations) == 3:
                worker = next(iter(cluster.workers.values()))
                cluster.sync(worker.close)
            return backward(self, params, sparsity_delta)

        monkeypatch.setattr(
            _dask_rows.DaskAutoencoderObjective, "_backward", backward_losing_a_worker
        )
        faulty = _fitted(estimator, X)
        n_workers = len(client.scheduler_info()["workers"])
    assert len(evaluations) > 3
    assert n_workers == 1
    assert_identical(faulty, intact)


def test_chunks_along_the_columns_are_refused(client, digits):
    X = _dask(digits, 600).rechunk((600, 32))
    with pytest.raises(ValueError, match=r"chunked by rows.*rechunk"):
        SparseAutoencoder(n_components=4).fit(X)
    fitted = SparseAutoencoder(n_components=4, max_iter=2).fit(digits)
    with pytest.raises(ValueError, match=r"2 chunks along the columns"):
        fitted.transform(X)


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_and_infinity_give_the_in_memory_error_before_training(
    client, digits, monkeypatch, value, dtype
):
    from sklearn_sae import _sparse_autoencoder

    X = digits.astype(dtype)
    X[1500, 3] = value
    with pytest.raises(ValueError, match="Input X contains") as in_memory:
        SparseAutoencoder(n_components=4).fit(X)

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(_sparse_autoencoder, "minimize_lbfgs", never)
    with pytest.raises(ValueError, match="Input X contains") as on_dask:
        SparseAutoencoder(n_components=4).fit(_dask(X, 500))
    assert str(on_dask.value) == str(in_memory.value)


def test_other_dtypes_are_converted_to_float64(client, digits):
    X = (digits * 16).astype(np.int64)
    estimator = SparseAutoencoder(n_components=8, max_iter=10, random_state=0)
    with pytest.warns(UserWarning, match="Scale X into"):  # values up to 16
        on_dask = _fitted(estimator, _dask(X, -1))
    with pytest.warns(UserWarning, match="Scale X into"):
        in_memory = _fitted(estimator, X)
    assert on_dask["components_"].dtype == np.float64
    assert_identical(on_dask, in_memory)


def test_fit_without_a_client_says_how_to_start_one(distributed):
    code = (
        "import dask.array as da, numpy as np\n"
        "from sklearn_sae import SparseAutoencoder\n"
        "X = da.from_array(np.random.rand(20, 5), chunks=(10, 5))\n"
        "try:\n"
        "    SparseAutoencoder(4).fit(X)\n"
        "except ValueError as e:\n"
        "    print(e)\n"
    )
    out = _run_python(code)
    assert "no Client is connected" in out.stdout, out.stderr


def _fitted_in_memory(name, X):
    """A model of ``_estimators()`` fitted on X in memory, or the deep autoencoder."""
    if name == "deep":
        estimator = StackedSparseAutoencoder(
            (16, 8), max_iter=10, fine_tune=True, random_state=0
        )
    else:
        estimator = _estimators()[name]
    return estimator.fit(X)


_INFERENCE = ["sae", "sae-linear", "k-sparse", "stacked", "deep"]


@pytest.mark.parametrize("name", _INFERENCE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_transform_inverse_transform_and_score_samples(client, digits, name, dtype):
    import dask.array as da

    X = digits.astype(dtype)
    estimator = _fitted_in_memory(name, X)
    X_dask = _dask(X, (500, 700, 597))
    H = estimator.transform(X_dask)
    X_hat = estimator.inverse_transform(H)
    scores = estimator.score_samples(X_dask)
    # Lazy, chunked like X's rows, in X's dtype.
    for result in (H, X_hat, scores):
        assert isinstance(result, da.Array)
        assert result.chunks[0] == X_dask.chunks[0]
        assert result.dtype == dtype
    assert scores.ndim == 1
    H_in_memory = estimator.transform(X)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(H.compute(), H_in_memory, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(
        X_hat.compute(), estimator.inverse_transform(H_in_memory), rtol=rtol, atol=rtol
    )
    computed = scores.compute()
    assert computed.dtype == dtype
    np.testing.assert_allclose(
        computed, estimator.score_samples(X), rtol=rtol, atol=rtol
    )
    # score is the mean of score_samples; the chunks' sums differ from one
    # sum over all the rows by float64 rounding only.
    mean = float(np.mean(computed, dtype=np.float64))
    assert estimator.score(X_dask) == pytest.approx(mean, rel=1e-13)
    assert estimator.score(X_dask) == pytest.approx(estimator.score(X), rel=rtol)


@pytest.mark.parametrize("name", ["sae", "stacked"])
def test_score_on_one_chunk_is_the_mean_of_score_samples(client, digits, name):
    X = digits.astype(np.float32)
    estimator = _fitted_in_memory(name, X)
    X_dask = _dask(X, -1)
    mean = float(np.mean(estimator.score_samples(X_dask).compute(), dtype=np.float64))
    assert estimator.score(X_dask) == mean


@pytest.mark.parametrize("name", ["sae", "k-sparse", "stacked", "deep"])
def test_score_samples_checks_what_it_can_when_called(client, digits, name):
    import dask.array as da
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    estimator = _fitted_in_memory(name, digits)
    method = estimator.score_samples
    # Width, dtype, shape and chunks: when called, as in memory.
    with pytest.raises(ValueError, match=r"X has 60 features, but .* expecting 64"):
        method(_dask(digits[:, :60], 500))
    with pytest.raises(ValueError, match="needs numbers, but the dask array X has"):
        method(_dask(digits.astype(str), 500))
    with pytest.raises(ValueError, match="Expected a 2D dask array"):
        method(da.from_array(digits.ravel(), chunks=1000))
    with pytest.raises(ValueError, match=r"2 chunks along the columns"):
        method(_dask(digits, 500).rechunk((500, 32)))
    with pytest.raises(NotFittedError):
        clone(estimator).score_samples(_dask(digits, 500))
    # Other numbers are converted to float64, as in memory.
    as_ints = (digits * 16).astype(np.int64)
    scores = method(_dask(as_ints, 500))
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores.compute(), method(as_ints), rtol=1e-12)
    # The values: when a chunk is computed, with the in-memory error.
    X = digits.copy()
    X[1000, 5] = np.nan
    scores = method(_dask(X, 500))
    with pytest.raises(ValueError, match="Input X contains NaN") as on_dask:
        scores.compute()
    with pytest.raises(ValueError, match="Input X contains NaN") as in_memory:
        method(X)
    assert str(on_dask.value) == str(in_memory.value)


def test_score_samples_does_not_change_with_a_later_fit(client, digits):
    estimator = SparseAutoencoder(n_components=8, max_iter=5, random_state=0)
    scores = estimator.fit(digits).score_samples(_dask(digits, 600))
    expected = estimator.score_samples(digits)
    estimator.set_params(random_state=1).fit(digits)
    np.testing.assert_allclose(scores.compute(), expected, rtol=1e-12)


def test_the_deep_autoencoder_is_not_fine_tuned_on_a_dask_array(client, digits):
    stack = StackedSparseAutoencoder((16, 8), max_iter=5, fine_tune=True)
    with pytest.raises(ValueError, match=r"fine_tune=True\) fine-tunes .* in memory"):
        stack.fit(_dask(digits, 600))
    assert not hasattr(stack, "autoencoders_")  # refused before any training


def test_transform_checks_the_values_when_computed(client, digits):
    estimator = SparseAutoencoder(n_components=4, max_iter=2).fit(digits)
    X = digits.copy()
    X[10, 0] = np.nan
    H = estimator.transform(_dask(X, 500))  # lazy: nothing read yet
    with pytest.raises(ValueError, match="Input X contains NaN"):
        H.compute()
    with pytest.raises(ValueError, match=r"X has 64 features, but .* expecting 4"):
        estimator.inverse_transform(_dask(digits, 500))


def test_stack_fit_transform_is_lazy(client, digits):
    import dask.array as da

    stack = StackedSparseAutoencoder((16, 8), max_iter=5, random_state=0)
    H = stack.fit_transform(_dask(digits, 600))
    assert isinstance(H, da.Array)
    np.testing.assert_allclose(H.compute(), stack.transform(digits), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_classifier_objective_is_the_in_memory_objective_bit_for_bit(client, dtype):
    from sklearn_sae._dask_rows import classifier_objective
    from sklearn_sae._finetune import ClassifierObjective

    rng = np.random.RandomState(0)
    X = rng.rand(600, 20).astype(dtype)
    y = rng.randint(3, size=600)
    sizes, alpha = (20, 6, 3), [0.0, 1e-3]
    in_memory = ClassifierObjective(X, y, sizes, alpha=alpha, n_chunks=3, n_threads=1)
    X_dask = _dask(X, _bounds(600, 3))
    on_dask = classifier_objective(StackedSparseAutoencoder(), X_dask, y, sizes, alpha)
    theta = rng.uniform(-0.5, 0.5, in_memory.layout.size)
    for _ in range(2):
        loss, grad = in_memory(theta)
        dask_loss, dask_grad = on_dask(theta)
        assert dask_loss == loss
        assert dask_grad.tobytes() == grad.tobytes()


def test_gradient_of_the_distributed_classifier_objective(client):
    from sklearn_sae._dask_rows import classifier_objective

    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 4), rng.randint(3, size=40)
    objective = classifier_objective(
        StackedSparseAutoencoder(), _dask(X, (15, 25)), y, (4, 2, 3), [0.0, 1e-3]
    )
    theta = rng.uniform(-0.5, 0.5, objective.layout.size)
    assert check_gradient(objective, theta) < 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_classifier_fit_on_one_chunk_is_the_in_memory_fit(client, digits, dtype):
    import dask.array as da

    from sklearn_sae import StackedSparseAutoencoderClassifier

    X, y = digits.astype(dtype), load_digits().target
    classifier = StackedSparseAutoencoderClassifier((16, 8), max_iter=5, random_state=0)
    in_memory = fitted_attributes(classifier.fit(X, y))
    # Labels in memory or as a dask array; the fine-tuning runs on the cluster.
    for labels in (y, da.from_array(y, chunks=600)):
        on_dask = fitted_attributes(classifier.fit(_dask(X, -1), labels))
        assert_identical(on_dask, in_memory)
    assert classifier.fine_tune_n_iter_ > 0


def test_classifier_fit_on_other_chunks_agrees_to_rounding(client, digits):
    from sklearn_sae import StackedSparseAutoencoderClassifier

    y = load_digits().target
    classifier = StackedSparseAutoencoderClassifier(
        (16, 8), max_iter=10, random_state=0
    )
    on_dask = fitted_attributes(classifier.fit(_dask(digits, (500, 700, 597)), y))
    in_memory = fitted_attributes(classifier.fit(digits, y))
    for a, b in zip(on_dask["coefs_"], in_memory["coefs_"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    assert on_dask["loss_"] == pytest.approx(in_memory["loss_"], rel=1e-12)


@pytest.mark.parametrize("n_classes", [2, 10])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_classifier_predicts_lazily(client, digits, n_classes, dtype):
    import dask.array as da

    from sklearn_sae import StackedSparseAutoencoderClassifier

    # String classes; with two, decision_function is 1-d.
    y = np.array(list("abcdefghij"))[load_digits().target % n_classes]
    X = digits.astype(dtype)
    classifier = StackedSparseAutoencoderClassifier((16, 8), max_iter=5, random_state=0)
    classifier.fit(X, y)
    X_dask = _dask(X, (500, 700, 597))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for method in (
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
    ):
        on_dask = getattr(classifier, method)(X_dask)
        in_memory = getattr(classifier, method)(X)
        assert isinstance(on_dask, da.Array), method
        assert on_dask.chunks[0] == X_dask.chunks[0]
        assert on_dask.shape == in_memory.shape
        computed = on_dask.compute()
        assert computed.dtype == in_memory.dtype, method
        if method == "predict":
            assert np.array_equal(computed, in_memory)
        else:
            np.testing.assert_allclose(computed, in_memory, rtol=rtol, atol=rtol)
    assert classifier.score(X_dask, y) == classifier.score(X, y)
    # Checked when called: the width; when computed: the values.
    with pytest.raises(ValueError, match=r"X has 60 features, but .* expecting 64"):
        classifier.predict(_dask(X[:, :60], 600))
    X = X.copy()
    X[3, 3] = np.inf
    predictions = classifier.predict(_dask(X, 600))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        predictions.compute()


def test_chunks_other_than_numpy_arrays_are_refused(client, digits):
    import scipy.sparse as sp

    X = _dask(digits, 600).map_blocks(sp.csr_matrix)
    with pytest.raises(TypeError, match=r"chunks are NumPy arrays.*csr_matrix"):
        SparseAutoencoder(n_components=4).fit(X)


def test_warm_start_continues_on_a_dask_array(client, digits):
    def twice(X):
        estimator = SparseAutoencoder(
            n_components=8, max_iter=5, warm_start=True, random_state=0
        )
        return fitted_attributes(estimator.fit(X).fit(X))

    assert_identical(twice(_dask(digits, -1)), twice(digits))


def test_a_worker_process_killed_in_the_middle_of_a_fit(
    client, distributed, digits, monkeypatch
):
    # A worker process dies abruptly (its nanny starts a new one): the chunks,
    # parameters and activations it held are recomputed elsewhere.
    import os

    from sklearn_sae import _dask_rows

    X = _dask(digits, (450, 450, 450, 447))
    estimator = SparseAutoencoder(n_components=16, max_iter=15, random_state=0)
    intact = _fitted(estimator, X)  # on the module's in-process cluster

    backward = _dask_rows.DaskAutoencoderObjective._backward
    evaluations, killed_workers = [], []
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as other,
        other.as_current(),
    ):

        def backward_killing_a_worker(self, params, sparsity_delta):
            evaluations.append(None)
            if len(evaluations) == 3:
                address = sorted(other.scheduler_info()["workers"])[0]
                killed_workers.append(address)
                other.run(os._exit, 1, workers=[address], on_error="ignore")
            return backward(self, params, sparsity_delta)

        monkeypatch.setattr(
            _dask_rows.DaskAutoencoderObjective, "_backward", backward_killing_a_worker
        )
        killed = _fitted(estimator, X)
        workers_after = set(other.scheduler_info()["workers"])
    assert len(evaluations) > 3
    assert killed_workers[0] not in workers_after
    assert_identical(killed, intact)
