"""The classifier objective: gradient against finite differences, loss against loops."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax as scipy_log_softmax
from sklearn.metrics import log_loss

from sklearn_sae import _rows
from sklearn_sae._finetune import (
    ClassifierObjective,
    NetworkLayout,
    forward,
    log_softmax,
)
from sklearn_sae.utils import check_gradient

# (n_samples, layer_sizes): no hidden layer (the softmax stage), then 1, 2 and
# 3 sigmoid layers; binary and multiclass outputs.
NETWORKS = [
    pytest.param(9, (5, 3), id="softmax-3"),
    pytest.param(8, (4, 2), id="softmax-2"),
    pytest.param(11, (6, 4, 3), id="1layer-3"),
    pytest.param(10, (5, 3, 2), id="1layer-2"),
    pytest.param(12, (7, 5, 4, 3), id="2layers-3"),
    pytest.param(7, (4, 3, 5, 2), id="2layers-2"),
    pytest.param(13, (5, 4, 3, 5, 4), id="3layers-4"),
    pytest.param(1, (3, 4, 2, 3), id="1sample"),
]


def _random_problem(n_samples, layer_sizes, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, layer_sizes[0]))
    y = rng.randint(layer_sizes[-1], size=n_samples)
    layout = NetworkLayout(layer_sizes)
    theta = 0.8 * rng.standard_normal(layout.size)
    return X, y, layout, theta


def _loop_objective(X, y, theta, layer_sizes, alpha):
    """The cross-entropy and decay, one sample and one unit at a time."""
    weights, biases = NetworkLayout(layer_sizes).unpack(theta)
    alpha = np.broadcast_to(alpha, (len(weights),))
    total = 0.0
    for x, label in zip(X, y, strict=True):
        a = list(x)
        for layer, (W, b) in enumerate(zip(weights, biases, strict=True)):
            z = [
                sum(W[j, k] * a[k] for k in range(len(a))) + b[j]
                for j in range(W.shape[0])
            ]
            a = z if layer == len(weights) - 1 else [1 / (1 + np.exp(-v)) for v in z]
        total -= np.log(np.exp(a[label]) / sum(np.exp(v) for v in a))
    decay = sum(
        a_l / 2 * sum(w**2 for w in W.ravel())
        for a_l, W in zip(alpha, weights, strict=True)
    )
    return total / len(X) + decay


@pytest.fixture
def small_blocks(monkeypatch):
    """Force several row blocks even on tiny data."""
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 3 * 8 * 8)


@pytest.mark.parametrize(("n_samples", "layer_sizes"), NETWORKS)
@pytest.mark.parametrize("decay", ["none", "per-layer"])
@pytest.mark.parametrize(
    ("blocks", "n_threads"), [("one", 1), ("several", 1), ("several", 3)]
)
def test_gradient_matches_finite_differences(
    n_samples, layer_sizes, decay, blocks, n_threads, request
):
    if blocks == "several":
        request.getfixturevalue("small_blocks")
    X, y, layout, theta = _random_problem(n_samples, layer_sizes, seed=sum(layer_sizes))
    alpha = 0.0 if decay == "none" else np.linspace(0.05, 0.2, layout.n_layers)
    with ClassifierObjective(
        X, y, layer_sizes, alpha=alpha, n_chunks=n_threads, n_threads=n_threads
    ) as objective:
        if blocks == "several" and n_samples > 1:
            assert objective.rows.block_rows < n_samples
        assert check_gradient(objective, theta) < 1e-9


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradient_with_sparse_input(small_blocks, n_threads):
    X, y, layout, theta = _random_problem(15, (7, 4, 3), seed=1)
    X[X < 0.6] = 0.0
    objective = ClassifierObjective(
        sp.csr_matrix(X),
        y,
        layout.layer_sizes,
        alpha=0.1,
        n_chunks=n_threads,
        n_threads=n_threads,
    )
    assert check_gradient(objective, theta) < 1e-9
    dense = ClassifierObjective(X, y, layout.layer_sizes, alpha=0.1)(theta)
    sparse = objective(theta)
    assert sparse[0] == pytest.approx(dense[0], rel=1e-13)
    np.testing.assert_allclose(sparse[1], dense[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("n_samples", "layer_sizes"), NETWORKS)
def test_loss_matches_loop_implementation(n_samples, layer_sizes):
    X, y, layout, theta = _random_problem(n_samples, layer_sizes, seed=2)
    alpha = np.linspace(0.0, 0.3, layout.n_layers)
    loss, _ = ClassifierObjective(X, y, layer_sizes, alpha=alpha)(theta)
    expected = _loop_objective(X, y, theta, layer_sizes, alpha)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_softmax_stage_is_multinomial_log_loss_plus_decay():
    X, y, layout, theta = _random_problem(30, (6, 4), seed=3)
    (W,), (b,) = layout.unpack(theta)
    loss, _ = ClassifierObjective(X, y, layout.layer_sizes, alpha=0.01)(theta)
    proba = np.exp(scipy_log_softmax(X @ W.T + b, axis=1))
    expected = log_loss(y, proba, labels=range(4)) + 0.005 * np.sum(W**2)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_float32_objective_is_close_to_float64():
    X, y, layout, theta = _random_problem(40, (10, 6, 5, 4), seed=5)
    loss64, grad64 = ClassifierObjective(X, y, layout.layer_sizes, alpha=1e-3)(theta)
    objective32 = ClassifierObjective(
        X.astype(np.float32), y, layout.layer_sizes, alpha=1e-3
    )
    loss32, grad32 = objective32(theta)
    assert objective32._params.dtype == np.float32
    assert objective32.rows._workspaces.get().activations[0].dtype == np.float32
    assert grad32.dtype == np.float64
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-3, atol=1e-5)


def test_weight_decay_acts_on_each_weight_matrix_alone():
    X, y, layout, theta = _random_problem(8, (4, 3, 2), seed=6)
    without = ClassifierObjective(X, y, layout.layer_sizes, alpha=0.0)(theta)
    # Decay on the top (softmax) layer only, as in fine-tuning.
    top = ClassifierObjective(X, y, layout.layer_sizes, alpha=[0.0, 0.5])(theta)
    w = theta[layout.weight_slice(1)]
    assert top[0] - without[0] == pytest.approx(0.25 * w @ w)
    expected = np.zeros(layout.size)
    expected[layout.weight_slice(1)] = 0.5 * w
    np.testing.assert_allclose(top[1] - without[1], expected, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e3, 1e5])
def test_huge_scores_keep_loss_and_gradient_finite(dtype, scale):
    """Saturated sigmoids and scores far beyond exp's range: no NaN, no inf."""
    X, y, layout, theta = _random_problem(20, (5, 4, 3), seed=7)
    theta *= scale
    loss, grad = ClassifierObjective(X.astype(dtype), y, layout.layer_sizes, alpha=0)(
        theta
    )
    assert np.isfinite(loss)
    assert loss > 0
    assert np.all(np.isfinite(grad))


