"""Property-based tests (hypothesis) of every public estimator.

Random shapes (up to 30 samples x 8 features, a few hidden units), dtypes
(float32, float64, int32, int64, bool), memory layouts (C, Fortran, strided
view, column slice, read-only ``numpy.memmap``, CSR matrix, CSC array) and
parameter values drawn inside each parameter's ``_parameter_constraints``
(unbounded ones within a moderate range, e.g. ``alpha`` and ``beta`` up to
10), with at most 10 L-BFGS iterations per stage.

Cases generated per property test (the ``n`` of its ``@cases(n)``, hypothesis'
``max_examples``; every test is derandomized and keeps no example database,
so CI sees the same cases on every run):

- test_sparse_autoencoder_fit_is_finite_and_loss_is_the_objective: 60
- test_sparse_autoencoder_outputs: 40
- test_sparse_autoencoder_layouts_give_the_same_model: 40
- test_k_sparse_fit_is_finite_and_loss_is_the_objective: 40
- test_k_sparse_outputs: 30
- test_k_sparse_layouts_give_the_same_model: 30
- test_stack_fit_is_finite_and_each_layer_loss_is_its_objective: 25
- test_stack_outputs: 20
- test_stack_layouts_give_the_same_model: 20
- test_classifier_fit_is_finite_and_loss_is_the_objective: 25
- test_classifier_outputs: 20
- test_classifier_layouts_give_the_same_model: 20
- test_zca_fit_and_outputs: 60
- test_zca_layouts_give_the_same_model: 40

Properties: ``fit`` gives finite weights, ``loss_`` and ``loss_curve_``;
``loss_`` is the objective recomputed from the fitted attributes (bitwise in
float64; in float32 up to the rounding of the stored weights in the weight
decay), with the masking noise the fit recorded, per layer for the stacks and
for the classifier's final stage; transform, inverse_transform, predict_proba,
decision_function and predict give finite values in range, in the package's
dtypes, and predict a class of highest probability; every dense layout
gives bitwise the C-ordered copy's model (except ZCAWhitener on Fortran
order: to rounding), sparse input the dense model's objective to rounding,
and the same fit where that is well conditioned (float64 with weight decay,
see FIT_RTOL).

The expected ConvergenceWarning (10 iterations rarely converge) is ignored
module-wide; any other warning is left to the suite's filters (RuntimeWarnings
from the package are errors there).
"""

import os
import tempfile

import numpy as np
import pytest
import scipy.sparse as sp
from _models import (
    AUTOENCODER_ATTRIBUTES,
    ZCA_ATTRIBUTES,
    assert_finite_autoencoder,
    assert_predicts_the_most_probable_class,
    autoencoder_loss,
    classifier_loss,
    recorded_masks,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.utils import check_array
from threadpoolctl import threadpool_limits

from sklearn_sae import (
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Data generation is the slow part of some examples; none is too large.
SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]


def cases(n):
    """Settings of a property test that runs ``n`` generated cases.

    Derandomized, without an example database: CI sees the same cases on
    every run.
    """
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=SLOW_DATA,
    )


FLOAT32_EPS = float(np.finfo(np.float32).eps)

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]
DENSE_LAYOUTS = ["C", "F", "strided", "column_slice", "memmap"]
SPARSE_LAYOUTS = ["csr_matrix", "csc_array"]
LAYOUTS = DENSE_LAYOUTS + SPARSE_LAYOUTS
# Layouts compared with the C-ordered copy, the sparse ones drawn half the time.
other_layouts = st.sampled_from(DENSE_LAYOUTS[1:] + SPARSE_LAYOUTS * 2)


@pytest.fixture(scope="module")
def memmap_dir(tmp_path_factory):
    """One folder for the module's memmaps.

    Module-scoped: hypothesis runs every example of a test inside one call of
    the test function, so a function-scoped fixture would be shared by the
    examples anyway; each memmap gets a file of its own.
    """
    return tmp_path_factory.mktemp("memmaps")


def as_layout(X, layout, directory):
    """``X`` (a C-ordered ndarray) with the same values in the given layout."""
    n, d = X.shape
    # Entries of the larger buffers that are not part of the view: NaN where
    # the dtype has one, so that reading them by mistake cannot go unnoticed.
    filler = np.nan if X.dtype.kind == "f" else (99 if X.dtype.kind == "i" else True)
    if layout == "C":
        return np.ascontiguousarray(X)
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        base = np.full((2 * n, 2 * d), filler, dtype=X.dtype)
        base[::2, ::2] = X
        return base[::2, ::2]
    if layout == "column_slice":
        base = np.full((n, d + 2), filler, dtype=X.dtype)
        base[:, 1:-1] = X
        return base[:, 1:-1]
    if layout == "memmap":
        handle, path = tempfile.mkstemp(suffix=".dat", dir=directory)
        os.close(handle)
        writer = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
        writer[...] = X
        writer.flush()
        del writer
        read_only = np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
        assert not read_only.flags.writeable
        return read_only
    if layout == "csr_matrix":
        return sp.csr_matrix(X)
    if layout == "csc_array":
        return sp.csc_array(X)
    raise AssertionError(layout)


