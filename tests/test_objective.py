"""The objective: gradient against finite differences, loss against a plain loop."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_sae import _objective, _rows
from sklearn_sae._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
    kl_divergence,
)
from sklearn_sae.utils import check_gradient

SHAPES = [(10, 8, 5), (7, 5, 9), (23, 6, 4), (1, 4, 3)]
PENALTIES = [
    pytest.param(3.0, 3e-3, id="sparsity+decay"),
    pytest.param(3.0, 0.0, id="sparsity"),
    pytest.param(0.0, 1e-2, id="decay"),
    pytest.param(0.0, 0.0, id="plain"),
]


def _random_point(layout, rng):
    """A point with non-zero biases and weights of the initialisation's scale."""
    theta = layout.initialize(rng)
    theta[layout.n_weights :] = 0.3 * rng.standard_normal(theta.size - layout.n_weights)
    return theta


def _loop_objective(X, theta, n_components, rho, beta, alpha):
    """The tutorial's objective, written one sample and one unit at a time."""
    m, d = X.shape
    h = n_components
    W1, W2T, b1, b2 = ParameterLayout(d, h).unpack(theta)

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    activations = []
    for i in range(m):
        activations.append(
            [
                sigmoid(sum(W1[j, k] * X[i, k] for k in range(d)) + b1[j])
                for j in range(h)
            ]
        )
    squared_error = 0.0
    for i in range(m):
        for k in range(d):
            z = sum(W2T[j, k] * activations[i][j] for j in range(h)) + b2[k]
            squared_error += (sigmoid(z) - X[i, k]) ** 2
    decay = sum(W1[j, k] ** 2 + W2T[j, k] ** 2 for j in range(h) for k in range(d))
    kl = 0.0
    for j in range(h):
        rho_hat = sum(activations[i][j] for i in range(m)) / m
        kl += rho * np.log(rho / rho_hat) + (1 - rho) * np.log(
            (1 - rho) / (1 - rho_hat)
        )
    return squared_error / (2 * m) + alpha / 2 * decay + beta * kl


@pytest.fixture
def small_blocks(monkeypatch):
    """Force several row blocks even on tiny data."""
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 3 * 8 * 8)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("beta", "alpha"), PENALTIES)
@pytest.mark.parametrize(
    ("blocks", "n_threads"), [("one", 1), ("several", 1), ("several", 3)]
)
def test_gradient_matches_finite_differences(
    shape, beta, alpha, blocks, n_threads, request
):
    if blocks == "several":
        request.getfixturevalue("small_blocks")
    m, d, h = shape
    rng = np.random.RandomState(m * 100 + d * 10 + h)
    X = rng.uniform(size=(m, d))
    objective = SparseAutoencoderObjective(
        X, h, rho=0.1, beta=beta, alpha=alpha, n_chunks=n_threads, n_threads=n_threads
    )
    theta = _random_point(objective.layout, rng)
    assert check_gradient(objective, theta) < 1e-9


@pytest.mark.parametrize("rho", [0.01, 0.3, 0.9])
def test_gradient_for_other_sparsity_targets(rho):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(12, 6))
    objective = SparseAutoencoderObjective(X, 5, rho=rho, beta=3.0, alpha=3e-3)
    assert check_gradient(objective, _random_point(objective.layout, rng)) < 1e-9


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradient_with_sparse_input(small_blocks, n_threads):
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(15, 7))
    X[X < 0.6] = 0.0
    objective = SparseAutoencoderObjective(
        sp.csr_matrix(X),
        4,
        rho=0.1,
        beta=3.0,
        alpha=3e-3,
        n_chunks=n_threads,
        n_threads=n_threads,
    )
    assert check_gradient(objective, _random_point(objective.layout, rng)) < 1e-9


@pytest.mark.parametrize(("beta", "alpha"), PENALTIES)
def test_loss_matches_loop_implementation(beta, alpha):
    rng = np.random.RandomState(2)
    X = rng.uniform(size=(9, 5))
    objective = SparseAutoencoderObjective(X, 4, rho=0.2, beta=beta, alpha=alpha)
    theta = _random_point(objective.layout, rng)
    loss, _ = objective(theta)
    expected = _loop_objective(X, theta, 4, rho=0.2, beta=beta, alpha=alpha)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_float32_objective_is_close_to_float64():
    rng = np.random.RandomState(5)
    X = rng.uniform(size=(40, 10))
    theta = _random_point(ParameterLayout(10, 6), rng)
    loss64, grad64 = SparseAutoencoderObjective(X, 6, rho=0.1, beta=3, alpha=1e-3)(
        theta
    )
    objective32 = SparseAutoencoderObjective(
        X.astype(np.float32), 6, rho=0.1, beta=3, alpha=1e-3
    )
    loss32, grad32 = objective32(theta)
    assert objective32._hidden.dtype == np.float32
    assert grad32.dtype == np.float64
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-3, atol=1e-5)


