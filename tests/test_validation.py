"""Bad input and invalid parameters are refused with errors that name the problem.

Every public estimator, every public method and every constructor parameter:
the lists below are built from ``sklearn_sae.__all__``, from the methods each
class has and from each estimator's ``_parameter_constraints``, so that an
estimator, a method or a parameter added later is tested too. Then the
messages of the per-layer parameters of the stacks, the methods of a model not
fitted yet, and the bad input and parameters of ``normalize_patches``.
"""

import functools
import re
from numbers import Integral, Real

import numpy as np
import pytest
import scipy.sparse as sp
from _models import fit_quietly
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
)

import sklearn_sae
from sklearn_sae import (
    ConvolutionalFeatures,
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)
from sklearn_sae.preprocessing import normalize_patches
from sklearn_sae.utils._param_validation import StrictInterval

X_TRAIN = np.random.RandomState(0).uniform(size=(40, 6))
Y_TRAIN = np.arange(40) % 3
N_FEATURES = X_TRAIN.shape[1]

# Tiny models: every call below fails in validation, before any training, but
# the fixtures fit each estimator once to test the methods of a fitted model.
LAYERS = (5, 3)
ESTIMATORS = {
    "SparseAutoencoder": SparseAutoencoder(n_components=4, max_iter=5, random_state=0),
    "KSparseAutoencoder": KSparseAutoencoder(
        n_components=4, k=2, max_iter=5, random_state=0
    ),
    "StackedSparseAutoencoder": StackedSparseAutoencoder(
        LAYERS, max_iter=5, random_state=0
    ),
    "StackedSparseAutoencoderClassifier": StackedSparseAutoencoderClassifier(
        LAYERS, max_iter=5, random_state=0
    ),
    "ZCAWhitener": ZCAWhitener(),
    # Rows of 6 features are images of one row (image_shape=None).
    "ConvolutionalFeatures": ConvolutionalFeatures(
        SparseAutoencoder(n_components=3, max_iter=5, random_state=0),
        patch_size=1,
        pooling_grid=(1, 1),
        n_patches=50,
        random_state=0,
    ),
}
METHODS = [
    "fit",
    "fit_transform",
    "transform",
    "inverse_transform",
    "score",
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
]
SUPERVISED = {"StackedSparseAutoencoderClassifier"}


def _is_classifier(name):
    return name in SUPERVISED


def test_every_public_estimator_is_covered():
    public = {
        name
        for name in sklearn_sae.__all__
        if isinstance(getattr(sklearn_sae, name), type)
        and hasattr(getattr(sklearn_sae, name), "fit")
    }
    assert public == set(ESTIMATORS)
    for name, estimator in ESTIMATORS.items():
        assert type(estimator).__name__ == name
        assert (name in SUPERVISED) == hasattr(estimator, "predict")


@pytest.fixture(scope="module")
def fitted():
    """Each estimator fitted once on the tiny training set."""
    return {
        name: fit_quietly(clone(estimator), X_TRAIN, Y_TRAIN)
        for name, estimator in ESTIMATORS.items()
    }


# --- bad X, for every method --------------------------------------------------


def _bad_inputs(width):
    """(id, X, error, regex) of bad inputs for a method expecting ``width``."""
    good = np.full((4, width), 0.5)

    def with_value(value):
        X = good.copy()
        X[1, width - 1] = value
        return X

    return [
        ("nan", with_value(np.nan), ValueError, r"Input X contains NaN"),
        ("inf", with_value(np.inf), ValueError, r"Input X contains infinity"),
        ("-inf", with_value(-np.inf), ValueError, r"Input X contains infinity"),
        ("1d", good[0], ValueError, r"Expected 2D array, got 1D array"),
        ("3d", good[None], ValueError, r"Found array with dim 3"),
        ("scalar", 0.5, ValueError, r"Expected 2D array, got scalar array"),
        ("strings", np.full((4, width), "a"), ValueError, r"could not convert string"),
        ("lists-of-str", [["a"] * width] * 4, ValueError, r"could not convert str"),
        ("complex", good + 1j, ValueError, r"Complex data not supported"),
        ("None", None, ValueError, r"got None instead: \w+ needs X.* X is None"),
        ("0-samples", good[:0], ValueError, r"Found array with 0 sample\(s\)"),
        ("0-features", good[:, :0], ValueError, r"Found array with 0 feature\(s\)"),
    ]


def _method_cases():
    for name, estimator in ESTIMATORS.items():
        for method in METHODS:
            if hasattr(estimator, method):
                yield name, method


METHOD_CASES = list(_method_cases())
BAD_INPUT_IDS = [case[0] for case in _bad_inputs(N_FEATURES)]