def out_dtype(dtype):
    """The package's rule: float32 in, float32 out; anything else, float64."""
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


def fit_dtype(X):
    return out_dtype(X.dtype)


@st.composite
def arrays(draw, *, unit, min_samples=1, n_features=None, dtype=None):
    """A C-ordered array of up to 30 x 8 values; in [0, 1] if ``unit``."""
    n = draw(st.integers(min_samples, 30))
    d = n_features if n_features is not None else draw(st.integers(1, 8))
    if dtype is None:
        dtype = draw(st.sampled_from(DTYPES))
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind == "i":
        elements = st.integers(0, 1) if unit else st.integers(-5, 5)
    else:
        width = 8 * dtype.itemsize
        low, high = (0.0, 1.0) if unit else (-10.0, 10.0)
        elements = st.floats(low, high, width=width)
    return draw(hnp.arrays(dtype, (n, d), elements=elements))


# Parameter values inside the constraints: rho in (0, 1), beta, alpha, tol >= 0,
# corruption in [0, 1), n_components, k, max_iter >= 1.
rhos = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)
penalties = st.one_of(st.just(0.0), st.floats(0.0, 10.0))
tols = st.one_of(st.just(0.0), st.floats(0.0, 1.0))
seeds = st.integers(0, 2**32 - 1)
# In the layout tests, half the time every weight decay is set positive, the
# case where sparse and dense fits must agree closely (see FIT_RTOL).
decays = st.one_of(st.none(), st.floats(1e-4, 10.0))


def with_decay(params, decay):
    """``params`` with every weight decay set to ``decay`` (unless None)."""
    if decay is None:
        return params
    names = {"alpha", "softmax_alpha"} & set(params)
    return {**params, **dict.fromkeys(names, decay)}


max_iters = st.integers(1, 10)


@st.composite
def sparse_autoencoder_params(draw):
    return {
        "n_components": draw(st.integers(1, 4)),
        "rho": draw(rhos),
        "beta": draw(penalties),
        "alpha": draw(penalties),
        "decoder": draw(st.sampled_from(["sigmoid", "linear"])),
        "sparsity": draw(st.sampled_from(["kl", "l1"])),
        "tied_weights": draw(st.booleans()),
        "corruption": draw(
            st.one_of(st.just(0.0), st.floats(0.0, 1.0, exclude_max=True))
        ),
        "max_iter": draw(max_iters),
        "tol": draw(tols),
        "warm_start": draw(st.booleans()),
        "random_state": draw(seeds),
        "verbose": draw(st.sampled_from([0, False])),
    }


@st.composite
def k_sparse_params(draw):
    return {
        "n_components": draw(st.integers(1, 5)),
        "k": draw(st.integers(1, 6)),
        "alpha": draw(penalties),
        "max_iter": draw(max_iters),
        "tol": draw(tols),
        "warm_start": draw(st.booleans()),
        "random_state": draw(seeds),
        "verbose": 0,
    }


@st.composite
def per_layer(draw, values, n_layers):
    """One value for all layers, or one per layer (as a list or an array)."""
    if draw(st.booleans()):
        return draw(values)
    sequence = [draw(values) for _ in range(n_layers)]
    return np.asarray(sequence) if draw(st.booleans()) else sequence


@st.composite
def stack_params(draw, classifier=False):
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    hidden_layer_sizes = (
        sizes[0] if len(sizes) == 1 and draw(st.booleans()) else tuple(sizes)
    )
    params = {
        "hidden_layer_sizes": hidden_layer_sizes,
        "rho": draw(per_layer(rhos, len(sizes))),
        "beta": draw(per_layer(penalties, len(sizes))),
        "alpha": draw(per_layer(penalties, len(sizes))),
        "max_iter": draw(max_iters),
        "tol": draw(tols),
        "random_state": draw(seeds),
        "verbose": 0,
    }
    if classifier:
        params["softmax_alpha"] = draw(penalties)
        params["fine_tune"] = draw(st.booleans())
        params["fine_tune_max_iter"] = draw(st.one_of(st.none(), max_iters))
    return params


LABEL_SETS = [[0, 1], [-1, 1], [0, 1, 2], [3, 7, 11, 20], ["a", "b", "c"]]


@st.composite
def labels(draw, n_samples):
    """Class labels of ``n_samples >= 2`` samples, at least two classes."""
    classes = draw(st.sampled_from(LABEL_SETS))
    y = draw(st.lists(st.sampled_from(classes), min_size=n_samples, max_size=n_samples))
    y[0], y[1] = classes[0], classes[1]
    return np.asarray(y)


