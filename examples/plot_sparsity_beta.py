"""
============================================================
What the sparsity weight beta does to the hidden activations
============================================================

The sparse autoencoder's objective adds to the reconstruction error and the
weight decay a sparsity penalty, ``beta`` times the sum over hidden units of
the Kullback-Leibler divergence ``KL(rho || rho_hat_j)`` between the target
``rho`` and the unit's mean activation ``rho_hat_j`` over the training set.
This example trains the same :class:`~sklearn_sae.SparseAutoencoder` on
scikit-learn's 8x8 digits with the same target, ``rho=0.1``, and six values of
``beta``, from a plain autoencoder (``beta=0``) to the UFLDL tutorial's
``beta=3``, and looks at

* the loss curves of the L-BFGS runs, and
* the distribution of the hidden activations: of every activation of every
  unit on every image, and of each unit's mean activation ``rho_hat_j``.
"""

# %%
# Train one autoencoder per beta
# ------------------------------
# 64 hidden units for the 64 pixels, the weight decay that suits these small
# digits (``alpha=1e-4``, see the user guide) and 200 L-BFGS iterations.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder

X, _ = load_digits(return_X_y=True)
X = X / 16.0  # into [0, 1], the range of the sigmoid decoder

rho = 0.1
betas = [0.0, 0.01, 0.03, 0.1, 1.0, 3.0]
models = {}
for beta in betas:
    sae = SparseAutoencoder(
        n_components=64, rho=rho, beta=beta, alpha=1e-4, max_iter=200, random_state=0
    )
    with warnings.catch_warnings():
        # 200 iterations do not reach the gradient tolerance; they are enough
        # to show what beta does, and keep the example fast.
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[beta] = sae.fit(X)

# For each model: the final objective, its reconstruction part (minus
# ``score``), the mean activation over all units, the largest distance of a
# unit's mean activation from ``rho``, and the share of all activations below
# 0.05 (off) and above 0.5 (on).
print("beta   final J  reconst.  mean rho_hat  max|rho_hat-rho|  <0.05  >0.5")
activations = {}
for beta, sae in models.items():
    H = sae.transform(X)
    activations[beta] = H
    rho_hat = H.mean(axis=0)
    print(
        f"{beta:<5} {sae.loss_:8.3f} {-sae.score(X):9.3f} {rho_hat.mean():13.3f}"
        f" {np.abs(rho_hat - rho).max():17.3f} {np.mean(H < 0.05):6.2f}"
        f" {np.mean(H > 0.5):5.2f}"
    )

# %%
# Loss curves
# -----------
# The objective ``J`` after each L-BFGS iteration. At the random start every
# unit's mean activation is near 0.5, far from ``rho=0.1``, so the larger
# ``beta``, the higher the first value of ``J`` (about 50 for ``beta=3``):
# the first iterations mostly pull the mean activations down to ``rho``, and
# the rest of the run improves the reconstruction under that constraint. The
# price of sparsity is a worse reconstruction: the final ``J`` grows with
# ``beta``, and so does its reconstruction part, from 0.077 for the plain
# autoencoder to 0.251 for ``beta=3`` in the table above.
fig, ax = plt.subplots(figsize=(7, 4))
colors = plt.cm.viridis(np.linspace(0, 0.9, len(betas)))
for color, (beta, sae) in zip(colors, models.items(), strict=True):
    ax.plot(
        np.arange(1, sae.n_iter_ + 1),
        sae.loss_curve_,
        color=color,
        label=f"beta={beta:g}",
    )
ax.set(
    xlabel="L-BFGS iteration",
    ylabel="objective J",
    yscale="log",
    title=f"Training loss, rho={rho}",
)
ax.legend()
fig.tight_layout()

# %%
# Histograms of the hidden activations
# ------------------------------------
# Top row: all ``1797 x 64`` activations (log counts). Bottom row: the 64
# mean activations ``rho_hat_j``, with the target ``rho`` dashed in red.
#
# Without the penalty (``beta=0``) the code is dense: the activations spread
# evenly over the whole range of the sigmoid, almost none below 0.05 and 53% of
# them above 0.5, and every unit is on about half of the time (mean
# activation 0.515). The KL penalty only constrains the *means*, yet it
# changes the whole distribution: as ``beta`` grows the mass piles up at
# zero, with a long tail of strong activations, the signature of a sparse
# code. With ``beta=3``, 56% of the activations are below 0.05 while 4% are
# still above 0.5: most of the time a unit is (nearly) silent, and when it
# responds, it often responds strongly.
#
# The bottom row shows how firmly the means are held. Already ``beta=0.1``
# brings all of them within 0.032 of ``rho``; with ``beta=1`` they are within
# 0.005 and with ``beta=3`` within 0.002, which is why the tutorial's
# ``beta=3`` effectively fixes every unit's mean activation at ``rho``. Past
# that point a larger ``beta`` buys little more sparsity (54% to 56% of the
# activations below 0.05) for a worse reconstruction; ``rho`` then sets how
# sparse the code is. The example
# :ref:`sphx_glr_auto_examples_plot_grid_search_rho_beta.py` chooses both by
# cross-validation.
fig, axes = plt.subplots(2, len(betas), figsize=(13, 5), sharex=True, sharey="row")
for (ax_all, ax_mean), (beta, H) in zip(axes.T, activations.items(), strict=True):
    ax_all.hist(H.ravel(), bins=50, range=(0, 1), color="tab:blue")
    ax_all.set(yscale="log", title=f"beta={beta:g}")
    rho_hat = H.mean(axis=0)
    ax_mean.hist(rho_hat, bins=50, range=(0, 1), color="tab:green")
    ax_mean.axvline(rho, color="tab:red", linestyle="--")
    ax_mean.set_xlabel("activation")
axes[0, 0].set_ylabel("activations")
axes[1, 0].set_ylabel("hidden units")
fig.suptitle(
    "Top: every hidden activation. Bottom: each unit's mean activation "
    f"(target rho={rho}, dashed)"
)
fig.tight_layout()
plt.show()