def test_log_softmax_is_stable_and_exact():
    Z = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0], [-800.0, -801.0, -802.0]])
    out = log_softmax(Z)
    np.testing.assert_allclose(out, scipy_log_softmax(Z, axis=1), rtol=1e-15)
    assert np.all(np.isfinite(out))
    out32 = log_softmax(Z.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-6)


def test_forward_gives_the_class_scores():
    X, _, layout, theta = _random_problem(6, (5, 4, 3, 2), seed=8)
    weights, biases = layout.unpack(theta)
    A = X
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        A = 1 / (1 + np.exp(-(A @ W.T + b)))
    expected = A @ weights[-1].T + biases[-1]
    np.testing.assert_allclose(forward(X, weights, biases), expected, rtol=1e-13)
    np.testing.assert_allclose(
        forward(sp.csr_matrix(X), weights, biases), expected, rtol=1e-13
    )


def test_layout_packs_and_unpacks():
    layout = NetworkLayout((5, 4, 3))
    assert layout.shapes == [(4, 5), (3, 4)]
    assert layout.n_weights == 20 + 12
    assert layout.size == 20 + 12 + 4 + 3
    theta = np.arange(layout.size, dtype=np.float64)
    weights, biases = layout.unpack(theta)
    assert [W.shape for W in weights] == [(4, 5), (3, 4)]
    assert [b.shape for b in biases] == [(4,), (3,)]
    np.testing.assert_array_equal(layout.pack(weights, biases), theta)
    np.testing.assert_array_equal(theta[layout.weight_slice(1)], weights[1].ravel())
    with pytest.raises(ValueError, match="at least an input and an output"):
        NetworkLayout((5,))


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([0, 1, 3]), r"class indices in range\(3\)"),
        (np.array([0, -1, 2]), r"class indices in range\(3\)"),
        (np.array([0, 1]), "3 class indices"),
    ],
)
def test_rejects_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        ClassifierObjective(np.zeros((3, 2)), y, (2, 3), alpha=0)


def test_rejects_mismatched_input_width():
    with pytest.raises(ValueError, match="X has 2 features, but layer_sizes starts"):
        ClassifierObjective(np.zeros((3, 2)), np.zeros(3), (4, 3), alpha=0)
