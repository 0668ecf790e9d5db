"""MNIST: the UFLDL tutorial's stacked, self-taught and single-layer protocols.

Three protocols, each trained and scored on MNIST, with its accuracy, wall
time and dtype printed:

- ``stacked``: the stacked-autoencoder exercise. A 784-200-200-10
  ``StackedSparseAutoencoderClassifier`` (rho=0.1, beta=3, alpha=3e-3 for the
  autoencoders, softmax_alpha=1e-4, ``--max-iter`` L-BFGS iterations a stage)
  on all 60,000 training images, scored on the 10,000 test images before and
  after fine-tuning. The fit's wall time is compared with its matrix-product
  floor, measured in the same run: for every L-BFGS stage, its number of
  objective evaluations times the time the matrix products of one evaluation
  take on this machine. Two floors are printed: ``floor``, the products on
  whole matrices with BLAS's own threads (the targets' definition), and
  ``strict``, the fastest of that and single-threaded BLAS on one share of the
  rows per core, whole or in the objectives' blocks (perfect scaling over the
  cores, which BLAS itself does not reach).
  With ``--corruption``, the layers are denoising autoencoders: that
  fraction of each layer's input is masked during its pre-training.
- ``self-taught``: the self-taught learning exercise. A ``SparseAutoencoder``
  of 200 units trained on the training images of digits 5-9; a softmax
  classifier (``LogisticRegression`` with the tutorial's lambda=1e-4, i.e.
  ``C = 1 / (1e-4 * n_train)``) on the features of the training images of
  digits 0-4, the first half for training and the second for testing.
- ``single``: ``Pipeline(SparseAutoencoder(n_components=200),
  LogisticRegression())`` trained on all 60,000 training images and scored on
  the test images, with the tutorial's rho and beta unless ``--rho`` and
  ``--beta`` say otherwise; then a ``LogisticRegressionCV`` on the same
  features, C chosen by 3-fold cross-validation on the training images, its
  L-BFGS fits converged to ``tol=1e-8`` (the default 1e-4 stops short of the
  optimum on these features).
- ``single-select``: how ``single``'s rho and beta are chosen without the test
  images. For each pair of a small grid around the tutorial's, a
  ``SparseAutoencoder(n_components=200)`` is trained on the first 10,000
  training images (``--max-iter`` iterations), a ``LogisticRegression`` on its
  features of the first 50,000 training images, and the pair is scored on the
  last 10,000 training images, which neither model saw. A tie goes to the
  pair nearer the tutorial's.

Run from the repository root, one protocol at a time::

    python benchmarks/bench_stacked_mnist.py --protocol stacked

MNIST comes from :func:`sklearn_sae.datasets.load_mnist`: the IDX files in
the folder named by ``SKLEARN_SAE_MNIST_DIR`` (or ``--data-home``), else a
download from OpenML, cached in scikit-learn's data home.
"""

import argparse
import itertools
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

import sklearn_sae._sparse_autoencoder as sae_module
import sklearn_sae._stacked as stacked_module
from sklearn_sae import SparseAutoencoder
from sklearn_sae._deep import DeepAutoencoderObjective
from sklearn_sae._objective import SparseAutoencoderObjective
from sklearn_sae._rows import block_rows, default_n_threads
from sklearn_sae._stacked import StackedSparseAutoencoderClassifier
from sklearn_sae.datasets import N_TRAIN, load_mnist

TUTORIAL = {"rho": 0.1, "beta": 3.0, "alpha": 3e-3}
SOFTMAX_LAMBDA = 1e-4


class StageRecorder:
    """Wraps the L-BFGS driver of the estimators: one record per stage."""

    def __init__(self):
        self.stages = []

    def __enter__(self):
        self._saved = [
            (module, module.minimize_lbfgs) for module in (sae_module, stacked_module)
        ]
        for module, driver in self._saved:
            module.minimize_lbfgs = self._wrap(driver)
        return self

    def __exit__(self, *exc_info):
        for module, driver in self._saved:
            module.minimize_lbfgs = driver

    def _wrap(self, driver):
        def recorded(fun, x0, **kwargs):
            start = time.perf_counter()
            result = driver(fun, x0, **kwargs)
            self.stages.append(
                {
                    "products": _products(fun),
                    "name": _stage_name(fun),
                    "n_iter": result.n_iter,
                    "n_evaluations": result.n_evaluations,
                    "seconds": time.perf_counter() - start,
                }
            )
            return result

        return recorded