def float32_decay_slack(alpha, weights, dtype):
    """How far the decay term may move when the weights are rounded to float32.

    The fitted attributes are stored in the data's dtype, but ``loss_`` was
    computed from the float64 optimum: the data term runs in float32 on the
    rounded weights either way and is the same, while the weight decay
    ``alpha / 2 * ||w||^2`` is computed from the float64 vector. Rounding each
    weight to float32 changes ``w^2`` by at most about ``eps32 * w^2``, so the
    loss moves by at most ``alpha / 2 * eps32 * ||w||^2``: twice that is the
    bound used. In float64 the attributes are the optimum itself and the
    recomputed loss must be bitwise the same.
    """
    if dtype != np.float32:
        return 0.0
    squares = sum(float(np.vdot(w, w)) for w in weights for w in [w.astype(float)])
    return alpha * FLOAT32_EPS * squares


OBJECTIVE_OPTIONS = (
    "n_components",
    "rho",
    "beta",
    "alpha",
    "decoder",
    "sparsity",
    "tied_weights",
    "k",
)


def objective_loss(X, est, params, input_mask=None):
    """``loss_`` recomputed from the fitted attributes of ``est``.

    The objective's options are taken from the drawn ``params`` (those
    missing there from the estimator); ``input_mask`` is the masking noise
    the fit trained with, recorded by :func:`recorded_masks`.
    """
    options = {name: params[name] for name in OBJECTIVE_OPTIONS if name in params}
    return autoencoder_loss(est, X, input_mask=input_mask, **options)


def assert_loss_is_objective(loss, est, alpha, weights, dtype):
    if dtype == np.float64:
        assert loss == est.loss_
    else:
        assert abs(loss - est.loss_) <= float32_decay_slack(alpha, weights, dtype)


def fit_autoencoder(cls, X, params):
    """Fit (twice with ``warm_start``, the second fit continuing the first)."""
    est = cls(**params).fit(X)
    assert_finite_autoencoder(est)
    if params["warm_start"]:
        weights = [est.components_]
        if est.decoder_components_ is not est.components_:
            weights.append(est.decoder_components_)
        dtype = est.components_.dtype
        first_loss = est.loss_
        slack = float32_decay_slack(params["alpha"], weights, dtype)
        est.fit(X)
        assert_finite_autoencoder(est)
        # The second fit continued from the first one's solution, whose loss
        # L-BFGS cannot increase; the loss there is first_loss up to the
        # float32 rounding of the stored weights (float32_decay_slack). Not
        # with masking noise: the second fit draws another mask.
        if not params.get("corruption"):
            assert est.loss_ <= first_loss + slack
    return est


def assert_bitwise_same_autoencoder(est, ref, dtype):
    for name in AUTOENCODER_ATTRIBUTES:
        got, expected = getattr(est, name), getattr(ref, name)
        assert got.dtype == expected.dtype == dtype
        np.testing.assert_array_equal(got, expected, err_msg=name)
    assert est.loss_ == ref.loss_
    assert est.loss_curve_ == ref.loss_curve_
    assert est.n_iter_ == ref.n_iter_


# Sparse input goes through scipy's sparse products where dense input goes
# through BLAS: the objective is the same function, rounded differently. Each
# sum of the forward pass is then off by a few ulps of its magnitude, at most
# ``scale`` (see forward_scale); a loss term moves by that times its
# sensitivity: sqrt(2 d L) for the squared error L (Cauchy-Schwarz over the
# residuals), at most 1 per unit for the sparsity penalties (beta h) and 2
# for the cross-entropy. OBJECTIVE_ULPS covers the few ulps and the
# constants, with a wide margin.
OBJECTIVE_ULPS = 64


def forward_scale(X, layers):
    """A bound on the magnitude of the sums of a forward pass through ``layers``.

    ``layers`` are ``(W, b)`` with ``W`` of shape (n_out, n_in).
    """
    X = X.data if sp.issparse(X) else X
    scale = 1.0 + float(np.max(np.abs(X), initial=0.0))
    for W, b in layers:
        row_sums = np.abs(W.astype(float)).sum(axis=1)
        scale = 1.0 + scale * float(np.max(row_sums)) + float(np.max(np.abs(b)))
    return scale


def assert_same_objective(loss, ref_loss, slack, dtype, scale, sensitivity):
    """``loss`` (sparse input) is ``ref_loss`` (dense) up to rounding."""
    eps = float(np.finfo(dtype).eps)
    terms = abs(ref_loss) + scale * (np.sqrt(abs(ref_loss)) + sensitivity)
    assert abs(loss - ref_loss) <= slack + OBJECTIVE_ULPS * eps * terms


