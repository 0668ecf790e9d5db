"""
==========================================================
Denoising autoencoder: restoring masked digits
==========================================================

A denoising autoencoder (Vincent et al., 2008) is trained to reconstruct each
training image from a corrupted copy of it. With ``corruption=0.5``,
:class:`~sklearn_sae.SparseAutoencoder` sets half of the pixels of every
training image to zero before encoding it and compares the reconstruction with
the clean image. To succeed it has to learn how the pixels of a digit depend
on each other; a plain autoencoder only learns to copy what it sees.

L-BFGS needs the same objective at every step, so the masks are drawn once, from
``random_state``, when ``fit`` starts.

This example uses 4,000 MNIST training images and 120 L-BFGS iterations to keep
its run to about half a minute; MNIST is read from the folder in the
``SKLEARN_SAE_MNIST_DIR`` environment variable, or downloaded from OpenML.
Trained on 10,000 images for 400 iterations with ``corruption=0.3``, the
denoising autoencoder's features take LogisticRegression to 0.9568 test
accuracy, beside 0.9593 for the plain sparse autoencoder and 0.9047 on raw
pixels (``benchmarks/bench_variants.py``, in ``benchmarks/RESULTS.md``):
denoising makes the features robust to missing pixels, not better for clean
digits.
"""

# %%
# Train a plain and a denoising autoencoder
# -----------------------------------------
# Both have the tutorial's settings otherwise (200 sigmoid units, rho=0.1,
# beta=3, alpha=3e-3) and are trained in float32.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder
from sklearn_sae.datasets import N_TRAIN, load_mnist

X, y = load_mnist(return_X_y=True, dtype=np.float32)
X_train, X_test = X[:4000], X[N_TRAIN : N_TRAIN + 2000]

models = {}
for name, corruption in [("plain", 0.0), ("denoising", 0.5)]:
    sae = SparseAutoencoder(
        n_components=200, corruption=corruption, max_iter=120, random_state=0
    )
    with warnings.catch_warnings():
        # 120 iterations keep the example short; they do not converge.
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[name] = sae.fit(X_train)

# %%
# Mask half of the pixels of test images
# --------------------------------------
# The same kind of noise as in training, drawn afresh for test images the
# models have never seen.
rng = np.random.RandomState(1)
keep = np.ones(X_test.shape, dtype=bool)
masked_pixels = np.argsort(rng.random_sample(X_test.shape), axis=1)[:, : 784 // 2]
np.put_along_axis(keep, masked_pixels, False, axis=1)
X_masked = X_test * keep


def mean_squared_error(X_hat):
    return float(np.mean(np.sum((X_hat - X_test) ** 2, axis=1)))


restored = {
    name: model.inverse_transform(model.transform(X_masked))
    for name, model in models.items()
}
print(f"masked input:        error {mean_squared_error(X_masked):6.2f}")
for name, X_hat in restored.items():
    print(f"{name + ' autoencoder:':<20} error {mean_squared_error(X_hat):6.2f}")

# %%
# The plain autoencoder returns faint, blurred digits: it was never asked to
# fill holes, and half of its input is missing. The denoising autoencoder
# restores the strokes at full strength, and its error is lower. The errors
# above are squared differences from the clean images, summed over the 784
# pixels and averaged over the 2,000 test images.
rows = [
    ("clean", X_test),
    ("half masked", X_masked),
    ("plain", restored["plain"]),
    ("denoising", restored["denoising"]),
]
fig, axes = plt.subplots(len(rows), 8, figsize=(8, 4.4))
for (title, images), ax_row in zip(rows, axes, strict=True):
    for index, ax in enumerate(ax_row):
        ax.imshow(images[index].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(title, rotation=0, ha="right", va="center")
fig.tight_layout()
plt.show()
