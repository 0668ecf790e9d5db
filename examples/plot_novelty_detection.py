"""
=================================================
Novelty detection with the reconstruction error
=================================================

An autoencoder trained on one kind of data reconstructs that kind well and
anything else worse. :meth:`~sklearn_sae.SparseAutoencoder.score_samples`
returns minus each sample's reconstruction error, so a low score flags a
sample unlike the training data.

This example takes scikit-learn's 8x8 digits, splits them in halves, and for
each digit trains a :class:`~sklearn_sae.SparseAutoencoder` on the training
half's images of that digit alone. It then scores every image of the test
half and measures with the ROC AUC how well the score tells the digit from
the nine others. Two baselines score the same split: the reconstruction error
of a :class:`~sklearn.decomposition.PCA` fitted on the same images, and an
:class:`~sklearn.ensemble.IsolationForest`.
"""

# %%
# One digit to learn, every digit to score
# ----------------------------------------
# The models of digit ``d`` see only training images of ``d``; the test half
# holds about 90 images of each digit.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_sae import SparseAutoencoder

X, y = load_digits(return_X_y=True)
X = X / 16.0  # into [0, 1], the range of the sigmoid decoder
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)


def pca_score_samples(pca, X):
    """Minus half the squared reconstruction error, as score_samples."""
    X_hat = pca.inverse_transform(pca.transform(X))
    return -0.5 * ((X - X_hat) ** 2).sum(axis=1)


# %%
# Three scores of normality per digit
# -----------------------------------
# Higher means more like the training images for all three: minus the
# reconstruction error for the autoencoder and PCA, the forest's own score.
# The autoencoder has 16 hidden units, no sparsity penalty and little weight
# decay; ``early_stopping=True`` holds out a tenth of its training images and
# keeps the weights that reconstruct them best. PCA keeps 8 components.
names = ["SparseAutoencoder", "PCA reconstruction", "IsolationForest"]
auc = {name: [] for name in names}
scores_of = {}
for digit in range(10):
    X_digit = X_train[y_train == digit]
    sae = SparseAutoencoder(
        n_components=16, beta=0.0, alpha=1e-4, early_stopping=True, random_state=0
    ).fit(X_digit)
    pca = PCA(n_components=8, random_state=0).fit(X_digit)
    forest = IsolationForest(random_state=0).fit(X_digit)
    scores = {
        "SparseAutoencoder": sae.score_samples(X_test),
        "PCA reconstruction": pca_score_samples(pca, X_test),
        "IsolationForest": forest.score_samples(X_test),
    }
    for name in names:
        auc[name].append(roc_auc_score(y_test == digit, scores[name]))
    scores_of[digit] = scores

for name in names:
    print(f"{name:>20}: mean ROC AUC {np.mean(auc[name]):.3f}")

# %%
# AUC per digit, and the ROC curves of the hardest digit
# ------------------------------------------------------
# Left, the AUC of each score for each digit. Right, the ROC curves for the
# digit where the autoencoder's AUC is lowest.
fig, (ax_bars, ax_roc) = plt.subplots(1, 2, figsize=(12, 4.5))
width = 0.27
for i, name in enumerate(names):
    ax_bars.bar(np.arange(10) + (i - 1) * width, auc[name], width, label=name)
ax_bars.set_xticks(range(10))
ax_bars.set_xlabel("digit learned")
ax_bars.set_ylabel("ROC AUC, that digit against the others")
ax_bars.set_ylim(min(min(v) for v in auc.values()) - 0.02, 1.0)
ax_bars.legend(loc="lower left")

hardest = int(np.argmin(auc["SparseAutoencoder"]))
for name in names:
    RocCurveDisplay.from_predictions(
        y_test == hardest, scores_of[hardest][name], name=name, ax=ax_roc
    )
ax_roc.set_title(f"Digit {hardest} against the others")
fig.tight_layout()
plt.show()

# %%
# On MNIST, trained on the images of one digit and scored on all 10,000 test
# images, the benchmark ``benchmarks/bench_novelty_mnist.py`` compares the
# same three scores over the ten digits (see ``benchmarks/RESULTS.md``).
