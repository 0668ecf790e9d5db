"""The objective's variants: every switch and combination against finite
differences and against a plain NumPy reference."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_sae import _rows
from sklearn_sae._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
    apply_mask,
    keep_top_k,
    masking_noise,
)
from sklearn_sae.utils import check_gradient

SWITCHES = list(
    itertools.product(("sigmoid", "linear"), ("kl", "l1"), (False, True), (0.0, 0.3))
)
SWITCH_IDS = [
    f"{decoder}-{sparsity}-{'tied' if tied else 'untied'}-corruption{corruption}"
    for decoder, sparsity, tied, corruption in SWITCHES
]


def _reference_objective(
    X, theta, h, *, rho, beta, alpha, decoder, sparsity, tied, keep=None, k=None
):
    """The objective written plainly over all samples at once, in float64."""
    m, d = X.shape
    layout = ParameterLayout(d, h, tied)
    W1, W2T, b1, b2 = (p.copy() for p in layout.unpack(theta))
    X_in = X if keep is None else X * keep
    inputs = X_in @ W1.T + b1
    if k is None:
        A = 1 / (1 + np.exp(-inputs))
    else:
        threshold = np.sort(inputs, axis=1)[:, [-k]]
        A = np.where(inputs >= threshold, inputs, 0.0)
    X_hat = A @ W2T + b2
    if decoder == "sigmoid":
        X_hat = 1 / (1 + np.exp(-X_hat))
    loss = np.sum((X_hat - X) ** 2) / (2 * m)
    loss += alpha / 2 * np.sum(W1**2)
    if not tied:
        loss += alpha / 2 * np.sum(W2T**2)
    rho_hat = A.mean(axis=0)
    if beta and sparsity == "kl":
        loss += beta * np.sum(
            rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        )
    elif beta:
        loss += beta * np.mean(np.abs(A).sum(axis=1))
    return loss


def _keep_array(mask, n_features):
    return np.unpackbits(mask, axis=1, count=n_features).astype(bool)


def _random_point(layout, rng):
    theta = layout.initialize(rng)
    theta[layout.n_weights :] = 0.3 * rng.standard_normal(theta.size - layout.n_weights)
    return theta


def _objective_for(X, h, switches, rng, **params):
    decoder, sparsity, tied, corruption = switches
    mask = masking_noise(*X.shape, corruption, rng) if corruption else None
    objective = SparseAutoencoderObjective(
        X,
        h,
        decoder=decoder,
        sparsity=sparsity,
        tied_weights=tied,
        input_mask=mask,
        **params,
    )
    return objective, mask


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 3 rows on the 7-feature data below."""
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 3 * 7 * 8)


@pytest.mark.parametrize("switches", SWITCHES, ids=SWITCH_IDS)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradient_of_every_combination(switches, n_threads, small_blocks):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(11, 7))
    objective, _ = _objective_for(
        X,
        5,
        switches,
        rng,
        rho=0.15,
        beta=3.0,
        alpha=3e-3,
        n_chunks=n_threads,
        n_threads=n_threads,
    )
    assert objective.rows.block_rows == 3
    theta = _random_point(objective.layout, rng)
    assert check_gradient(objective, theta) < 1e-9


@pytest.mark.parametrize("switches", SWITCHES, ids=SWITCH_IDS)
def test_loss_matches_the_reference(switches):
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(9, 6))
    objective, mask = _objective_for(X, 4, switches, rng, rho=0.2, beta=2.0, alpha=0.1)
    theta = _random_point(objective.layout, rng)
    decoder, sparsity, tied, _ = switches
    keep = None if mask is None else _keep_array(mask, 6)
    expected = _reference_objective(
        X,
        theta,
        4,
        rho=0.2,
        beta=2.0,
        alpha=0.1,
        decoder=decoder,
        sparsity=sparsity,
        tied=tied,
        keep=keep,
    )
    assert objective(theta)[0] == pytest.approx(expected, rel=1e-12)


def _point_with_stable_top_k(layout, X, k, rng, margin=1e-3):
    """A random point where every sample's k-th and (k+1)-th largest hidden
    inputs are at least ``margin`` apart, so finite differences of step 1e-4
    do not change which units are kept."""
    for _ in range(1000):
        theta = _random_point(layout, rng)
        W1, _, b1, _ = layout.unpack(theta)
        Z = np.sort(X @ W1.T + b1, axis=1)
        h = Z.shape[1]
        if k == h or np.all(Z[:, h - k] - Z[:, h - k - 1] > margin):
            return theta
    raise AssertionError("no point with a stable top-k set found")


