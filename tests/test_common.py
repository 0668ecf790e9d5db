"""scikit-learn's estimator checks over every public estimator of the package.

Checks expected to fail would be listed in ``EXPECTED_FAILED_CHECKS``, keyed by
estimator class name; there are none.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_sae import (
    ConvolutionalFeatures,
    KSparseAutoencoder,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    StackedSparseAutoencoderClassifier,
    ZCAWhitener,
)

# Every public estimator, SparseAutoencoder once more with each of its
# non-default options, and the fine-tuned deep autoencoder. The checks test
# the API, not convergence: the variants get fewer iterations, and the stacks
# small layers and few iterations (with their defaults, two layers of 200
# units and 400 iterations a stage, they pass too, but take three to four
# minutes each on two cores).
VARIANT = {"max_iter": 100}
SMALL_STACK = {"hidden_layer_sizes": (16, 8), "max_iter": 30}
ESTIMATORS = [
    SparseAutoencoder(),
    SparseAutoencoder(decoder="linear", **VARIANT),
    SparseAutoencoder(sparsity="l1", **VARIANT),
    SparseAutoencoder(tied_weights=True, **VARIANT),
    SparseAutoencoder(corruption=0.3, **VARIANT),
    KSparseAutoencoder(),
    StackedSparseAutoencoder(**SMALL_STACK),
    StackedSparseAutoencoder(**SMALL_STACK, fine_tune=True),
    StackedSparseAutoencoderClassifier(**SMALL_STACK),
    ZCAWhitener(),
    # Whatever the check's X, its rows are square images or 1-pixel-high
    # signals (image_shape=None): windows and the pooling grid of one pixel
    # fit both.
    ConvolutionalFeatures(
        SparseAutoencoder(n_components=3, max_iter=20),
        patch_size=1,
        pooling_grid=(1, 1),
        n_patches=50,
    ),
]

EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
# The checks train on data outside [0, 1] and with few samples: the range
# warning and the ConvergenceWarning are expected there.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators(estimator, check):
    check(estimator)