def _stage_name(objective):
    if isinstance(objective, SparseAutoencoderObjective):
        layout = objective.layout
        return f"autoencoder {layout.n_features} -> {layout.n_components}"
    sizes = objective.layout.layer_sizes
    if isinstance(objective, DeepAutoencoderObjective):
        return "deep autoencoder " + "-".join(map(str, sizes + sizes[-2::-1]))
    if len(sizes) == 2:
        return f"softmax {sizes[0]} -> {sizes[1]}"
    return "fine-tuning " + "-".join(map(str, sizes))


def _products(objective):
    """The matrix products of one evaluation, as (rows, inner, cols, kind).

    ``kind`` says which operand is transposed, as the objectives compute them:
    "nt" is ``A @ B.T``-like with A (rows, inner) C-ordered, "tn" is
    ``A.T @ B`` with A (inner, rows) C-ordered, "nn" is ``A @ B``.
    """
    m = objective.X.shape[0]
    if isinstance(objective, SparseAutoencoderObjective):
        d, h = objective.layout.n_features, objective.layout.n_components
        return [
            (m, d, h, "nt"),  # X W1^T
            (m, h, d, "nn"),  # A W2T
            (h, m, d, "tn"),  # A^T delta3
            (m, d, h, "nt"),  # delta3 W2T^T
            (h, m, d, "tn"),  # delta2^T X
        ]
    if isinstance(objective, DeepAutoencoderObjective):
        products = []
        for layer, (n_in, n_out) in enumerate(
            itertools.pairwise(objective.layout.layer_sizes)
        ):
            products.append((m, n_in, n_out, "nt"))  # encoder forward
            products.append((n_out, m, n_in, "tn"))  # encoder weight gradient
            if layer > 0:
                products.append((m, n_out, n_in, "nn"))  # delta of the layer below
            products.append((m, n_out, n_in, "nn"))  # decoder forward
            products.append((n_out, m, n_in, "tn"))  # decoder weight gradient
            products.append((m, n_in, n_out, "nt"))  # error of the layer above
        return products
    products = []
    for layer, (n_in, n_out) in enumerate(
        itertools.pairwise(objective.layout.layer_sizes)
    ):
        products.append((m, n_in, n_out, "nt"))  # forward
        products.append((n_out, m, n_in, "tn"))  # weight gradient
        if layer > 0:
            products.append((m, n_out, n_in, "nn"))  # delta of the layer below
    return products


def _operands(rows, inner, cols, kind, dtype, rng):
    def draw(shape):
        return rng.uniform(-1, 1, size=shape).astype(dtype)

    if kind == "nt":
        return draw((rows, inner)), draw((cols, inner)).T
    if kind == "tn":
        return draw((inner, rows)).T, draw((inner, cols))
    return draw((rows, inner)), draw((inner, cols))