# Along a fit those differences are amplified by the optimizer, all the more
# the worse conditioned the problem is: without weight decay (flat
# directions), and in float32, where L-BFGS (in float64) follows a float32
# objective whose rounding noise decides line searches. There the fit is
# chaotic: a 1-ulp change of one input entry moves a float32 classifier's
# coefficients by O(1), so no closeness of the sparse and dense fits holds.
# With float64 data and weight decay on every layer the fits agree to
# FIT_RTOL, far above double rounding and far below any real discrepancy.
FIT_RTOL = 1e-6


def assert_close_fit(got, expected, name):
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(
        got, expected, rtol=FIT_RTOL, atol=FIT_RTOL * scale, err_msg=name
    )


def autoencoder_scale(X, est):
    return forward_scale(
        X,
        [
            (est.components_, est.intercept_hidden_),
            (est.decoder_components_.T, est.intercept_visible_),
        ],
    )


def assert_sparse_autoencoder_matches_dense(
    est, ref, X_sparse, params, dtype, input_mask=None
):
    """The sparse fit ``est`` is the dense fit ``ref`` (with ``input_mask``)
    up to rounding."""
    # The same objective: the dense model's loss, recomputed on sparse input.
    loss = objective_loss(X_sparse, ref, params, input_mask)
    weights = [ref.components_]
    if not params["tied_weights"]:
        weights.append(ref.decoder_components_)
    slack = float32_decay_slack(params["alpha"], weights, dtype)
    scale = autoencoder_scale(X_sparse, ref)
    sensitivity = np.sqrt(X_sparse.shape[1]) + params.get("beta", 0.0) * len(
        ref.intercept_hidden_
    )
    assert_same_objective(loss, ref.loss_, slack, dtype, scale, sensitivity)
    for name in AUTOENCODER_ATTRIBUTES:
        assert getattr(est, name).dtype == dtype
    # The same fit, where the fit is well conditioned (see FIT_RTOL).
    if dtype == np.float64 and params["alpha"] > 0:
        for name in AUTOENCODER_ATTRIBUTES:
            assert_close_fit(getattr(est, name), getattr(ref, name), name)
        assert_close_fit(est.loss_, ref.loss_, "loss_")


# --------------------------------------------------------------------------
# SparseAutoencoder


@cases(60)
@given(
    X=arrays(unit=True),
    layout=st.sampled_from(LAYOUTS),
    params=sparse_autoencoder_params(),
)
def test_sparse_autoencoder_fit_is_finite_and_loss_is_the_objective(
    memmap_dir, X, layout, params
):
    """Finite fit; ``loss_`` is the objective at the fitted attributes."""
    X_in = as_layout(X, layout, memmap_dir)
    with recorded_masks() as masks:
        est = fit_autoencoder(SparseAutoencoder, X_in, params)
    dtype = fit_dtype(X)
    assert est.components_.dtype == dtype
    # The mask of the last fit (a warm start draws another one).
    loss = objective_loss(X_in, est, params, masks[-1])
    weights = [est.components_]
    if not params["tied_weights"]:
        weights.append(est.decoder_components_)
    assert_loss_is_objective(loss, est, params["alpha"], weights, dtype)


@cases(40)
@given(data=st.data(), params=sparse_autoencoder_params())
def test_sparse_autoencoder_outputs(memmap_dir, data, params):
    """Codes in [0, 1]; sigmoid reconstructions in [0, 1]; dtypes kept."""
    X = data.draw(arrays(unit=params["decoder"] == "sigmoid"), label="X")
    est = SparseAutoencoder(**params).fit(X)
    # New data, of any dtype and layout, and of any range for the encoder.
    X_new = data.draw(arrays(unit=False, n_features=X.shape[1]), label="X_new")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    H = est.transform(as_layout(X_new, layout, memmap_dir))
    assert H.dtype == out_dtype(X_new.dtype)
    assert H.shape == (X_new.shape[0], params["n_components"])
    assert np.all((H >= 0) & (H <= 1))

    # Codes of any dtype and dense layout.
    codes = data.draw(
        arrays(unit=True, n_features=params["n_components"]), label="codes"
    )
    code_layout = data.draw(st.sampled_from(DENSE_LAYOUTS), label="code_layout")
    for H_in in (H, as_layout(codes, code_layout, memmap_dir)):
        X_hat = est.inverse_transform(H_in)
        assert X_hat.dtype == out_dtype(H_in.dtype)
        assert X_hat.shape == (H_in.shape[0], X.shape[1])
        assert np.all(np.isfinite(X_hat))
        if params["decoder"] == "sigmoid":
            assert np.all((X_hat >= 0) & (X_hat <= 1))