def _expected_width(model, method):
    """Number of columns ``method`` expects: the output width for decoders."""
    if method == "inverse_transform":
        return model.transform(X_TRAIN[:2]).shape[1]
    return N_FEATURES


def _call(fitted, name, method, X, y=None):
    """Call ``method`` on a fresh estimator (fit) or the fitted one."""
    if method in ("fit", "fit_transform"):
        model = clone(ESTIMATORS[name])
    else:
        model = fitted[name]
    args = (X,)
    if _is_classifier(name) and method in ("fit", "score"):
        if y is None:
            y = Y_TRAIN[: len(X)] if np.ndim(X) == 2 else Y_TRAIN[:4]
        args = (X, y)
    return getattr(model, method)(*args)


def test_the_method_cases_cover_every_method():
    assert {case for case in METHOD_CASES} >= {
        ("SparseAutoencoder", "inverse_transform"),
        ("StackedSparseAutoencoder", "inverse_transform"),
        ("ZCAWhitener", "inverse_transform"),
        ("StackedSparseAutoencoderClassifier", "predict_log_proba"),
        ("StackedSparseAutoencoderClassifier", "decision_function"),
    }
    assert len(METHOD_CASES) == 5 + 5 + 5 + 6 + 4 + 3


@pytest.mark.parametrize("bad", BAD_INPUT_IDS)
@pytest.mark.parametrize(("name", "method"), METHOD_CASES)
def test_bad_input_is_rejected_with_its_reason(fitted, name, method, bad):
    width = _expected_width(fitted[name], method)
    (case,) = [case for case in _bad_inputs(width) if case[0] == bad]
    _, X, error, match = case
    with pytest.raises(error, match=match):
        _call(fitted, name, method, X)


@pytest.mark.parametrize("delta", [-1, 1], ids=["narrow", "wide"])
@pytest.mark.parametrize(
    ("name", "method"),
    [case for case in METHOD_CASES if case[1] not in ("fit", "fit_transform")],
)
def test_wrong_number_of_features_is_named(fitted, name, method, delta):
    width = _expected_width(fitted[name], method)
    X = np.full((4, width + delta), 0.5)
    # One message format for every method; inverse_transform says what the
    # width it expects is.
    where = r"\.inverse_transform" if method == "inverse_transform" else ""
    what = r" \(.+\)" if method == "inverse_transform" else ""
    match = (
        rf"^X has {width + delta} features, but {name}{where} is expecting "
        rf"{width} features{what} as input\.$"
    )
    with pytest.raises(ValueError, match=match):
        _call(fitted, name, method, X)


def test_inverse_transform_messages_say_what_the_width_is(fitted):
    cases = {
        "SparseAutoencoder": "n_components",
        "KSparseAutoencoder": "n_components",
        "StackedSparseAutoencoder": "the width of the top layer",
        "ZCAWhitener": "n_features_in_",
    }
    for name, what in cases.items():
        with pytest.raises(ValueError, match=re.escape(f"features ({what}) as")):
            fitted[name].inverse_transform(np.full((2, 9), 0.5))


@pytest.mark.parametrize(
    ("name", "method"),
    [case for case in METHOD_CASES if case[1] not in ("fit", "fit_transform")]
    + [
        (name, "get_feature_names_out") for name in ESTIMATORS if name not in SUPERVISED
    ],
)
def test_methods_of_an_unfitted_model_say_so(name, method):
    model = clone(ESTIMATORS[name])
    if method == "get_feature_names_out":
        call = model.get_feature_names_out
    else:
        call = functools.partial(_call, {name: model}, name, method, X_TRAIN[:4])
    with pytest.raises(NotFittedError, match=rf"This {name} instance is not fitted"):
        call()


@pytest.mark.parametrize(
    "method", ["fit", "fit_transform", "transform", "inverse_transform"]
)
def test_whitening_refuses_sparse_input(fitted, method):
    # The other estimators take CSR input; ZCAWhitener's products are dense.
    model = ZCAWhitener() if method.startswith("fit") else fitted["ZCAWhitener"]
    with pytest.raises(TypeError, match=r"Sparse data was passed for X, but dense"):
        getattr(model, method)(sp.csr_matrix(X_TRAIN))


# --- bad y of the classifier ---------------------------------------------------