def product_seconds(products, dtype, repeats=3):
    """Time of one evaluation's matrix products: ``(whole, strict)``.

    Each product is timed three ways, best of ``repeats``: as one call of
    multi-threaded BLAS; with the samples split over one thread per core, each
    calling single-threaded BLAS on its whole part; and the same, each thread
    walking its part in blocks of the objectives' size (accumulating the
    weight-gradient products block by block, as the objectives do). ``whole``
    sums the first way, ``strict`` the fastest way of each product.
    """
    rng = np.random.RandomState(0)
    n_threads = default_n_threads()
    whole, total = 0.0, 0.0
    with ThreadPoolExecutor(n_threads) as pool:
        for rows, inner, cols, kind in products:
            A, B = _operands(rows, inner, cols, kind, dtype, rng)
            out = np.empty((rows, cols), dtype=dtype)
            times = [_best(lambda A=A, B=B, out=out: np.matmul(A, B, out=out), repeats)]
            n_samples = inner if kind == "tn" else rows
            width = max(rows, cols) if kind == "tn" else max(inner, cols)
            whole_part = -(-n_samples // n_threads)
            for block in (whole_part, block_rows(n_samples, width, A.itemsize)):
                task = _split_task(A, B, kind, n_samples, n_threads, block, dtype)
                with threadpool_limits(1, user_api="blas"):
                    times.append(
                        _best(
                            lambda task=task: list(pool.map(task, range(n_threads))),
                            repeats,
                        )
                    )
            whole += times[0]
            total += min(times)
    return whole, total


def _best(run, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _split_task(A, B, kind, n_samples, n_threads, block, dtype):
    """The work of thread ``k``: its rows of samples, ``block`` at a time."""
    bounds = [n_samples * k // n_threads for k in range(n_threads + 1)]
    rows, cols = A.shape[0] if kind == "tn" else block, B.shape[1]
    buffers = [
        (np.zeros((rows, cols), dtype=dtype), np.empty((rows, cols), dtype=dtype))
        for _ in range(n_threads)
    ]
    out = np.empty((A.shape[0], cols), dtype=dtype)

    def task(k):
        result, work = buffers[k]
        for start in range(bounds[k], bounds[k + 1], block):
            stop = min(start + block, bounds[k + 1])
            if kind == "tn":  # samples are the inner dimension: accumulate
                np.matmul(A[:, start:stop], B[start:stop], out=work)
                result += work
            else:
                np.matmul(A[start:stop], B, out=out[start:stop])

    return task


def _floor_table(stages, dtype, fit_seconds):
    print(
        f"  {'stage':<30} {'iters':>5} {'evals':>5} {'time':>9} "
        f"{'floor':>9} {'ratio':>6} {'strict':>9} {'ratio':>6}"
    )
    floor_total, strict_total = 0.0, 0.0
    for stage in stages:
        whole, strict = product_seconds(stage["products"], dtype)
        floor = stage["n_evaluations"] * whole
        strict = stage["n_evaluations"] * strict
        floor_total += floor
        strict_total += strict
        print(
            f"  {stage['name']:<30} {stage['n_iter']:>5} {stage['n_evaluations']:>5} "
            f"{stage['seconds']:>8.1f}s {floor:>8.1f}s "
            f"{stage['seconds'] / floor:>6.2f} {strict:>8.1f}s "
            f"{stage['seconds'] / strict:>6.2f}"
        )
    print(
        f"  {'whole fit':<30} {'':>5} {'':>5} {fit_seconds:>8.1f}s "
        f"{floor_total:>8.1f}s {fit_seconds / floor_total:>6.2f} "
        f"{strict_total:>8.1f}s {fit_seconds / strict_total:>6.2f}"
    )


def _accuracy_before_fine_tuning(clf, X, y):
    A = X
    for W, b in zip(
        clf.pretrained_coefs_[:-1], clf.pretrained_intercepts_[:-1], strict=True
    ):
        A = expit(A @ W + b)
    scores = A @ clf.pretrained_coefs_[-1] + clf.pretrained_intercepts_[-1]
    return float(np.mean(clf.classes_[np.argmax(scores, axis=1)] == y))


def stacked(X_train, y_train, X_test, y_test, args):
    clf = StackedSparseAutoencoderClassifier(
        (200, 200),
        **TUTORIAL,
        softmax_alpha=SOFTMAX_LAMBDA,
        max_iter=args.max_iter,
        fine_tune_max_iter=args.fine_tune_max_iter,
        random_state=args.random_state,
        corruption=args.corruption,
    )
    print(
        f"Stacked exercise, 784-200-200-10 ({X_train.dtype}): {len(X_train)} "
        f"training and {len(X_test)} test images, max_iter={args.max_iter} a stage"
        + (
            f", denoising layers (corruption={args.corruption})"
            if args.corruption
            else ""
        )
    )
    with StageRecorder() as recorder:
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
    before = _accuracy_before_fine_tuning(clf, X_test, y_test)
    after = clf.score(X_test, y_test)
    _floor_table(recorder.stages, X_train.dtype, fit_seconds)
    print(f"  accuracy before fine-tuning {before:.4f}   (tutorial: 0.877)")
    print(f"  accuracy after fine-tuning  {after:.4f}   (tutorial: 0.976)")
    print(f"  fit {fit_seconds / 60:.1f} min")


def self_taught(X_train, y_train, X_test, y_test, args):
    # The tutorial's split: the training images only; digits 5-9 unlabelled,
    # digits 0-4 labelled, the first half of them for training.
    unlabeled = X_train[y_train >= 5]
    labeled, labels = X_train[y_train <= 4], y_train[y_train <= 4]
    n_half = round(len(labeled) / 2)
    print(
        f"Self-taught learning ({X_train.dtype}): autoencoder on {len(unlabeled)} "
        f"images of 5-9; softmax on {n_half} images of 0-4, tested on "
        f"{len(labeled) - n_half}"
    )
    sae = SparseAutoencoder(
        n_components=200,
        **TUTORIAL,
        max_iter=args.max_iter,
        random_state=args.random_state,
    )
    start = time.perf_counter()
    sae.fit(unlabeled)
    sae_seconds = time.perf_counter() - start
    H_train = sae.transform(labeled[:n_half])
    H_test = sae.transform(labeled[n_half:])
    print(f"  autoencoder {sae.n_iter_} iterations {sae_seconds:.1f} s")
    # The tutorial's softmax (lambda=1e-4), then the same with its
    # regularisation chosen by 5-fold cross-validation on the training half.
    softmaxes = {
        "softmax, lambda=1e-4": LogisticRegression(
            C=1.0 / (SOFTMAX_LAMBDA * n_half), max_iter=1000
        ),
        "softmax, C by 5-fold CV": LogisticRegressionCV(
            Cs=np.logspace(-1, 3, 9),
            l1_ratios=(0.0,),
            cv=5,
            scoring="accuracy",
            max_iter=1000,
            use_legacy_attributes=False,
        ),
    }
    for name, softmax in softmaxes.items():
        start = time.perf_counter()
        softmax.fit(H_train, labels[:n_half])
        seconds = time.perf_counter() - start
        accuracy = softmax.score(H_test, labels[n_half:])
        chosen = f", C={np.ravel(softmax.C_)[0]:.3g}" if hasattr(softmax, "C_") else ""
        print(
            f"  {name:<25} accuracy {accuracy:.4f}   ({seconds:.1f} s{chosen}; "
            "tutorial: 0.983)"
        )


# Tolerance of the single layer's cross-validated LogisticRegression.
CV_TOL = 1e-8


def single_layer(X_train, y_train, X_test, y_test, args):
    print(
        f"Single layer ({X_train.dtype}): Pipeline(SparseAutoencoder(200, "
        f"rho={args.rho:g}, beta={args.beta:g}), LogisticRegression()) on "
        f"{len(X_train)} images, tested on {len(X_test)}"
    )
    pipe = Pipeline(
        [
            (
                "sae",
                SparseAutoencoder(
                    n_components=200,
                    rho=args.rho,
                    beta=args.beta,
                    alpha=TUTORIAL["alpha"],
                    max_iter=args.max_iter,
                    random_state=args.random_state,
                ),
            ),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    start = time.perf_counter()
    pipe.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = pipe.score(X_test, y_test)
    print(f"  autoencoder {pipe['sae'].n_iter_} iterations; fit {seconds:.1f} s")
    print(
        f"  LogisticRegression(), C=1         accuracy {accuracy:.4f}"
        f"   ({int(np.max(pipe['clf'].n_iter_))} L-BFGS iterations, tol=1e-4)"
    )
    # The same features, with LogisticRegression's C chosen by 3-fold
    # cross-validation on the training images only. At its default tol=1e-4
    # L-BFGS stops some way short of the optimum on these features, and the
    # accuracies of the values of C (and of the refit, which starts from the
    # folds' mean) would compare where the solver stopped, not the optima:
    # every fit here is converged to CV_TOL.
    H_train = pipe["sae"].transform(X_train)
    H_test = pipe["sae"].transform(X_test)
    clf = LogisticRegressionCV(
        Cs=np.logspace(-1, 3, 9),
        l1_ratios=(0.0,),
        cv=3,
        scoring="accuracy",
        tol=CV_TOL,
        max_iter=20_000,
        use_legacy_attributes=False,
    )
    start = time.perf_counter()
    clf.fit(H_train, y_train)
    seconds = time.perf_counter() - start
    print(
        f"  LogisticRegression, C by 3-fold CV accuracy {clf.score(H_test, y_test):.4f}"
        f"   ({seconds:.1f} s, C={np.ravel(clf.C_)[0]:.3g}, tol={CV_TOL:g})"
    )


# single-select: the grid, from the tutorial's settings outward (a tie goes to
# the pair listed first), and the split of the training images.
SELECT_RHO = (0.1, 0.05, 0.2)
SELECT_BETA = (3.0, 1.0, 0.3)
SELECT_N_AUTOENCODER = 10_000
SELECT_N_FIT = 50_000


def select_single_layer(X_train, y_train, X_test, y_test, args):
    """Validation accuracy of the single layer over a grid of rho and beta."""
    n_fit = SELECT_N_FIT
    print(
        f"Single layer, rho and beta chosen without the test images "
        f"({X_train.dtype}): SparseAutoencoder(200) on training images "
        f"0-{SELECT_N_AUTOENCODER}, max_iter={args.max_iter}; LogisticRegression "
        f"on its features of training images 0-{n_fit}; scored on training "
        f"images {n_fit}-{len(X_train)}"
    )
    print(f"  {'rho':>5} {'beta':>5} {'iters':>5} {'fit':>7} {'accuracy':>9}")
    best = None
    for rho, beta in itertools.product(SELECT_RHO, SELECT_BETA):
        sae = SparseAutoencoder(
            n_components=200,
            rho=rho,
            beta=beta,
            alpha=TUTORIAL["alpha"],
            max_iter=args.max_iter,
            random_state=args.random_state,
        )
        start = time.perf_counter()
        sae.fit(X_train[:SELECT_N_AUTOENCODER])
        seconds = time.perf_counter() - start
        clf = LogisticRegression(max_iter=2000)
        clf.fit(sae.transform(X_train[:n_fit]), y_train[:n_fit])
        accuracy = clf.score(sae.transform(X_train[n_fit:]), y_train[n_fit:])
        print(
            f"  {rho:>5g} {beta:>5g} {sae.n_iter_:>5} {seconds:>6.1f}s {accuracy:>9.4f}"
        )
        if best is None or accuracy > best[0]:
            best = (accuracy, rho, beta)
    accuracy, rho, beta = best
    print(f"  best: rho={rho:g}, beta={beta:g} (validation accuracy {accuracy:.4f})")


PROTOCOLS = {
    "stacked": stacked,
    "self-taught": self_taught,
    "single": single_layer,
    "single-select": select_single_layer,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--protocol", choices=[*PROTOCOLS, "all"], default="all", help="what to run"
    )
    parser.add_argument(
        "--max-iter", type=int, default=400, help="L-BFGS iterations a stage"
    )
    parser.add_argument(
        "--fine-tune-max-iter",
        type=int,
        default=None,
        help="L-BFGS iterations of the fine-tuning (default: --max-iter)",
    )
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument(
        "--data-home", default=None, help="folder of the MNIST IDX files"
    )
    parser.add_argument(
        "--n-train", type=int, default=N_TRAIN, help="training images used"
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--rho", type=float, default=TUTORIAL["rho"], help="single: target activation"
    )
    parser.add_argument(
        "--beta", type=float, default=TUTORIAL["beta"], help="single: sparsity weight"
    )
    parser.add_argument(
        "--corruption",
        type=float,
        default=0.0,
        help="stacked: masking noise of each layer's pre-training (denoising layers)",
    )
    args = parser.parse_args(argv)

    X, y = load_mnist(args.data_home, return_X_y=True, dtype=args.dtype)
    X_train, y_train = X[: args.n_train], y[: args.n_train]
    X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]
    names = list(PROTOCOLS) if args.protocol == "all" else [args.protocol]
    for name in names:
        with warnings.catch_warnings():
            # Stages that stop at max_iter, as the tutorial's do.
            warnings.simplefilter("ignore", ConvergenceWarning)
            PROTOCOLS[name](X_train, y_train, X_test, y_test, args)


if __name__ == "__main__":
    main()