@cases(40)
@given(
    X=arrays(unit=True),
    layout=other_layouts,
    decay=decays,
    params=sparse_autoencoder_params(),
)
def test_sparse_autoencoder_layouts_give_the_same_model(
    memmap_dir, X, layout, decay, params
):
    """Dense layouts: bitwise the C-ordered copy's model; sparse: to rounding."""
    params = with_decay({**params, "warm_start": False}, decay)
    X_in = as_layout(X, layout, memmap_dir)
    with recorded_masks() as masks:
        ref = SparseAutoencoder(**params).fit(np.ascontiguousarray(X))
        est = SparseAutoencoder(**params).fit(X_in)
    # The masking noise does not depend on the layout either.
    if params["corruption"]:
        np.testing.assert_array_equal(masks[1], masks[0])
    if layout in DENSE_LAYOUTS:
        assert_bitwise_same_autoencoder(est, ref, fit_dtype(X))
    else:
        assert_sparse_autoencoder_matches_dense(
            est, ref, X_in, params, fit_dtype(X), input_mask=masks[0]
        )


# --------------------------------------------------------------------------
# KSparseAutoencoder


def k_sparse_objective_params(params):
    return {**params, "tied_weights": True, "decoder": "linear"}


@cases(40)
@given(
    X=arrays(unit=False),
    layout=st.sampled_from(LAYOUTS),
    params=k_sparse_params(),
)
def test_k_sparse_fit_is_finite_and_loss_is_the_objective(
    memmap_dir, X, layout, params
):
    X_in = as_layout(X, layout, memmap_dir)
    est = fit_autoencoder(KSparseAutoencoder, X_in, params)
    assert est.decoder_components_ is est.components_
    dtype = fit_dtype(X)
    loss = objective_loss(X_in, est, k_sparse_objective_params(params))
    assert_loss_is_objective(loss, est, params["alpha"], [est.components_], dtype)


@cases(30)
@given(data=st.data(), params=k_sparse_params())
def test_k_sparse_outputs(memmap_dir, data, params):
    """At most k non-zero codes per row; finite outputs; dtypes kept."""
    X = data.draw(arrays(unit=False), label="X")
    est = KSparseAutoencoder(**params).fit(X)
    X_new = data.draw(arrays(unit=False, n_features=X.shape[1]), label="X_new")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    H = est.transform(as_layout(X_new, layout, memmap_dir))
    assert H.dtype == out_dtype(X_new.dtype)
    assert H.shape == (X_new.shape[0], params["n_components"])
    assert np.all(np.isfinite(H))
    assert np.all(np.count_nonzero(H, axis=1) <= params["k"])
    X_hat = est.inverse_transform(H)
    assert X_hat.dtype == H.dtype
    assert X_hat.shape == X_new.shape
    assert np.all(np.isfinite(X_hat))


@cases(30)
@given(
    X=arrays(unit=False),
    layout=other_layouts,
    decay=decays,
    params=k_sparse_params(),
)
def test_k_sparse_layouts_give_the_same_model(memmap_dir, X, layout, decay, params):
    params = with_decay({**params, "warm_start": False}, decay)
    ref = KSparseAutoencoder(**params).fit(np.ascontiguousarray(X))
    X_in = as_layout(X, layout, memmap_dir)
    est = KSparseAutoencoder(**params).fit(X_in)
    if layout in DENSE_LAYOUTS:
        assert_bitwise_same_autoencoder(est, ref, fit_dtype(X))
    else:
        assert_sparse_autoencoder_matches_dense(
            est, ref, X_in, k_sparse_objective_params(params), fit_dtype(X)
        )


# --------------------------------------------------------------------------
# StackedSparseAutoencoder


def layer_settings(params, n_layers):
    """``(rho, beta, alpha)`` of each layer, from scalars or sequences."""
    values = {
        name: np.broadcast_to(np.asarray(params[name], dtype=float), (n_layers,))
        for name in ("rho", "beta", "alpha")
    }
    return [
        {name: float(values[name][layer]) for name in values}
        for layer in range(n_layers)
    ]


def assert_layers_losses_are_their_objectives(est, X_in, params):
    """Each layer's ``loss_`` is its objective on the features below it."""
    H = check_array(
        X_in, accept_sparse="csr", dtype=(np.float64, np.float32), order="C"
    )
    dtype = H.dtype
    n_layers = len(est.autoencoders_)
    for sae, layer in zip(
        est.autoencoders_, layer_settings(params, n_layers), strict=True
    ):
        assert_finite_autoencoder(sae)
        assert sae.components_.dtype == dtype
        layer_params = {
            **layer,
            "n_components": sae.n_components,
            "tied_weights": False,
            "decoder": "sigmoid",
        }
        loss = objective_loss(H, sae, layer_params)
        weights = [sae.components_, sae.decoder_components_]
        assert_loss_is_objective(loss, sae, layer["alpha"], weights, dtype)
        with threadpool_limits(limits=1, user_api="blas"):  # as in fit
            H = sae.transform(H)


def n_layers_of(params):
    return len(np.atleast_1d(params["hidden_layer_sizes"]))