def test_weight_decay_skips_biases():
    rng = np.random.RandomState(6)
    X = rng.uniform(size=(8, 4))
    layout = ParameterLayout(4, 3)
    theta = _random_point(layout, rng)
    without = SparseAutoencoderObjective(X, 3, rho=0.1, beta=3, alpha=0.0)(theta)
    with_decay = SparseAutoencoderObjective(X, 3, rho=0.1, beta=3, alpha=0.5)(theta)
    weights = theta[: layout.n_weights]
    assert with_decay[0] - without[0] == pytest.approx(0.25 * weights @ weights)
    np.testing.assert_allclose(
        with_decay[1] - without[1],
        np.r_[0.5 * weights, np.zeros(theta.size - layout.n_weights)],
        atol=1e-14,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("saturation", [-1e4, 1e4])
def test_saturated_units_keep_loss_and_gradient_finite(dtype, saturation):
    """A unit that is always off (or on) makes rho_hat 0 (or 1): no NaN, no inf."""
    X = np.random.RandomState(7).uniform(size=(10, 4)).astype(dtype)
    layout = ParameterLayout(4, 3)
    theta = np.zeros(layout.size)
    _, _, b1, _ = layout.unpack(theta)
    b1[:] = saturation
    loss, grad = SparseAutoencoderObjective(X, 3, rho=0.1, beta=3, alpha=3e-3)(theta)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(grad))
    # The penalty of a dead unit is large: KL(0.1 || eps) is about 3.2.
    assert loss > 3 * 3.0


def test_kl_divergence_value_and_derivative():
    rho_hat = np.array([0.05, 0.1, 0.5, 0.99])
    penalty, derivative = kl_divergence(0.1, rho_hat)
    expected = np.sum(0.1 * np.log(0.1 / rho_hat) + 0.9 * np.log(0.9 / (1 - rho_hat)))
    assert penalty == pytest.approx(expected, rel=1e-14)
    step = 1e-6
    numeric = [
        (
            kl_divergence(0.1, rho_hat + step * e)[0]
            - kl_divergence(0.1, rho_hat - step * e)[0]
        )
        / (2 * step)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(derivative, numeric, rtol=1e-6)
    assert derivative[1] == pytest.approx(0.0, abs=1e-12)  # minimum at rho_hat = rho


def test_layout_pack_unpack_round_trip():
    layout = ParameterLayout(5, 3)
    rng = np.random.RandomState(8)
    parts = (rng.rand(3, 5), rng.rand(3, 5), rng.rand(3), rng.rand(5))
    vector = layout.pack(*parts)
    assert vector.shape == (layout.size,) == (2 * 15 + 3 + 5,)
    for got, expected in zip(layout.unpack(vector), parts, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_initialization_matches_the_tutorial():
    layout = ParameterLayout(30, 20)
    theta = layout.initialize(np.random.RandomState(0))
    r = np.sqrt(6 / (30 + 20 + 1))
    weights = theta[: layout.n_weights]
    assert np.all(np.abs(weights) <= r)
    assert np.abs(weights).max() > 0.9 * r
    np.testing.assert_array_equal(theta[layout.n_weights :], 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_accurate_and_saturates_quietly(dtype):
    from scipy.special import expit

    Z = np.array([-1e4, -100.0, -30.0, -1.0, 0.0, 0.5, 30.0, 100.0, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        out = _objective.sigmoid(Z)
    assert out.dtype == dtype
    expected = expit(Z.astype(np.float64))
    # Exact to a few ulps; values below the smallest normal number may flush to 0.
    finfo = np.finfo(dtype)
    np.testing.assert_allclose(out, expected, rtol=4 * finfo.eps, atol=finfo.tiny)
    assert out[0] == 0.0
    assert out[-1] == 1.0
    buffer = Z.copy()
    assert _objective.sigmoid(buffer, out=buffer) is buffer
