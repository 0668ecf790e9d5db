"""
==========================================================
Pen-stroke features of MNIST digits
==========================================================

The UFLDL tutorial trains its sparse autoencoder on 28x28 MNIST digits with
200 hidden units, sparsity target ``rho=0.1``, sparsity weight ``beta=3`` and
weight decay ``alpha=3e-3`` (the tutorial's lambda), and finds that the hidden
units learn *pen strokes*: each filter is a short piece of a digit's outline.
This example trains the same :class:`~sklearn_sae.SparseAutoencoder`, looks at
its filters, and measures what the features are worth: the test accuracy of
logistic regression on the hidden activations, beside logistic regression on
the raw pixels and on the features of scikit-learn's
:class:`~sklearn.neural_network.BernoulliRBM`, another unsupervised learner
with 200 sigmoid hidden units.

MNIST is read with :func:`~sklearn_sae.datasets.load_mnist`, from the folder
in the ``SKLEARN_SAE_MNIST_DIR`` environment variable when it is set (and from
OpenML otherwise).

.. note::

   To keep the run of this example, in the documentation build, to about a
   minute, the models are trained on a subsample of 2,000 training images and
   the autoencoder stops after 200 L-BFGS iterations. The full-size figures
   are in ``benchmarks/RESULTS.md``: trained on the first 10,000 training
   images and scored on the 10,000 test images, logistic regression on raw
   pixels reaches an accuracy of about 0.904, and on the features of this
   autoencoder 0.9447 after 100 L-BFGS iterations
   (``benchmarks/bench_mnist_pipeline.py``) and 0.9593 after the tutorial's
   400 (``benchmarks/bench_variants.py``); the benchmarks do not run the RBM.
"""

# %%
# Load a subsample of MNIST
# -------------------------
# The first 60,000 rows are the training set, the last 10,000 the test set.
# The pixels are scaled into [0, 1], the range of the sigmoid decoder, and
# kept in float32, which halves the memory of training.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist
from sklearn_sae.plotting import FilterDisplay

X, y = load_mnist(return_X_y=True, dtype=np.float32)
n_train = 2_000
X_train, y_train = X[:n_train], y[:n_train]
X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]
print(f"{len(X_train)} training and {len(X_test)} test images")

# %%
# Three classifiers
# -----------------
# The same logistic regression, fitted on three representations of the
# images: the 784 raw pixels, the 200 hidden activations of the sparse
# autoencoder, and the 200 hidden activations of the RBM. The two feature
# learners never see the labels; only the logistic regression does.
models = {
    "raw pixels": LogisticRegression(max_iter=1000),
    "SparseAutoencoder(200)": Pipeline(
        [
            (
                "sae",
                SparseAutoencoder(
                    n_components=200,
                    rho=0.1,
                    beta=3.0,
                    alpha=3e-3,
                    max_iter=200,
                    random_state=0,
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    ),
    "BernoulliRBM(200)": Pipeline(
        [
            ("rbm", BernoulliRBM(n_components=200, random_state=0)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    ),
}
accuracies = {}
for name, model in models.items():
    with warnings.catch_warnings():
        # The autoencoder is stopped after 200 L-BFGS iterations, short of its
        # gradient tolerance, to keep the example fast.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    accuracies[name] = model.score(X_test, y_test)
    print(f"{name:24} test accuracy {accuracies[name]:.4f}")

sae = models["SparseAutoencoder(200)"]["sae"]
mean_activation = sae.transform(X_train).mean(axis=0)
print(
    f"autoencoder: {sae.n_iter_} L-BFGS iterations, final loss {sae.loss_:.3f}, "
    f"mean hidden activation {mean_activation.mean():.3f} (rho = 0.1)"
)

# %%
# The learned filters
# -------------------
# Each tile is the input image of unit norm that activates one hidden unit
# most, ``W_i / ||W_i||``, with its own contrast, as the tutorial's
# ``display_network`` draws it: light pixels excite the unit, dark ones
# inhibit it.
#
# Many of the filters are pieces of pen strokes: a bar, an arc, part of a
# loop, at one position and slant; a unit fires when the image has ink along
# its light stroke and none on the dark pixels beside it. With only 2,000
# training images and 200 iterations, many tiles are still noisy and carry
# the faint outline of a whole digit around their stroke. Trained as in the
# benchmark, on 10,000 images for 400 iterations, the same model's filters
# are cleaner and more of them are single short strokes, the tutorial's
# picture.
fig, ax = plt.subplots(figsize=(10, 5.2))
FilterDisplay.from_estimator(sae, image_shape=(28, 28), n_cols=20, ax=ax)
ax.set_title("The 200 filters of the sparse autoencoder")

# %%
# Test accuracy
# -------------
# On the 10,000 test images, the 200 sparse-autoencoder features take logistic
# regression from 0.879 on the raw pixels to about 0.930, five points better,
# and ahead of the 200 features of the RBM, about 0.910. The autoencoder is
# doing what the KL penalty asks: the mean hidden activation on the training
# images is about 0.106, close to ``rho=0.1``. (The last digits of the
# accuracies vary a little between machines, as the float32 sums of the
# training run in a different order.)
#
# With more data both the baseline and the features improve: at full size,
# 10,000 training images, the benchmarks record about 0.904 on raw pixels
# against 0.9447 on the features of 100 L-BFGS iterations and 0.9593 on those
# of 400.
fig, ax = plt.subplots(figsize=(7, 3))
names = list(accuracies)
bars = ax.barh(names, [accuracies[name] for name in names], color="tab:blue")
ax.bar_label(bars, fmt="%.3f", padding=3)
ax.set(xlim=(0.8, 1.0), xlabel="test accuracy (10,000 images)")
ax.invert_yaxis()
ax.set_title(f"Logistic regression trained on {n_train} MNIST images")
fig.tight_layout()
plt.show()