@cases(25)
@given(
    X=arrays(unit=True),
    layout=st.sampled_from(LAYOUTS),
    params=stack_params(),
)
def test_stack_fit_is_finite_and_each_layer_loss_is_its_objective(
    memmap_dir, X, layout, params
):
    X_in = as_layout(X, layout, memmap_dir)
    est = StackedSparseAutoencoder(**params).fit(X_in)
    assert len(est.autoencoders_) == n_layers_of(params)
    assert est.n_iter_ == sum(sae.n_iter_ for sae in est.autoencoders_)
    assert_layers_losses_are_their_objectives(est, X_in, params)


@cases(20)
@given(data=st.data(), params=stack_params())
def test_stack_outputs(memmap_dir, data, params):
    X = data.draw(arrays(unit=True), label="X")
    est = StackedSparseAutoencoder(**params).fit(X)
    n_top = est.autoencoders_[-1].n_components
    X_new = data.draw(arrays(unit=False, n_features=X.shape[1]), label="X_new")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    H = est.transform(as_layout(X_new, layout, memmap_dir))
    assert H.dtype == out_dtype(X_new.dtype)
    assert H.shape == (X_new.shape[0], n_top)
    assert np.all((H >= 0) & (H <= 1))
    codes = data.draw(arrays(unit=True, n_features=n_top), label="codes")
    code_layout = data.draw(st.sampled_from(DENSE_LAYOUTS), label="code_layout")
    for H_in in (H, as_layout(codes, code_layout, memmap_dir)):
        X_hat = est.inverse_transform(H_in)
        assert X_hat.dtype == out_dtype(H_in.dtype)
        assert X_hat.shape == (H_in.shape[0], X.shape[1])
        assert np.all((X_hat >= 0) & (X_hat <= 1))


@cases(20)
@given(
    X=arrays(unit=True),
    layout=other_layouts,
    decay=decays,
    params=stack_params(),
)
def test_stack_layouts_give_the_same_model(memmap_dir, X, layout, decay, params):
    params = with_decay(params, decay)
    ref = StackedSparseAutoencoder(**params).fit(np.ascontiguousarray(X))
    X_in = as_layout(X, layout, memmap_dir)
    est = StackedSparseAutoencoder(**params).fit(X_in)
    assert_same_stack(est, ref, X_in, layout, params, fit_dtype(X))


def assert_same_stack(est, ref, X_in, layout, params, dtype):
    """Bitwise for dense layouts; for sparse, as for one autoencoder.

    Only the first layer sees the sparse input: its objective is checked as
    :func:`assert_sparse_autoencoder_matches_dense` does, and every layer's
    fit where it is well conditioned.
    """
    pairs = list(zip(est.autoencoders_, ref.autoencoders_, strict=True))
    if layout in DENSE_LAYOUTS:
        for sae, sae_ref in pairs:
            assert_bitwise_same_autoencoder(sae, sae_ref, dtype)
        return
    layers = layer_settings(params, len(pairs))
    first = ref.autoencoders_[0]
    first_params = {
        **layers[0],
        "n_components": first.n_components,
        "tied_weights": False,
        "decoder": "sigmoid",
    }
    loss = objective_loss(X_in, first, first_params)
    slack = float32_decay_slack(
        layers[0]["alpha"], [first.components_, first.decoder_components_], dtype
    )
    sensitivity = np.sqrt(X_in.shape[1]) + layers[0]["beta"] * first.n_components
    scale = autoencoder_scale(X_in, first)
    assert_same_objective(loss, first.loss_, slack, dtype, scale, sensitivity)
    if dtype == np.float64 and all(layer["alpha"] > 0 for layer in layers):
        for sae, sae_ref in pairs:
            for name in AUTOENCODER_ATTRIBUTES:
                assert_close_fit(getattr(sae, name), getattr(sae_ref, name), name)
            assert_close_fit(sae.loss_, sae_ref.loss_, "loss_")


# --------------------------------------------------------------------------
# StackedSparseAutoencoderClassifier


@st.composite
def classification_data(draw):
    X = draw(arrays(unit=True, min_samples=2))
    return X, draw(labels(X.shape[0]))


def classifier_objective_loss(est, X_in, y, params):
    """The classifier's ``loss_`` recomputed from its fitted attributes."""
    return classifier_loss(
        est,
        X_in,
        y,
        fine_tune=params["fine_tune"],
        softmax_alpha=params["softmax_alpha"],
    )


