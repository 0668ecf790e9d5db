"""
==========================================================
Sparse-autoencoder features of handwritten digits
==========================================================

A :class:`~sklearn_sae.SparseAutoencoder` learns 100 features of scikit-learn's
8x8 digits, which need no download. LogisticRegression on those features is
compared with LogisticRegression on the raw pixels, and the figure shows the
loss curve of the L-BFGS run beside the filters the hidden units learned: the
rows of ``components_``, each scaled to unit norm as in the UFLDL tutorial's
``display_network``.

The tutorial's weight decay ``alpha=3e-3`` was chosen for 28x28 MNIST digits;
on these 8x8 digits a smaller one, ``alpha=1e-4``, gives better features.
"""

# %%
# Train both pipelines
# --------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16.0  # into [0, 1], the range of the sigmoid decoder
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)

raw = LogisticRegression(max_iter=5000).fit(X_train, y_train)
pipe = Pipeline(
    [
        (
            "sae",
            SparseAutoencoder(
                n_components=100, rho=0.05, beta=1.0, alpha=1e-4, random_state=0
            ),
        ),
        ("clf", LogisticRegression(max_iter=5000)),
    ]
)
with warnings.catch_warnings():
    # 400 iterations, the tutorial's budget, do not reach the tolerance.
    warnings.simplefilter("ignore", ConvergenceWarning)
    pipe.fit(X_train, y_train)

print(f"raw pixels:                  accuracy {raw.score(X_test, y_test):.3f}")
print(f"sparse-autoencoder features: accuracy {pipe.score(X_test, y_test):.3f}")

# %%
# Loss curve and learned filters
# ------------------------------
sae = pipe["sae"]
filters = sae.components_ / np.linalg.norm(sae.components_, axis=1, keepdims=True)

fig = plt.figure(figsize=(10, 4.5))
ax_loss = fig.add_subplot(1, 2, 1)
ax_loss.plot(np.arange(1, sae.n_iter_ + 1), sae.loss_curve_)
ax_loss.set(
    xlabel="L-BFGS iteration", ylabel="objective J", yscale="log", title="Training"
)

grid = fig.add_gridspec(10, 10, left=0.55, right=0.98, wspace=0.1, hspace=0.1)
for i, w in enumerate(filters):
    ax = fig.add_subplot(grid[i // 10, i % 10])
    limit = np.abs(w).max()
    ax.imshow(w.reshape(8, 8), cmap="gray", vmin=-limit, vmax=limit)
    ax.set_axis_off()
fig.suptitle("100 hidden units: loss curve and filters (W_i / ||W_i||)")
plt.show()