CLASSIFIER = "StackedSparseAutoencoderClassifier"


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        pytest.param(
            np.where(Y_TRAIN == 1, np.nan, Y_TRAIN),
            ValueError,
            r"Input y contains NaN",
            id="nan",
        ),
        pytest.param(
            np.where(Y_TRAIN == 1, np.inf, Y_TRAIN),
            ValueError,
            r"Input y contains infinity",
            id="inf",
        ),
        pytest.param(
            np.full(40, 7),
            ValueError,
            r"needs samples of at least 2 classes, but the data contain only one "
            r"class: 7\.",
            id="one-class",
        ),
        pytest.param(
            np.array(["a"] * 40),
            ValueError,
            r"at least 2 classes, but the data contain only one class: 'a'\.",
            id="one-string-class",
        ),
        pytest.param(
            np.linspace(0, 1, 40),
            ValueError,
            r"Unknown label type: continuous",
            id="continuous",
        ),
        pytest.param(
            Y_TRAIN[:-1],
            ValueError,
            r"inconsistent numbers of samples: \[40, 39\]",
            id="too-short",
        ),
        pytest.param(
            np.r_[Y_TRAIN, 0],
            ValueError,
            r"inconsistent numbers of samples: \[40, 41\]",
            id="too-long",
        ),
        pytest.param(
            np.c_[Y_TRAIN, Y_TRAIN], ValueError, r"y should be a 1d array", id="2d"
        ),
        pytest.param(None, ValueError, r"requires y to be passed", id="None"),
        pytest.param(
            np.array(["a", None] * 20, dtype=object),
            TypeError,
            r"class labels of one kind.*y mixes NoneType, str",
            id="mixed-types",
        ),
        pytest.param(
            Y_TRAIN + 1j, ValueError, r"Complex data not supported", id="complex"
        ),
    ],
)
def test_classifier_rejects_bad_labels(y, error, match):
    with pytest.raises(error, match=match):
        clone(ESTIMATORS[CLASSIFIER]).fit(X_TRAIN, y)


def test_classifier_score_rejects_labels_of_the_wrong_length(fitted):
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        fitted[CLASSIFIER].score(X_TRAIN, Y_TRAIN[:-3])


# --- invalid constructor parameters --------------------------------------------

# The parameter of the stacks that sets the number of layers, whose length
# may be anything; the other sequence-valued parameters take one value per
# layer.
LAYER_SIZES = "hidden_layer_sizes"


def _outside(interval):
    """Values an Interval of this package refuses: wrong types and out of range."""
    values = ["1", True, False, np.nan, np.inf, -np.inf]
    if interval.type is Integral:
        # A fraction, and a whole number of the wrong type.
        values += [2.5, 10.0]
    for bound, side in ((interval.left, "left"), (interval.right, "right")):
        if bound is None:
            continue
        step = -1 if side == "left" else 1
        values.append(bound + step)
        if interval.closed not in (side, "both"):
            values.append(bound)
    if interval.left is not None and interval.left > -1:
        values.append(-1)
    # Keep one of each (e.g. -1 can also be left - 1), in order.
    unique = []
    for value in values:
        if not any(type(value) is type(u) and repr(value) == repr(u) for u in unique):
            unique.append(value)
    return unique


def _invalid_values(estimator, name):
    """Invalid values of parameter ``name``, from its constraints."""
    constraints = estimator._parameter_constraints[name]
    values = []
    array_like = "array-like" in constraints
    for constraint in constraints:
        if constraint is None or constraint == "array-like":
            continue
        if isinstance(constraint, Interval):
            assert isinstance(constraint, StrictInterval), (
                f"{name}: use StrictInterval, which refuses bools, NaN and inf"
            )
            scalars = _outside(constraint)
            values += scalars
            if array_like:
                # One value per layer, one of them invalid.
                good = 2 if name == LAYER_SIZES else 0.5
                values += [(good, bad) for bad in scalars]
        elif isinstance(constraint, StrOptions):
            values += ["not-an-option", 1, True]
        elif type(constraint).__name__ == "_IntTuple":
            values += [(0,) * max(constraint.lengths), (2,) * 4, ("2",) * 2]
            values += [(True, 2), (2.5, 2)]
        elif type(constraint).__name__ == "HasMethods":
            values += ["sae", 1, np.zeros(3)]
        elif type(constraint).__name__ == "_Grids":
            values += [(0, 1), (1, 2, 3), [(1, 1), 3], [], "2x2", 2]
        elif constraint == "boolean":
            values += ["yes", 1, 0.0, np.nan]
        elif constraint == "random_state":
            values += ["seed", -1, 1.5, 2**32]
        elif constraint == "verbose":
            values += [-1, "loud", 1.5, np.nan]
        else:
            raise AssertionError(
                f"No invalid values known for the constraint {constraint!r} of "
                f"{type(estimator).__name__}.{name}: extend _invalid_values."
            )
    if array_like:
        values += [(), [[1, 1], [1, 1]], {1, 2}]
        if name != LAYER_SIZES:
            n_layers = len(LAYERS)
            values += [(0.5,) * (n_layers - 1), (0.5,) * (n_layers + 1)]
    # "random_state" takes None (a fresh seed) like an explicit None does.
    if None not in constraints and "random_state" not in constraints:
        values.append(None)
    return values