@cases(25)
@given(
    Xy=classification_data(),
    layout=st.sampled_from(LAYOUTS),
    params=stack_params(classifier=True),
)
def test_classifier_fit_is_finite_and_loss_is_the_objective(
    memmap_dir, Xy, layout, params
):
    X, y = Xy
    X_in = as_layout(X, layout, memmap_dir)
    est = StackedSparseAutoencoderClassifier(**params).fit(X_in, y)
    dtype = fit_dtype(X)
    n_layers = n_layers_of(params)
    assert len(est.coefs_) == len(est.intercepts_) == n_layers + 1
    for W in [*est.coefs_, *est.intercepts_]:
        assert W.dtype == dtype
        assert np.all(np.isfinite(W))
    assert np.isfinite(est.loss_)
    assert np.all(np.isfinite(est.loss_curve_))
    assert len(est.loss_curve_) == est.softmax_n_iter_ + est.fine_tune_n_iter_
    assert_layers_losses_are_their_objectives(est, X_in, params)

    loss = classifier_objective_loss(est, X_in, y, params)
    assert_loss_is_objective(loss, est, params["softmax_alpha"], est.coefs_[-1:], dtype)


@cases(20)
@given(data=st.data(), Xy=classification_data(), params=stack_params(classifier=True))
def test_classifier_outputs(memmap_dir, data, Xy, params):
    """Probabilities in [0, 1] summing to 1; known classes; dtypes kept."""
    X, y = Xy
    est = StackedSparseAutoencoderClassifier(**params).fit(X, y)
    classes = np.unique(y)
    np.testing.assert_array_equal(est.classes_, classes)
    X_new = data.draw(arrays(unit=False, n_features=X.shape[1]), label="X_new")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    X_in = as_layout(X_new, layout, memmap_dir)
    dtype = out_dtype(X_new.dtype)
    n, n_classes = X_new.shape[0], len(classes)

    P = est.predict_proba(X_in)
    assert P.dtype == dtype
    assert P.shape == (n, n_classes)
    assert np.all((P >= 0) & (P <= 1))
    # exp(log-softmax): each of the K terms is off by a few ulps at most.
    atol = 8 * n_classes * float(np.finfo(dtype).eps)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=atol)

    scores = est.decision_function(X_in)
    assert scores.dtype == dtype
    assert scores.shape == ((n,) if n_classes == 2 else (n, n_classes))
    assert np.all(np.isfinite(scores))

    predicted = est.predict(X_in)
    assert predicted.shape == (n,)
    assert_predicts_the_most_probable_class(est, X_in)


@cases(20)
@given(
    Xy=classification_data(),
    layout=other_layouts,
    decay=decays,
    params=stack_params(classifier=True),
)
def test_classifier_layouts_give_the_same_model(memmap_dir, Xy, layout, decay, params):
    params = with_decay(params, decay)
    X, y = Xy
    ref = StackedSparseAutoencoderClassifier(**params).fit(np.ascontiguousarray(X), y)
    X_in = as_layout(X, layout, memmap_dir)
    est = StackedSparseAutoencoderClassifier(**params).fit(X_in, y)
    dtype = fit_dtype(X)
    n_layers = n_layers_of(params)
    assert_same_stack(est, ref, X_in, layout, params, dtype)
    names = ["coefs_", "intercepts_", "pretrained_coefs_", "pretrained_intercepts_"]
    exact = layout in DENSE_LAYOUTS
    if not exact:
        # The same objective: the dense model's loss on the sparse input.
        loss = classifier_objective_loss(ref, X_in, y, params)
        slack = float32_decay_slack(params["softmax_alpha"], ref.coefs_[-1:], dtype)
        scale = forward_scale(
            X_in, [(W.T, b) for W, b in zip(ref.coefs_, ref.intercepts_, strict=True)]
        )
        assert_same_objective(loss, ref.loss_, slack, dtype, scale, 2.0)
    well_conditioned = (
        dtype == np.float64
        and params["softmax_alpha"] > 0
        and all(layer["alpha"] > 0 for layer in layer_settings(params, n_layers))
    )
    for name in names:
        for got, expected in zip(getattr(est, name), getattr(ref, name), strict=True):
            assert got.dtype == expected.dtype == dtype
            if exact:
                np.testing.assert_array_equal(got, expected, err_msg=name)
            elif well_conditioned:
                assert_close_fit(got, expected, name)
    if exact:
        assert est.loss_ == ref.loss_
        assert est.loss_curve_ == ref.loss_curve_
    elif well_conditioned:
        assert_close_fit(est.loss_, ref.loss_, "loss_")


# --------------------------------------------------------------------------
# ZCAWhitener

epsilons = st.one_of(st.just(0.0), st.floats(0.0, 10.0))


