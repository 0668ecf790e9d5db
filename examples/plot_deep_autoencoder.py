"""
==========================================================
Deep autoencoder: digits from a few numbers
==========================================================

Hinton and Salakhutdinov (Science, 2006) pre-trained a stack of layers
greedily and then fine-tuned it, unrolled into one deep autoencoder, to
reconstruct images from a code of a few numbers, far better than PCA with as
many components. :class:`~sklearn_sae.StackedSparseAutoencoder` does the same
with ``fine_tune=True``: the layers are pre-trained one at a time as sparse
autoencoders, then the encoders and decoders are trained together, by L-BFGS,
on the reconstruction of the input.

This example uses scikit-learn's 8x8 digits so that it runs in seconds;
``benchmarks/bench_deep_mnist.py`` runs the comparison on MNIST with
30-number codes (see ``benchmarks/RESULTS.md``).
"""

# %%
# Codes of six numbers
# --------------------
# A 64-48-24-6 stack, pre-trained without a sparsity penalty (``beta=0``: the
# goal is reconstruction through the narrow code), then fine-tuned. As in the
# paper, the code's units are linear (``code="linear"``) and the others
# sigmoid. The same stack without fine-tuning and PCA with six components
# give the baselines.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklearn_sae import StackedSparseAutoencoder

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=500, random_state=0
)

layers = {
    "beta": 0.0,
    "alpha": 1e-4,
    "code": "linear",
    "max_iter": 200,
    "random_state": 0,
}
pca = PCA(n_components=6).fit(X_train)
stack = StackedSparseAutoencoder((48, 24, 6), **layers)
deep = StackedSparseAutoencoder(
    (48, 24, 6), **layers, fine_tune=True, fine_tune_max_iter=400
)
with warnings.catch_warnings():
    # A few hundred iterations keep the example short; they do not converge.
    warnings.simplefilter("ignore", ConvergenceWarning)
    stack.fit(X_train)
    deep.fit(X_train)

reconstructions = {
    "PCA": pca.inverse_transform(pca.transform(X_test)),
    "stack, pre-trained": stack.inverse_transform(stack.transform(X_test)),
    "deep autoencoder": deep.inverse_transform(deep.transform(X_test)),
}
for name, X_hat in reconstructions.items():
    error = np.sum((X_hat - X_test) ** 2) / len(X_test)
    print(f"{name:>20}: squared error per test image {error:.2f}")

# %%
# The pre-trained stack decodes each layer's reconstruction of the layer
# below, and the errors add up on the way down: it does no better than PCA.
# Fine-tuning trains the decoders on what the encoders actually produce and
# the encoders for what the decoders need, and cuts the error well below
# PCA's.
n_digits = 10
rows = {"original": X_test, **reconstructions}
fig, axes = plt.subplots(
    len(rows), n_digits, figsize=(n_digits, len(rows) * 1.1), layout="constrained"
)
for row, (name, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(row, images[:n_digits], strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center")
fig.suptitle("Test digits and their reconstructions from six numbers")
plt.show()

# %%
# Codes of two numbers
# --------------------
# With a code of two numbers, the codes can be plotted. The deep autoencoder
# (here 64-48-24-2, fine-tuned) spreads the classes further apart than the
# first two principal components, without seeing a label.
pca2 = PCA(n_components=2).fit(X_train)
deep2 = StackedSparseAutoencoder(
    (48, 24, 2), **layers, fine_tune=True, fine_tune_max_iter=400
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    deep2.fit(X_train)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
for ax, (name, codes) in zip(
    axes,
    {
        "PCA, two components": pca2.transform(X_test),
        "deep autoencoder, two-unit code": deep2.transform(X_test),
    }.items(),
    strict=True,
):
    points = ax.scatter(*codes.T, c=y_test, cmap="tab10", s=12)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
plt.show()
