"""Whether SparseAutoencoder's defaults converge on the examples' data.

``SparseAutoencoder()`` stops after ``max_iter=400`` L-BFGS iterations or when
the largest absolute gradient component falls to ``tol=1e-5``. This script
fits the defaults on the data of the gallery's examples and prints, for each:

- why the default fit stopped, its iterations and the largest absolute
  gradient component at its end;
- the same fit with ``max_iter`` raised to ``--max-iter`` (same seed):
  whether ``tol=1e-5`` is then reached and after how many iterations, and
  how far the default fit's loss is above that longer fit's, relatively.

Run from the repository root::

    python benchmarks/bench_default_convergence.py
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_sae import SparseAutoencoder
from sklearn_sae._objective import SparseAutoencoderObjective


def max_gradient(model, X):
    """The largest absolute component of the gradient of the fitted model's J."""
    with SparseAutoencoderObjective(
        X,
        model.n_components,
        rho=model.rho,
        beta=model.beta,
        alpha=model.alpha,
    ) as objective:
        theta = np.concatenate(
            [
                model.components_.ravel(),
                model.decoder_components_.ravel(),
                model.intercept_hidden_,
                model.intercept_visible_,
            ]
        ).astype(np.float64)
        _, gradient = objective(theta)
    return float(np.max(np.abs(gradient)))


def datasets():
    X, _ = load_digits(return_X_y=True)
    yield "load_digits / 16 (1797 x 64)", X / 16.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}")
    for name, X in datasets():
        for seed in args.seeds:
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                default = SparseAutoencoder(random_state=seed).fit(X)
            elapsed = time.perf_counter() - start
            warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                converged = SparseAutoencoder(
                    random_state=seed, max_iter=args.max_iter
                ).fit(X)
            long_elapsed = time.perf_counter() - start
            gap = (default.loss_ - converged.loss_) / converged.loss_
            reached = "reached" if converged.n_iter_ < args.max_iter else "not reached"
            print(
                f"{name}, random_state={seed}: default fit {default.n_iter_} "
                f"iterations ({elapsed:.1f}s), ConvergenceWarning={warned}, "
                f"max |gradient| {max_gradient(default, X):.2e} (tol 1e-05); "
                f"with max_iter={args.max_iter}: {converged.n_iter_} iterations "
                f"({long_elapsed:.1f}s, tol {reached}), "
                f"max |gradient| {max_gradient(converged, X):.2e}; default loss "
                f"{default.loss_:.6f} is {gap:.2%} above the longer fit's "
                f"{converged.loss_:.6f}"
            )


if __name__ == "__main__":
    main()