@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize(
    ("decoder", "tied", "corruption"),
    [
        ("linear", True, 0.0),  # the k-sparse autoencoder
        ("linear", True, 0.3),
        ("linear", False, 0.0),
        ("sigmoid", False, 0.0),
    ],
)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_k_sparse_gradient_where_the_top_k_set_is_stable(
    k, decoder, tied, corruption, n_threads, small_blocks
):
    rng = np.random.RandomState(k)
    X = rng.uniform(size=(10, 7))
    objective, mask = _objective_for(
        X,
        6,
        (decoder, "kl", tied, corruption),
        rng,
        alpha=3e-3,
        k=k,
        n_chunks=n_threads,
        n_threads=n_threads,
    )
    X_in = X if mask is None else X * _keep_array(mask, 7)
    theta = _point_with_stable_top_k(objective.layout, X_in, k, rng)
    # Linear units on both sides of tied weights make the loss a quartic in W
    # with large third derivatives: central differences' O(epsilon^2) error
    # is about 3e-9 at the default step, 3e-11 at this one.
    assert check_gradient(objective, theta, epsilon=1e-5) < 1e-9
    expected = _reference_objective(
        X,
        theta,
        6,
        rho=0.1,
        beta=0.0,
        alpha=3e-3,
        decoder=decoder,
        sparsity="kl",
        tied=tied,
        keep=None if mask is None else _keep_array(mask, 7),
        k=k,
    )
    assert objective(theta)[0] == pytest.approx(expected, rel=1e-12)


def test_k_sparse_objective_refuses_a_sparsity_penalty():
    with pytest.raises(ValueError, match="beta=0"):
        SparseAutoencoderObjective(np.ones((3, 2)), 2, beta=1.0, k=1)


@pytest.mark.parametrize(("name", "value"), [("decoder", "relu"), ("sparsity", "l2")])
def test_objective_refuses_unknown_switches(name, value):
    with pytest.raises(ValueError, match=name):
        SparseAutoencoderObjective(np.ones((3, 2)), 2, **{name: value})


@pytest.mark.parametrize("switches", SWITCHES, ids=SWITCH_IDS)
def test_sparse_input_gives_the_dense_result(switches, small_blocks):
    rng = np.random.RandomState(2)
    X = rng.uniform(size=(13, 7))
    X[X < 0.5] = 0.0
    dense, mask = _objective_for(X, 4, switches, rng, rho=0.1, beta=3.0, alpha=1e-3)
    theta = _random_point(dense.layout, rng)
    sparse = SparseAutoencoderObjective(
        sp.csr_matrix(X),
        4,
        rho=0.1,
        beta=3.0,
        alpha=1e-3,
        decoder=switches[0],
        sparsity=switches[1],
        tied_weights=switches[2],
        input_mask=mask,
    )
    loss_d, grad_d = dense(theta)
    loss_s, grad_s = sparse(theta)
    assert loss_s == pytest.approx(loss_d, rel=1e-13)
    np.testing.assert_allclose(grad_s, grad_d, rtol=1e-12, atol=1e-15)


def test_tied_weights_are_one_matrix_decayed_once():
    rng = np.random.RandomState(3)
    X = rng.uniform(size=(8, 5))
    layout = ParameterLayout(5, 3, tied_weights=True)
    assert layout.size == 15 + 3 + 5
    theta = _random_point(layout, rng)
    W1, W2T, _, _ = layout.unpack(theta)
    assert W2T is W1
    without = SparseAutoencoderObjective(X, 3, tied_weights=True, beta=3.0)(theta)
    with_decay = SparseAutoencoderObjective(
        X, 3, tied_weights=True, beta=3.0, alpha=0.5
    )(theta)
    assert with_decay[0] - without[0] == pytest.approx(0.25 * np.sum(W1**2))
    np.testing.assert_allclose(
        (with_decay[1] - without[1])[:15], 0.5 * W1.ravel(), atol=1e-14
    )


def test_tied_layout_packs_the_encoder_weights():
    layout = ParameterLayout(4, 2, tied_weights=True)
    rng = np.random.RandomState(4)
    W1, b1, b2 = rng.rand(2, 4), rng.rand(2), rng.rand(4)
    W1_got, W2T_got, b1_got, b2_got = layout.unpack(layout.pack(W1, None, b1, b2))
    np.testing.assert_array_equal(W1_got, W1)
    np.testing.assert_array_equal(W2T_got, W1)
    np.testing.assert_array_equal(b1_got, b1)
    np.testing.assert_array_equal(b2_got, b2)


