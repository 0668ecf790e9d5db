"""
==========================================================
Choosing rho and beta by cross-validation
==========================================================

The sparsity target ``rho`` and the sparsity weight ``beta`` of a
:class:`~sklearn_sae.SparseAutoencoder` are hyperparameters like any other:
the best values depend on the data and on what the features are for. Put the
autoencoder in a :class:`~sklearn.pipeline.Pipeline` in front of the model
that uses its features, and :class:`~sklearn.model_selection.GridSearchCV`
chooses them through the step's ``sae__rho`` and ``sae__beta`` parameters by
the cross-validated score of the whole pipeline. (A search over the
autoencoder alone would rank the candidates by its
:meth:`~sklearn_sae.SparseAutoencoder.score`, the reconstruction error, which
sparsity can only make worse.)

Besides the accuracy, the search below records a second metric, the mean
hidden activation of the autoencoder fitted in each fold, so that one heat map
shows what each cell of the grid scores and another what its autoencoder has
become.
"""

# %%
# The search
# ----------
# scikit-learn's 8x8 digits, scaled into [0, 1] for the sigmoid decoder, a
# small autoencoder (32 hidden units, 100 L-BFGS iterations) to keep the 36
# fits of the search quick, and the weight decay that suits these digits,
# ``alpha=1e-4``.
#
# ``scoring`` takes several metrics. The second one is a callable
# ``(estimator, X, y) -> float`` that returns the mean activation of the
# pipeline's autoencoder on the data it is given; with
# ``return_train_score=True`` it is also evaluated on the training folds, the
# data whose mean activations the KL penalty constrains. ``refit="accuracy"``
# picks the best cell by accuracy, and ``n_jobs=2`` runs two fits at a time.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_sae import SparseAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16.0


def mean_activation(estimator, X, y=None):
    """Mean hidden activation of the pipeline's autoencoder on X."""
    return float(estimator["sae"].transform(X).mean())


pipe = Pipeline(
    [
        (
            "sae",
            SparseAutoencoder(
                n_components=32, alpha=1e-4, max_iter=100, random_state=0
            ),
        ),
        ("clf", LogisticRegression(max_iter=2000)),
    ]
)
rhos = [0.01, 0.1, 0.3]
betas = [0.0, 0.03, 0.3, 3.0]
search = GridSearchCV(
    pipe,
    {"sae__rho": rhos, "sae__beta": betas},
    scoring={"accuracy": "accuracy", "mean_activation": mean_activation},
    refit="accuracy",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    return_train_score=True,
    n_jobs=2,
)
with warnings.catch_warnings():
    # 100 L-BFGS iterations stop short of the gradient tolerance; enough to
    # compare the cells, and it keeps the example fast.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)
print(f"best: {search.best_params_}, cross-validated accuracy {search.best_score_:.3f}")

# %%
# Both metrics as grids
# ---------------------
# ``cv_results_`` holds one entry per cell of the grid; its ``params`` say
# where each entry goes in a (beta, rho) table.
results = search.cv_results_
accuracy = np.empty((len(betas), len(rhos)))
activation = np.empty_like(accuracy)
for k, params in enumerate(results["params"]):
    cell = betas.index(params["sae__beta"]), rhos.index(params["sae__rho"])
    accuracy[cell] = results["mean_test_accuracy"][k]
    activation[cell] = results["mean_train_mean_activation"][k]

print("mean activation on the training folds (rows beta, columns rho)")
print("beta \\ rho " + "".join(f"{rho:>8g}" for rho in rhos))
for beta, row in zip(betas, activation, strict=True):
    print(f"{beta:<10g} " + "".join(f"{a:8.3f}" for a in row))
gap = np.abs(
    results["mean_test_mean_activation"] - results["mean_train_mean_activation"]
).max()
print(f"largest gap between training- and test-fold mean activation: {gap:.3f}")

# %%
# Heat maps
# ---------
# Rows are values of ``beta``, columns values of ``rho``. Each cell of the
# right-hand map is the mean, over the three folds, of the mean activation of
# the autoencoder fitted on that fold's training data, averaged over its
# hidden units and training images; it is the quantity the KL penalty pulls
# towards ``rho``. (On the held-out folds it is within 0.001 of it, as
# printed above.)
fig, (ax_acc, ax_act) = plt.subplots(1, 2, figsize=(11, 4.5))
for ax, values, title, cmap in [
    (ax_acc, accuracy, "cross-validated accuracy", "viridis"),
    (ax_act, activation, "mean hidden activation (training folds)", "magma"),
]:
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set(
        xticks=range(len(rhos)),
        xticklabels=[f"{rho:g}" for rho in rhos],
        yticks=range(len(betas)),
        yticklabels=[f"{beta:g}" for beta in betas],
        xlabel="rho",
        ylabel="beta",
        title=title,
    )
    middle = (values.max() + values.min()) / 2
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            f"{value:.3f}",
            ha="center",
            va="center",
            color="black" if value > middle else "white",
        )
fig.tight_layout()
plt.show()

# %%
# What the maps show
# ------------------
# **The mean activation tracks rho as beta grows.** With ``beta=0`` the
# penalty is off, ``rho`` has no effect, and every cell of the top row is the
# same plain autoencoder, whose units sit at about 0.574, in the middle of the
# sigmoid. A weak penalty, ``beta=0.03``, lowers the activations but leaves
# them far above small targets (0.177 for ``rho=0.01``). With ``beta=0.3``
# they are close (0.045, 0.122, 0.309), and with the tutorial's ``beta=3``
# each column is at or next to its ``rho``: 0.015, 0.102 and 0.300. ``beta`` says
# how firmly the target is held, ``rho`` where it is; the smaller the target,
# the larger the ``beta`` it takes to reach it.
#
# **The accuracy map is a trade-off.** Logistic regression on these 32
# features scores best without any sparsity (0.961, the same for every
# ``rho`` in the top row, so the search reports the first of these tied
# cells); a mild penalty costs little (0.958 with ``beta=0.03``), but forcing
# 32 units to be nearly always off (``rho=0.01``, ``beta=3``) leaves too
# little information in the code, and the accuracy falls to 0.871. With more
# hidden units to share the work, sparsity costs less: in a run of the same
# search with 64 units (not shown), a mild penalty, ``beta=0.1`` and
# ``rho=0.1``, edged ahead of no penalty, 0.971 against 0.967, a difference
# within the noise of three folds. The best values depend on the model and
# the data, which is why they are searched; with the tutorial's 200 units on
# MNIST, its ``rho=0.1`` and ``beta=3`` work well (see
# :ref:`sphx_glr_auto_examples_plot_mnist_pen_strokes.py`).