@cases(60)
@given(
    data=st.data(),
    X=arrays(unit=False),
    layout=st.sampled_from(DENSE_LAYOUTS),
    epsilon=epsilons,
    copy=st.booleans(),
)
def test_zca_fit_and_outputs(memmap_dir, data, X, layout, epsilon, copy):
    """Finite fitted arrays and outputs in the data's dtype; sparse refused."""
    zca = ZCAWhitener(epsilon=epsilon, copy=copy)
    n, d = X.shape
    X_in = as_layout(X, layout, memmap_dir)
    if epsilon == 0 and n <= d:
        # n <= d centred samples span at most n - 1 < d dimensions: without
        # regularisation they cannot be whitened, and fit must say so.
        with pytest.raises(ValueError, match="cannot whiten"):
            zca.fit(X_in)
        return
    # fit refuses eigenvalue + epsilon below d * eps * (largest eigenvalue),
    # or below what keeps 1 / sqrt(eigenvalue + epsilon) finite in float32;
    # clearly above that limit it must whiten, near it either outcome is
    # right (it depends on the rounding of the eigenvalues).
    s = np.linalg.eigvalsh(np.atleast_2d(np.cov(X.T.astype(float), bias=True)))
    limit = max(
        d * float(np.finfo(np.float64).eps) * s[-1],
        (2 * d / float(np.finfo(np.float32).max)) ** 2,
    )
    must_fit = epsilon > 2 * limit or s[0] > 1e-6 * s[-1] + 2 * limit
    try:
        zca.fit(X_in)
    except ValueError:
        if must_fit:
            raise
        return
    dtype = fit_dtype(X)
    for name in ZCA_ATTRIBUTES:
        value = getattr(zca, name)
        assert value.dtype == dtype, name
        assert np.all(np.isfinite(value)), name
    assert np.all(zca.explained_variance_ >= 0)
    np.testing.assert_array_equal(zca.whitening_, zca.whitening_.T)

    X_new = data.draw(arrays(unit=False, n_features=d), label="X_new")
    new_layout = data.draw(st.sampled_from(DENSE_LAYOUTS), label="new_layout")
    X_in = as_layout(X_new, new_layout, memmap_dir)
    X_white = zca.transform(X_in)
    assert X_white.dtype == out_dtype(X_new.dtype)
    assert X_white.shape == X_new.shape
    X_back = zca.inverse_transform(X_white)
    assert X_back.dtype == X_white.dtype
    # Finite wherever the products cannot overflow the output's dtype (with
    # a tiny epsilon the whitening matrix may reach float32's range).
    big = float(np.finfo(X_white.dtype).max) / 4
    centred = np.abs(X_new - zca.mean_.astype(float)).max()
    white_bound = centred * np.abs(zca.whitening_.astype(float)).sum(axis=0).max()
    if white_bound < big:
        assert np.all(np.isfinite(X_white))
        dewhitening = np.abs(zca.dewhitening_.astype(float)).sum(axis=0).max()
        back_bound = white_bound * dewhitening + np.abs(zca.mean_).max()
        if back_bound < big:
            assert np.all(np.isfinite(X_back))

    sparse = as_layout(X_new, data.draw(st.sampled_from(SPARSE_LAYOUTS)), None)
    with pytest.raises(TypeError, match=r"(?i)sparse"):
        zca.transform(sparse)
    with pytest.raises(TypeError, match=r"(?i)sparse"):
        ZCAWhitener(epsilon=epsilon).fit(sparse)


@cases(40)
@given(
    X=arrays(unit=False),
    layout=st.sampled_from(DENSE_LAYOUTS[1:]),
    epsilon=st.floats(1e-3, 10.0),
)
def test_zca_layouts_give_the_same_model(memmap_dir, X, layout, epsilon):
    """Bitwise for the C-ordered views; to rounding for Fortran order.

    Fortran-ordered data are not copied: the column means and the covariance
    products run along the other axis, rounded differently (1 ulp on the mean
    in about a third of the cases).
    """
    ref = ZCAWhitener(epsilon=epsilon).fit(np.ascontiguousarray(X))
    zca = ZCAWhitener(epsilon=epsilon).fit(as_layout(X, layout, memmap_dir))
    if layout != "F":
        for name in ZCA_ATTRIBUTES:
            np.testing.assert_array_equal(
                getattr(zca, name), getattr(ref, name), err_msg=name
            )
        return
    # The two covariances differ by rounding, delta; eigenvalues move by at
    # most delta (Weyl), and f(cov) by at most max |f'| * delta for
    # f(s) = 1 / sqrt(s + epsilon) (whitening_) or sqrt(s + epsilon)
    # (dewhitening_), whatever the eigenvectors do. components_ is left out:
    # within a cluster of equal eigenvalues its rows are arbitrary.
    n, d = X.shape
    scale = max(1.0, float(np.max(np.abs(X.astype(float)))))
    delta = 64 * n * d * float(np.finfo(np.float64).eps) * scale**2
    rtol = 2 * float(np.finfo(fit_dtype(X)).eps)  # the final cast, 1 ulp
    bounds = {
        "mean_": delta,
        "explained_variance_": delta,
        "whitening_": delta * epsilon**-1.5,
        "dewhitening_": delta * epsilon**-0.5,
    }
    for name, atol in bounds.items():
        np.testing.assert_allclose(
            getattr(zca, name), getattr(ref, name), rtol=rtol, atol=atol, err_msg=name
        )
