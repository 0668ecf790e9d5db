"""
==========================================================
k-sparse autoencoder: codes with exactly k active units
==========================================================

:class:`~sklearn_sae.KSparseAutoencoder` (Makhzani and Frey, 2014) has linear
hidden units and tied weights; of each sample's hidden activities, only the
``k`` largest are kept and the others set to zero, in training and in
``transform``. The sparsity is therefore exact, with no penalty to tune, and
``k`` sets how the features look: with few active units each one must explain
much of a digit, and the filters are whole digit shapes; with more, each
explains a piece, and the filters become local pen strokes; with many, they
no longer need to be sparse, and look it.

The example trains on 3,000 MNIST training images, centred, for 150 L-BFGS
iterations per model, to run in about half a minute; MNIST is read from the
folder in the ``SKLEARN_SAE_MNIST_DIR`` environment variable, or downloaded
from OpenML. Trained on 10,000 images for 400 iterations, 200 units with
``k=25`` take LogisticRegression to 0.9586 test accuracy, beside 0.9047 on raw
pixels (``benchmarks/bench_variants.py``, in ``benchmarks/RESULTS.md``).
"""

# %%
# Train three k-sparse autoencoders
# ---------------------------------
# The images are centred first: a unit never among the k largest gets no
# gradient and stays as it started, and on centred images fewer units are
# left out that way.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_sae import KSparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist
from sklearn_sae.plotting import FilterDisplay

X, y = load_mnist(return_X_y=True, dtype=np.float32)
X_train, y_train = X[:3000], y[:3000]
X_test, y_test = X[N_TRAIN : N_TRAIN + 2000], y[N_TRAIN : N_TRAIN + 2000]

models = {}
for k in (5, 20, 60):
    models[k] = make_pipeline(
        StandardScaler(with_std=False),
        KSparseAutoencoder(n_components=100, k=k, max_iter=150, random_state=0),
    )
    with warnings.catch_warnings():
        # 150 iterations keep the example short; they do not converge.
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[k].fit(X_train)

# %%
# The codes
# ---------
# Every code has exactly k non-zero entries. The reconstruction error of the
# test images falls as k grows, but the codes are most useful to a linear
# classifier in between, at k=20, as Makhzani and Frey found: too few active
# units describe a digit too coarsely, too many no longer single out its
# strokes.
for k, model in models.items():
    codes_train = model.transform(X_train)
    codes_test = model.transform(X_test)
    non_zeros = np.count_nonzero(codes_test, axis=1)
    reconstruction = model.inverse_transform(codes_test)
    error = np.mean(np.sum((reconstruction - X_test) ** 2, axis=1))
    clf = LogisticRegression(max_iter=2000).fit(codes_train, y_train)
    print(
        f"k={k:>2}: non-zeros per code {non_zeros.min()}..{non_zeros.max()}, "
        f"reconstruction error {error:5.1f}, "
        f"logistic regression accuracy {clf.score(codes_test, y_test):.3f}"
    )

# %%
# The filters
# -----------
# The rows of ``components_`` (the encoder's and, tied, the decoder's
# weights), each scaled to unit norm. At k=5 the filters are whole digits,
# and the tiles of noise are units that were never among the five largest:
# they kept their random initial weights. At k=20 they are local strokes; at
# k=60, mixtures of strokes.
fig, axes = plt.subplots(1, 3, figsize=(12, 4.4), layout="constrained")
for ax, (k, model) in zip(axes, models.items(), strict=True):
    FilterDisplay.from_estimator(model[-1], image_shape=(28, 28), ax=ax)
    ax.set_title(f"k = {k}")
plt.show()