def _parameter_cases():
    for est_name, estimator in ESTIMATORS.items():
        for name in estimator.get_params(deep=False):
            for value in _invalid_values(estimator, name):
                yield pytest.param(
                    est_name, name, value, id=f"{est_name}-{name}-{value!r}"
                )


def test_every_parameter_has_constraints():
    for estimator in ESTIMATORS.values():
        params = set(estimator.get_params(deep=False))
        assert params == set(estimator._parameter_constraints)
        for name in params:
            assert len(_invalid_values(estimator, name)) >= 4, name


@pytest.mark.parametrize(("est_name", "name", "value"), list(_parameter_cases()))
def test_invalid_parameter_is_refused_at_fit_and_named(est_name, name, value):
    estimator = clone(ESTIMATORS[est_name]).set_params(**{name: value})
    match = rf"\b{name}\b'?(\[\d+\])? (parameter of {est_name} |of {est_name} )?must"
    with pytest.raises(InvalidParameterError, match=match):
        estimator.fit(X_TRAIN, Y_TRAIN)


@pytest.mark.parametrize("closed", ["left", "right", "both", "neither"])
def test_strict_interval_refuses_bools_nan_and_infinities(closed):
    interval = StrictInterval(Real, None, None, closed=closed)
    for value in (True, False, np.True_, np.nan, np.inf, -np.inf, np.float32(np.inf)):
        assert not interval.is_satisfied_by(value), value
    for value in (0, -3, 2.5, np.float32(1.5), np.int64(7), 10**400):
        assert interval.is_satisfied_by(value), value


# --- per-layer parameters of the stacks ---------------------------------------


@pytest.mark.parametrize(
    "name", ["StackedSparseAutoencoder", "StackedSparseAutoencoderClassifier"]
)
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"rho": (0.1, 0.2, 0.3)}, r"rho must be a single value or one value per "),
        ({"beta": [3.0]}, r"hidden_layer_sizes has 2 layer\(s\), but beta="),
        ({"alpha": [[1e-3, 1e-3]]}, "alpha must be a single value or one value"),
        ({"rho": (0.1, 1.5)}, r"rho\[1\] of Stacked.* must be a float in the range"),
        ({"beta": (3.0, -1.0)}, r"beta\[1\] .* must be a float in the range"),
        ({"hidden_layer_sizes": ()}, "hidden_layer_sizes must be a positive int"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes must be a positive int"),
        ({"hidden_layer_sizes": (4, 2.5)}, "hidden_layer_sizes must be a positive"),
    ],
)
def test_per_layer_parameters_say_what_is_wrong(name, params, match):
    # Which layer, and whether the length or a value is wrong.
    model = clone(ESTIMATORS[name]).set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(X_TRAIN, Y_TRAIN)


# --- normalize_patches ----------------------------------------------------------


@pytest.mark.parametrize(
    "n_std", [0, 0.0, -1.0, -np.inf, np.inf, np.nan, True, "3", None]
)
def test_normalize_patches_refuses_invalid_n_std(n_std):
    with pytest.raises(InvalidParameterError, match="The 'n_std' parameter"):
        normalize_patches(X_TRAIN, n_std=n_std)


@pytest.mark.parametrize(
    ("X", "kwargs", "error", "match"),
    [
        pytest.param(
            np.where(X_TRAIN > 0.9, np.nan, X_TRAIN),
            {},
            ValueError,
            "Input X contains NaN",
            id="nan",
        ),
        pytest.param(
            np.where(X_TRAIN > 0.9, np.inf, X_TRAIN),
            {},
            ValueError,
            "Input X contains infinity",
            id="inf",
        ),
        pytest.param(X_TRAIN[0], {}, ValueError, "Expected 2D array", id="1d"),
        pytest.param(sp.csr_matrix(X_TRAIN), {}, TypeError, r"[Ss]parse", id="sparse"),
        pytest.param(
            [["a", "b"]],
            {},
            ValueError,
            "could not convert string to float",
            id="strings",
        ),
        pytest.param(3.0, {}, InvalidParameterError, "The 'X' parameter", id="scalar"),
        pytest.param(
            X_TRAIN,
            {"copy": "no"},
            InvalidParameterError,
            "The 'copy' parameter",
            id="copy",
        ),
    ],
)
def test_normalize_patches_refuses_bad_input(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        normalize_patches(X, **kwargs)
