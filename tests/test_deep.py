"""The deep autoencoder's objective: gradient against finite differences, loss
against a loop, and the row machinery's guarantees."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_sae import _rows
from sklearn_sae._deep import (
    DeepAutoencoderObjective,
    DeepLayout,
    deep_decode,
    deep_encode,
)
from sklearn_sae._objective import ParameterLayout, SparseAutoencoderObjective
from sklearn_sae.utils import check_gradient

# (n_samples, layer_sizes): one to three layers, and a single sample.
NETWORKS = [
    pytest.param(9, (5, 3), id="1layer"),
    pytest.param(11, (6, 4, 3), id="2layers"),
    pytest.param(12, (7, 5, 4, 2), id="3layers"),
    pytest.param(1, (4, 3, 2), id="1sample"),
]

# Every option of the objective, alone and together.
OPTIONS = {
    "plain": {},
    "decay": {"alpha": "per-layer"},
    "tied": {"tied_weights": "alternate"},
    "tied-all": {"tied_weights": True},
    "linear-first": {"decoders": "linear-first"},
    "linear-code": {"linear_code": True},
    "all": {
        "alpha": "per-layer",
        "tied_weights": "alternate",
        "decoders": "linear-first",
        "linear_code": True,
    },
}


def _options(name, n_layers):
    options = dict(OPTIONS[name])
    if options.get("alpha") == "per-layer":
        options["alpha"] = np.linspace(0.05, 0.2, n_layers)
    if options.get("tied_weights") == "alternate":
        options["tied_weights"] = [layer % 2 == 0 for layer in range(n_layers)]
    if options.get("decoders") == "linear-first":
        options["decoders"] = ["linear"] + ["sigmoid"] * (n_layers - 1)
    return options


def _random_problem(n_samples, layer_sizes, seed, tied_weights=False):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, layer_sizes[0]))
    layout = DeepLayout(layer_sizes, tied_weights)
    theta = 0.5 * rng.standard_normal(layout.size)
    return X, layout, theta


def _loop_objective(X, theta, layout, alpha, decoders, linear_code):
    """The reconstruction error and decay, one sample and one unit at a time."""
    W, W2T, b, c = layout.unpack(theta)
    L = layout.n_layers

    def layer(a, weights, biases, linear):
        z = [
            sum(weights[j, k] * a[k] for k in range(len(a))) + biases[j]
            for j in range(weights.shape[0])
        ]
        return z if linear else [1 / (1 + np.exp(-v)) for v in z]

    total = 0.0
    for x in X:
        a = list(x)
        for i in range(L):
            a = layer(a, W[i], b[i], linear_code and i == L - 1)
        for i in range(L - 1, -1, -1):
            a = layer(a, W2T[i].T, c[i], decoders[i] == "linear")
        total += sum((r - v) ** 2 for r, v in zip(a, x, strict=True))
    alpha = np.broadcast_to(alpha, (L,))
    decay = 0.0
    for i in range(L):
        decay += alpha[i] / 2 * float(np.sum(W[i] ** 2))
        if not layout.tied_weights[i]:
            decay += alpha[i] / 2 * float(np.sum(W2T[i] ** 2))
    return total / (2 * len(X)) + decay


@pytest.fixture
def small_blocks(monkeypatch):
    """Force several row blocks even on tiny data."""
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 3 * 8 * 8)


@pytest.mark.parametrize(("n_samples", "layer_sizes"), NETWORKS)
@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize(
    ("blocks", "n_threads"), [("one", 1), ("several", 1), ("several", 3)]
)
def test_gradient_matches_finite_differences(
    n_samples, layer_sizes, option, blocks, n_threads, request
):
    if blocks == "several":
        request.getfixturevalue("small_blocks")
    options = _options(option, len(layer_sizes) - 1)
    X, layout, theta = _random_problem(
        n_samples,
        layer_sizes,
        seed=sum(layer_sizes),
        tied_weights=options.get("tied_weights", False),
    )
    with DeepAutoencoderObjective(
        X, layer_sizes, n_chunks=n_threads, n_threads=n_threads, **options
    ) as objective:
        assert objective.layout.size == layout.size
        if blocks == "several" and n_samples > 1:
            assert objective.rows.block_rows < n_samples
        # Several layers (or a linear code) give the loss large third
        # derivatives: central differences' O(epsilon^2) error is about 2e-9
        # at the default step, 100 times less at this one.
        assert check_gradient(objective, theta, epsilon=1e-5) < 1e-9


@pytest.mark.parametrize(("n_samples", "layer_sizes"), NETWORKS)
@pytest.mark.parametrize("option", OPTIONS)
def test_loss_matches_loop_implementation(n_samples, layer_sizes, option):
    n_layers = len(layer_sizes) - 1
    options = _options(option, n_layers)
    X, layout, theta = _random_problem(
        n_samples, layer_sizes, seed=2, tied_weights=options.get("tied_weights", False)
    )
    loss, _ = DeepAutoencoderObjective(X, layer_sizes, **options)(theta)
    expected = _loop_objective(
        X,
        theta,
        layout,
        options.get("alpha", 0.0),
        options.get("decoders", ["sigmoid"] * n_layers),
        options.get("linear_code", False),
    )
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradient_with_sparse_input(small_blocks, n_threads):
    X, _layout, theta = _random_problem(15, (7, 4, 3), seed=1)
    X[X < 0.6] = 0.0
    objective = DeepAutoencoderObjective(
        sp.csr_matrix(X), (7, 4, 3), alpha=0.1, n_chunks=n_threads, n_threads=n_threads
    )
    assert check_gradient(objective, theta, epsilon=1e-5) < 1e-9
    dense = DeepAutoencoderObjective(X, (7, 4, 3), alpha=0.1)(theta)
    sparse = objective(theta)
    assert sparse[0] == pytest.approx(dense[0], rel=1e-13)
    np.testing.assert_allclose(sparse[1], dense[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("tied_weights", [False, True])
@pytest.mark.parametrize("decoder", ["sigmoid", "linear"])
def test_one_layer_is_the_sparse_autoencoder_without_sparsity(tied_weights, decoder):
    X, _, _ = _random_problem(20, (6, 4), seed=7)
    flat = ParameterLayout(6, 4, tied_weights)
    theta = flat.initialize(np.random.RandomState(0))
    theta[flat.n_weights :] = np.random.RandomState(1).standard_normal(10)
    expected = SparseAutoencoderObjective(
        X, 4, alpha=0.03, beta=0.0, decoder=decoder, tied_weights=tied_weights
    )(theta)
    deep = DeepLayout((6, 4), tied_weights)
    deep_theta = deep.pack(*[[p] for p in flat.unpack(theta)])
    loss, grad = DeepAutoencoderObjective(
        X, (6, 4), alpha=0.03, tied_weights=tied_weights, decoders=decoder
    )(deep_theta)
    assert loss == pytest.approx(expected[0], rel=1e-13)
    W, W2T, b, c = deep.unpack(grad)
    for got, want in zip(
        (W[0], W2T[0], b[0], c[0]), flat.unpack(expected[1]), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n_chunks", [1, 2, 4])
def test_blocks_and_chunks_change_the_result_only_by_rounding(monkeypatch, n_chunks):
    X, _layout, theta = _random_problem(50, (6, 5, 4), seed=4)
    loss, grad = DeepAutoencoderObjective(X, (6, 5, 4), alpha=1e-3, n_chunks=1)(theta)
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 7 * 6 * 8)  # blocks of 7 rows
    with DeepAutoencoderObjective(
        X, (6, 5, 4), alpha=1e-3, n_chunks=n_chunks
    ) as blocked:
        assert blocked.rows.block_rows == 7
        assert blocked.rows.n_chunks == n_chunks
        loss_b, grad_b = blocked(theta)
        loss_c, grad_c = blocked(theta)
    assert loss_b == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(grad_b, grad, rtol=1e-12, atol=1e-15)
    assert loss_c == loss_b
    np.testing.assert_array_equal(grad_c, grad_b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_number_of_threads_does_not_change_a_bit(monkeypatch, dtype):
    X, _layout, theta = _random_problem(83, (6, 5, 4, 3), seed=6)
    X = X.astype(dtype)
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 7 * 6 * 8)
    results = []
    for n_threads in (1, 2, 5):
        with DeepAutoencoderObjective(
            X, (6, 5, 4, 3), alpha=1e-3, n_chunks=5, n_threads=n_threads
        ) as objective:
            assert objective.rows.n_threads == n_threads
            results.append(objective(theta))
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])


def test_float32_objective_is_close_to_float64():
    X, _layout, theta = _random_problem(40, (10, 6, 5, 4), seed=5)
    theta *= 0.5
    loss64, grad64 = DeepAutoencoderObjective(X, (10, 6, 5, 4), alpha=1e-3)(theta)
    objective32 = DeepAutoencoderObjective(
        X.astype(np.float32), (10, 6, 5, 4), alpha=1e-3
    )
    loss32, grad32 = objective32(theta)
    assert objective32._params.dtype == np.float32
    work = objective32.rows._workspaces.get()
    assert {a.dtype for a in work.encoded + work.decoded + work.errors} == {
        np.dtype(np.float32)
    }
    assert grad32.dtype == np.float64
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-3, atol=1e-5)


def test_no_work_array_grows_with_the_number_of_samples(monkeypatch):
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 16 * 10 * 8)
    X, _, _ = _random_problem(500, (10, 6, 3), seed=8)
    objective = DeepAutoencoderObjective(X, (10, 6, 3), n_chunks=2, n_threads=2)
    work = objective.rows._workspaces.get()
    rows = {a.shape[0] for a in work.encoded + work.decoded + work.errors + work.deltas}
    assert rows == {16}


@pytest.mark.parametrize("linear_code", [False, True])
def test_encode_and_decode_give_the_objectives_reconstruction(linear_code):
    X, layout, theta = _random_problem(25, (6, 5, 3), seed=9)
    decoders = ["linear", "sigmoid"]
    W, W2T, b, c = layout.unpack(theta)
    H = deep_encode(sp.csr_matrix(X), W, b, linear_code=linear_code)
    assert H.shape == (25, 3)
    if not linear_code:
        assert H.min() > 0
        assert H.max() < 1
    X_hat = deep_decode(H, W2T, c, decoders=decoders)
    expected = 0.5 * np.sum((X_hat - X) ** 2) / 25
    loss, _ = DeepAutoencoderObjective(
        X, (6, 5, 3), decoders=decoders, linear_code=linear_code
    )(theta)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_layout_packs_and_unpacks():
    layout = DeepLayout((5, 4, 2), tied_weights=[True, False])
    assert layout.n_weights == 5 * 4 + 4 * 2 + 4 * 2
    assert layout.size == layout.n_weights + 4 + 2 + 5 + 4
    vector = np.arange(layout.size, dtype=float)
    W, W2T, b, c = layout.unpack(vector)
    assert W2T[0] is W[0]
    assert [w.shape for w in W] == [(4, 5), (2, 4)] == [w.shape for w in W2T]
    assert [len(v) for v in b] == [4, 2]
    assert [len(v) for v in c] == [5, 4]
    np.testing.assert_array_equal(layout.pack(W, W2T, b, c), vector)
    assert [s for s in layout.weight_slices(1)] == [slice(20, 28), slice(28, 36)]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="X has 3 features"):
        DeepAutoencoderObjective(np.zeros((4, 3)), (4, 2))
    with pytest.raises(ValueError, match="decoders must be"):
        DeepAutoencoderObjective(np.zeros((4, 3)), (3, 2), decoders="relu")
    with pytest.raises(ValueError, match="at least one layer"):
        DeepLayout((3,))