def test_l1_penalty_is_the_mean_code_norm():
    rng = np.random.RandomState(5)
    X = rng.uniform(size=(10, 4))
    theta = _random_point(ParameterLayout(4, 3), rng)
    plain = SparseAutoencoderObjective(X, 3, beta=0.0)(theta)[0]
    l1 = SparseAutoencoderObjective(X, 3, beta=2.5, sparsity="l1")(theta)[0]
    W1, _, b1, _ = ParameterLayout(4, 3).unpack(theta)
    codes = 1 / (1 + np.exp(-(X @ W1.T + b1)))
    assert l1 - plain == pytest.approx(2.5 * codes.sum(axis=1).mean(), rel=1e-12)


def test_l1_ignores_rho():
    rng = np.random.RandomState(6)
    X = rng.uniform(size=(10, 4))
    theta = _random_point(ParameterLayout(4, 3), rng)
    a = SparseAutoencoderObjective(X, 3, rho=0.01, beta=1.0, sparsity="l1")(theta)
    b = SparseAutoencoderObjective(X, 3, rho=0.9, beta=1.0, sparsity="l1")(theta)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(("fraction", "n_masked"), [(0.0, 0), (0.25, 5), (0.5, 10)])
def test_masking_noise_masks_that_fraction_of_every_row(
    fraction, n_masked, monkeypatch
):
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 7 * 20 * 8)  # blocks of 7 rows
    mask = masking_noise(30, 20, fraction, np.random.RandomState(0))
    assert mask.shape == (30, 3)
    assert mask.dtype == np.uint8
    keep = _keep_array(mask, 20)
    np.testing.assert_array_equal(keep.sum(axis=1), 20 - n_masked)
    again = masking_noise(30, 20, fraction, np.random.RandomState(0))
    np.testing.assert_array_equal(mask, again)
    if n_masked:
        # Different rows mask different entries.
        assert len({tuple(row) for row in keep}) > 20


def test_apply_mask_zeroes_the_masked_entries():
    rng = np.random.RandomState(7)
    X = rng.uniform(0.5, 1.0, size=(6, 11)).astype(np.float32)
    mask = masking_noise(6, 11, 0.4, rng)
    out = apply_mask(X, mask)
    assert out.dtype == np.float32
    keep = _keep_array(mask, 11)
    np.testing.assert_array_equal(out[keep], X[keep])
    np.testing.assert_array_equal(out[~keep], 0.0)


def test_masked_objective_encodes_the_masked_input_and_targets_the_clean_one():
    rng = np.random.RandomState(8)
    X = rng.uniform(size=(12, 6))
    mask = masking_noise(12, 6, 0.5, rng)
    theta = _random_point(ParameterLayout(6, 4), rng)
    loss = SparseAutoencoderObjective(X, 4, beta=0.0, input_mask=mask)(theta)[0]
    W1, W2T, b1, b2 = ParameterLayout(6, 4).unpack(theta)
    X_in = X * _keep_array(mask, 6)
    X_hat = 1 / (1 + np.exp(-((1 / (1 + np.exp(-(X_in @ W1.T + b1)))) @ W2T + b2)))
    assert loss == pytest.approx(np.sum((X_hat - X) ** 2) / 24, rel=1e-12)


@pytest.mark.parametrize("k", [1, 4, 9, 12])
def test_keep_top_k_keeps_the_k_largest_of_each_row(k, monkeypatch):
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 4 * 9 * 8)  # blocks of 4 rows
    inputs = np.random.RandomState(k).standard_normal((11, 9))
    kept = keep_top_k(inputs.copy(), k)
    assert np.all((kept != 0).sum(axis=1) == min(k, 9))
    threshold = np.sort(inputs, axis=1)[:, [-min(k, 9)]]
    np.testing.assert_array_equal(kept, np.where(inputs >= threshold, inputs, 0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_keep_top_k_breaks_ties_as_argpartition_does(k, dtype, monkeypatch):
    monkeypatch.setattr(_rows, "_BLOCK_BYTES", 4 * 9 * 8)  # blocks of 4 rows
    # Few distinct values: most rows have ties at their k-th largest.
    inputs = np.random.RandomState(k).choice([-2.0, -1.0, 1.0, 2.0], (11, 9))
    inputs = inputs.astype(dtype)
    inputs[0] = np.arange(9)[::-1]  # and one row without ties
    kept = keep_top_k(inputs.copy(), k)
    expected = inputs.copy()
    smallest = np.argpartition(expected, 9 - k - 1, axis=1)[:, : 9 - k]
    np.put_along_axis(expected, smallest, 0, axis=1)
    np.testing.assert_array_equal(kept, expected)
    assert np.all(np.count_nonzero(kept[1:], axis=1) == k)
    assert not np.signbit(kept[kept == 0]).any()  # +0.0 where dropped
