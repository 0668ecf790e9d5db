"""The objective against its floor, the five matrix products, and against baselines.

One evaluation of the sparse autoencoder's loss and gradient on ``m`` samples,
``d`` features and ``h`` hidden units needs five ``m x d x h`` matrix products
(encode, decode, back through the decoder, the two weight gradients). Their
time, measured in the same run on the same BLAS, is the bound every figure
below is divided by.

How the bound is measured (so that it is an honest floor): the five products
run into preallocated output arrays (no page faults of fresh allocations),
timed three ways:

- ``BLAS threads``: on whole matrices, NumPy's OpenBLAS with its default number
  of threads: the bound the targets are stated against;
- ``1 thread``: on whole matrices, single-threaded BLAS, divided by the number
  of threads the objective uses, i.e. perfect scaling over the cores;
- ``in blocks``: the same, but row block by row block of the objective's block
  size, the weight gradients summed by BLAS, as the objective computes them:
  on small problems cache-sized blocks can beat whole matrices.

Two bounds are printed. ``bound`` is the targets': the five products on whole
matrices with BLAS's own threads, what a vectorised implementation pays for
them. ``strict`` is the smallest of the three medians: perfect scaling over the
cores, which OpenBLAS itself does not reach. Single-threaded timings barely
move when another process takes a core, while multi-threaded OpenBLAS waits for
its slowest thread, so on a loaded machine a single-threaded figure divided by
the threads is usually the smallest: the strict bound then errs further on the
strict side, and the objective, which needs both cores, pays for the load
alone. The ``1 thr`` column is robust to that: the objective on one thread
against the single-threaded bound.

Every figure is a median of ``--repeats`` runs whose parts are interleaved, so
that a change of load hits the bound and what it is compared with alike. Parts
(``--parts``):

- ``eval``: one loss+gradient evaluation of the package's objective (run as
  ``fit`` runs it: BLAS single-threaded, rows split over threads) and of a
  straightforward vectorised NumPy evaluation (the tutorial's style, BLAS at
  its default threads), float32 and float64, on MNIST (60,000 x 784, h=200),
  a small shape (10,000 x 64, h=25, uniform random data) and the digits;
  PyTorch autograd too when it is importable;
- ``mlp``: time per L-BFGS iteration over the first 10 iterations of
  ``SparseAutoencoder.fit`` and of scikit-learn's
  ``MLPRegressor(solver="lbfgs")`` fitting X -> X with the same architecture
  (200 logistic hidden units; MLPRegressor's output units are linear) and
  dtype, MNIST, each as it runs by default (MLPRegressor with threaded BLAS);
- ``fit``: marginal time per L-BFGS iteration of ``SparseAutoencoder.fit``
  (MNIST, float32 and float64): the difference of two fits of different ``max_iter`` (20
  and 60, past the first iterations, whose line searches take more
  evaluations), divided by the difference of their iteration counts;
- ``memory``: peak memory allocated (tracemalloc) during ``fit`` on MNIST
  float32, against the input's size, with the shares of scipy's L-BFGS-B
  workspace and of the hidden activations;
- ``exercise``: the UFLDL vectorisation exercise end to end (first 10,000
  MNIST images, 196 hidden units, rho=0.1, lambda=3e-3, beta=3, 400 L-BFGS
  iterations), against 400 times its bound.

The first lines name what the figures depend on: the CPU, the load, the
features NumPy's runtime dispatch uses (its float64 ``exp``, for one, is
vectorised for AVX-512 only) and the kernels OpenBLAS runs (threadpoolctl's
``architecture``). An AVX-512 machine runs as an AVX2 one would with::

    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" \
    OPENBLAS_CORETYPE=Haswell python benchmarks/bench_objective.py

and the lines then say ``AVX2 kernels`` and ``Haswell kernels``.

``eval`` also runs the digits (1,797 x 64, 25 hidden units, the problem
users run most, one chunk); on the small problems its ``thr/1`` column is
the objective on its default threads against one thread: 1.00 or less means
threads never slow it down. Each timing of ``eval`` follows a pause, which lets
idle threads fall asleep; ``b2b`` is the same ratio for ``--burst``
evaluations back to back, as ``fit`` makes them (small problems only).
``--problems``, ``--dtypes`` pick what to run; ``--fit-iter`` and
``--fit-repeats`` set the two fits of ``fit``.

Run from the repository root::

    python benchmarks/bench_objective.py

MNIST comes from :func:`sklearn_sae.datasets.load_mnist`: the IDX files in
the folder named by ``SKLEARN_SAE_MNIST_DIR`` (or ``--data-home``), else a
download from OpenML, cached in scikit-learn's data home.

``--quick`` runs every part on 10,000 MNIST images, with fewer iterations.
"""

import argparse
import contextlib
import datetime
import os
import platform
import time
import tracemalloc
import warnings

import numpy as np
from scipy.linalg import get_blas_funcs
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from threadpoolctl import ThreadpoolController, threadpool_info

from sklearn_sae import SparseAutoencoder
from sklearn_sae._objective import (
    ParameterLayout,
    SparseAutoencoderObjective,
)
from sklearn_sae._rows import block_rows
from sklearn_sae.datasets import load_mnist

try:
    import torch
except ImportError:
    torch = None

# Made once: each ThreadpoolController() scans the loaded libraries, which
# would add milliseconds to every timed call on the small problem.
_CONTROLLER = ThreadpoolController()
PARTS = ("eval", "mlp", "fit", "memory", "exercise")
PROBLEMS = ("mnist", "small", "digits")
DTYPES = ("float32", "float64")
TUTORIAL = dict(rho=0.1, beta=3.0, alpha=3e-3)
# Problems this small are also timed in bursts of evaluations back to back.
BURST_MAX_SAMPLES = 20_000
# scipy's L-BFGS-B keeps this many correction pairs (its default maxcor).
LBFGS_MEMORY = 10


def _numpy_cpu_features():
    """The CPU features NumPy's runtime dispatch uses here, and their kind."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1
        from numpy.core import _multiarray_umath as umath
    enabled = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]
    if {"X86_V4", "AVX512F", "AVX512_SKX"} & set(enabled):
        kind = "AVX-512"
    elif {"X86_V3", "AVX2"} & set(enabled):
        kind = "AVX2"
    else:
        kind = "neither AVX2 nor AVX-512"
    return list(umath.__cpu_baseline__) + enabled, kind


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_machine():
    """What the figures depend on: CPU, NumPy's kernels, BLAS's, load, date."""
    features, kind = _numpy_cpu_features()
    print(
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"CPU {_cpu_name()}, {os.cpu_count()} cores; load averages "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"NumPy {np.__version__} dispatches {' '.join(features)}: {kind} kernels")
    for info in threadpool_info():
        if info["user_api"] == "blas":
            where = os.path.basename(os.path.dirname(info["filepath"]))
            print(
                f"BLAS ({where}): {info['internal_api']} {info.get('version')}, "
                f"{info.get('architecture')} kernels, {info['num_threads']} threads"
            )
    for name in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE"):
        if name in os.environ:
            print(f"{name}={os.environ[name]}")


def _one_blas_thread():
    """Limit BLAS to one thread, as ``SparseAutoencoder.fit`` does."""
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _seconds(function):
    """Seconds of ``function()``, run inside its ``context`` if it has one.

    The context (BLAS limited to one thread for the objective) is entered
    outside the timing, as ``fit`` enters it once for all its evaluations.
    """
    with getattr(function, "context", contextlib.nullcontext)():
        start = time.perf_counter()
        function()
        return time.perf_counter() - start


# OpenBLAS's idle threads keep spinning for a while after a multi-threaded
# call (about 2**28 cycles, a tenth of a second): a function timed right after
# one shares the cores with them. Each timed run waits that long first.
_SPIN_DOWN = 0.15


def _interleaved_medians(functions, repeats):
    """Run each function once (warm-up), then ``repeats`` rounds of all of them.

    Returns the median seconds of each, in a dict with the keys of ``functions``.
    """
    for function in functions.values():
        _seconds(function)
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            time.sleep(_SPIN_DOWN)
            times[name].append(_seconds(function))
    return {name: float(np.median(t)) for name, t in times.items()}


def _starting_point(n_features, n_components, dtype):
    layout = ParameterLayout(n_features, n_components)
    theta = layout.initialize(np.random.RandomState(0))
    return theta, [p.astype(dtype) for p in layout.unpack(theta)]


class FiveProducts:
    """The five ``m x d x h`` products of one evaluation, into preallocated arrays."""

    def __init__(self, X, W1, W2T):
        m, h = X.shape[0], W1.shape[0]
        self.X, self.W1, self.W2T = X, W1, W2T
        self.H = np.empty((m, h), dtype=X.dtype)
        self.R = np.empty(X.shape, dtype=X.dtype)
        self.D = np.empty((m, h), dtype=X.dtype)
        self.G1 = np.empty(W1.shape, dtype=X.dtype)
        self.G2 = np.empty(W1.shape, dtype=X.dtype)
        self.gemm = get_blas_funcs("gemm", dtype=X.dtype)
        self.block_rows = block_rows(m, X.shape[1], X.itemsize)

    def __call__(self):
        """On whole matrices."""
        X, W1, W2T = self.X, self.W1, self.W2T
        np.matmul(X, W1.T, out=self.H)  # encode
        np.matmul(self.H, W2T, out=self.R)  # decode
        np.matmul(self.R, W2T.T, out=self.D)  # back through the decoder
        np.matmul(self.H.T, self.R, out=self.G2)  # decoder weight gradient
        np.matmul(self.D.T, X, out=self.G1)  # encoder weight gradient

    def single_threaded(self):
        """On whole matrices, to be run with BLAS limited to one thread."""
        self()

    def blocks_single_threaded(self):
        """Block by block of the objective's rows: small blocks stay in cache.

        The weight gradients are summed in place by SciPy's gemm (``beta=1``),
        which saves the addition the objective makes after each product: the
        cheapest way on one thread (the objective's threads cannot use it,
        as SciPy's wrappers hold the GIL; ``bench_threads.py --parts blas``).
        """
        X, W1, W2T, rows = self.X, self.W1, self.W2T, self.block_rows
        self.G1.fill(0)
        self.G2.fill(0)
        for start in range(0, X.shape[0], rows):
            x, h = X[start : start + rows], self.H[start : start + rows]
            r, d = self.R[: len(x)], self.D[: len(x)]
            np.matmul(x, W1.T, out=h)
            np.matmul(h, W2T, out=r)
            np.matmul(r, W2T.T, out=d)
            # G.T += r.T @ h, all Fortran-ordered views: in place.
            self.gemm(1.0, r.T, h.T, 1.0, self.G2.T, trans_b=1, overwrite_c=1)
            self.gemm(1.0, x.T, d.T, 1.0, self.G1.T, trans_b=1, overwrite_c=1)


def _bound_functions(X, n_components):
    _, (W1, W2T, _, _) = _starting_point(X.shape[1], n_components, X.dtype)
    products = FiveProducts(X, W1, W2T)

    def one_thread():
        products.single_threaded()

    def blocks():
        products.blocks_single_threaded()

    one_thread.context = blocks.context = _one_blas_thread
    return {
        "bound BLAS threads": products,
        "bound 1 thread": one_thread,
        "bound 1 thread blocks": blocks,
    }


def _n_threads(X, n_components):
    """Threads the objective of ``fit`` uses on X."""
    with SparseAutoencoderObjective(X, n_components, **TUTORIAL) as objective:
        return objective.rows.n_threads


def _bound(medians, n_threads):
    """The strict bound: the smallest of the multi-threaded time and the
    single-threaded ones / n."""
    return min(
        medians["bound BLAS threads"],
        medians["bound 1 thread"] / n_threads,
        medians["bound 1 thread blocks"] / n_threads,
    )


def naive_objective(X, theta, n_components, rho=0.1, beta=3.0, alpha=3e-3):
    """The tutorial's vectorised sparseAutoencoderCost, line by line in NumPy."""
    m, d = X.shape
    W1, W2T, b1, b2 = (
        p.astype(X.dtype) for p in ParameterLayout(d, n_components).unpack(theta)
    )
    a2 = 1 / (1 + np.exp(-(X @ W1.T + b1)))
    a3 = 1 / (1 + np.exp(-(a2 @ W2T + b2)))
    rho_hat = a2.mean(axis=0)
    diff = a3 - X
    cost = (
        0.5 / m * np.sum(diff**2)
        + alpha / 2 * (np.sum(W1**2) + np.sum(W2T**2))
        + beta * np.sum(rho * np.log(rho / rho_hat))
        + beta * np.sum((1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    )
    delta3 = diff * a3 * (1 - a3)
    sparsity_delta = beta * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    delta2 = (delta3 @ W2T.T + sparsity_delta) * a2 * (1 - a2)
    W1grad = delta2.T @ X / m + alpha * W1
    W2Tgrad = a2.T @ delta3 / m + alpha * W2T
    b1grad = delta2.sum(axis=0) / m
    b2grad = delta3.sum(axis=0) / m
    grad = np.concatenate(
        [W1grad.ravel(), W2Tgrad.ravel(), b1grad, b2grad], dtype=np.float64
    )
    return float(cost), grad


def _torch_objective(X, theta, n_components, rho=0.1, beta=3.0, alpha=3e-3):
    """The same objective in PyTorch, gradient by autograd; returns a closure."""
    m, d = X.shape
    Xt = torch.from_numpy(X)
    parts = ParameterLayout(d, n_components).unpack(theta.astype(X.dtype))
    W1, W2T, b1, b2 = (torch.tensor(p, requires_grad=True) for p in parts)

    def evaluate():
        for p in (W1, W2T, b1, b2):
            p.grad = None
        a2 = torch.sigmoid(Xt @ W1.T + b1)
        a3 = torch.sigmoid(a2 @ W2T + b2)
        rho_hat = a2.mean(dim=0)
        cost = (
            0.5 / m * ((a3 - Xt) ** 2).sum()
            + alpha / 2 * ((W1**2).sum() + (W2T**2).sum())
            + beta * (rho * torch.log(rho / rho_hat)).sum()
            + beta * ((1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
        )
        cost.backward()
        return float(cost)

    return evaluate


def _problems(args, X_mnist, dtype):
    problems = []
    if "mnist" in args.problems:
        mnist = np.ascontiguousarray(X_mnist[: args.n_samples], dtype=dtype)
        problems.append((f"MNIST {mnist.shape[0]}x784 h=200", mnist, 200))
    if "small" in args.problems:
        small = np.random.RandomState(0).uniform(size=(10_000, 64)).astype(dtype)
        problems.append(("uniform 10000x64 h=25", small, 25))
    if "digits" in args.problems:
        digits = (load_digits().data / 16.0).astype(dtype)
        problems.append(("digits 1797x64 h=25", digits, 25))
    return problems


def part_eval(args, X_mnist):
    print(
        "\n## One loss+gradient evaluation / five products (medians, seconds).\n"
        "bound: the five products, whole matrices, BLAS threads;\n"
        "strict: the smallest of that and the one-thread times / threads;\n"
        "ratio: objective / bound; strict: objective / strict bound;\n"
        "1 thr: objective on one thread / bound for one thread;\n"
        "thr/1: objective on its threads / objective on one thread;\n"
        "naive, torch: their evaluation / bound;\n"
        f"b2b: {args.burst} evaluations back to back, as fit makes them, on "
        "the objective's threads / on one thread (problems below "
        f"{BURST_MAX_SAMPLES} samples)"
    )
    header = f"{'problem':<26} {'dtype':<8} {'bound':>8} {'strict':>8}"
    header += f" {'objective':>10} {'ratio':>6} {'strict':>6} {'1 thr':>6}"
    header += f" {'thr/1':>6} {'naive':>6}"
    if torch is not None:
        header += f" {'torch':>6}"
    header += f" {'b2b':>6}"
    print(header)
    for dtype in args.dtypes:
        for name, X, h in _problems(args, X_mnist, dtype):
            theta, _ = _starting_point(X.shape[1], h, dtype)
            functions = _bound_functions(X, h)
            objective = SparseAutoencoderObjective(X, h, **TUTORIAL)
            one_thread = SparseAutoencoderObjective(X, h, **TUTORIAL, n_threads=1)
            for key, candidate in (("objective", objective), ("1 thread", one_thread)):

                def package(candidate=candidate, theta=theta):
                    candidate(theta)

                package.context = _one_blas_thread
                functions[key] = package
                if X.shape[0] < BURST_MAX_SAMPLES:

                    def burst(candidate=candidate, theta=theta):
                        for _ in range(args.burst):
                            candidate(theta)

                    burst.context = _one_blas_thread
                    functions[f"{key} burst"] = burst
            functions["naive"] = lambda X=X, theta=theta, h=h: naive_objective(
                X, theta, h
            )
            if torch is not None:
                functions["torch"] = _torch_objective(X, theta, h)
            with objective, one_thread:
                medians = _interleaved_medians(functions, args.repeats)
                n_threads = objective.rows.n_threads
                n_chunks = objective.rows.n_chunks
            strict = _bound(medians, n_threads)
            bound = medians["bound BLAS threads"]
            one_thread_bound = min(
                medians["bound 1 thread"], medians["bound 1 thread blocks"]
            )
            line = (
                f"{name:<26} {np.dtype(dtype).name:<8} {bound:>8.4f} "
                f"{strict:>8.4f} {medians['objective']:>10.4f} "
                f"{medians['objective'] / bound:>6.2f} "
                f"{medians['objective'] / strict:>6.2f} "
                f"{medians['1 thread'] / one_thread_bound:>6.2f} "
                f"{medians['objective'] / medians['1 thread']:>6.2f} "
                f"{medians['naive'] / bound:>6.2f}"
            )
            if torch is not None:
                line += f" {medians['torch'] / bound:>6.2f}"
            burst = "objective burst" in medians
            if burst:
                line += (
                    f" {medians['objective burst'] / medians['1 thread burst']:>6.2f}"
                )
            print(line, flush=True)
            print(
                f"    products: BLAS threads {medians['bound BLAS threads']:.4f}s; "
                f"1 thread {medians['bound 1 thread']:.4f}s, in blocks "
                f"{medians['bound 1 thread blocks']:.4f}s (divided by "
                f"{n_threads}, the objective's threads); objective: "
                f"{n_chunks} chunks on {n_threads} threads "
                f"{medians['objective']:.4f}s, on 1 thread "
                f"{medians['1 thread']:.4f}s",
                flush=True,
            )
            if burst:
                print(
                    f"    {args.burst} evaluations back to back: "
                    f"{medians['objective burst']:.4f}s on {n_threads} threads, "
                    f"{medians['1 thread burst']:.4f}s on 1 thread",
                    flush=True,
                )
    if torch is None:
        print("(PyTorch is not installed: no torch column.)")


def _fit_seconds(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X) if y is None else estimator.fit(X, y)
        return time.perf_counter() - start


def part_mlp(args, X_mnist):
    n_iter = args.mlp_iter
    print(
        f"\n## Seconds per L-BFGS iteration over the first {n_iter}: "
        "MLPRegressor(solver='lbfgs') X -> X vs SparseAutoencoder"
    )
    print(f"{'problem':<26} {'dtype':<8} {'MLP':>8} {'package':>8} {'speed-up':>8}")
    for dtype in args.dtypes:
        X = np.ascontiguousarray(X_mnist[: args.n_samples], dtype=dtype)
        mlp_times, package_times = [], []
        for _ in range(args.mlp_repeats):
            mlp = MLPRegressor(
                hidden_layer_sizes=(200,),
                activation="logistic",
                solver="lbfgs",
                alpha=3e-3,
                max_iter=n_iter,
                tol=0.0,
                random_state=0,
            )
            seconds = _fit_seconds(mlp, X, X)
            mlp_times.append(seconds / mlp.n_iter_)
            sae = SparseAutoencoder(200, max_iter=n_iter, tol=0.0, random_state=0)
            seconds = _fit_seconds(sae, X)
            package_times.append(seconds / sae.n_iter_)
        mlp_t, package_t = np.median(mlp_times), np.median(package_times)
        name = f"MNIST {X.shape[0]}x784 h=200"
        print(
            f"{name:<26} {np.dtype(dtype).name:<8} "
            f"{mlp_t:>7.3f}s {package_t:>7.3f}s {mlp_t / package_t:>8.2f}",
            flush=True,
        )


class _CountEvaluations:
    """Count the objective's evaluations while in the ``with`` block."""

    def __enter__(self):
        self.count = 0
        self.original = SparseAutoencoderObjective.__call__

        def counting(objective, theta):
            self.count += 1
            return self.original(objective, theta)

        SparseAutoencoderObjective.__call__ = counting
        return self

    def __exit__(self, *exc_info):
        SparseAutoencoderObjective.__call__ = self.original


def part_fit(args, X_mnist):
    for dtype in args.dtypes:
        _fit_marginal(args, X_mnist, np.dtype(dtype))


def _fit_marginal(args, X_mnist, dtype):
    low, high = args.fit_iter
    X = np.ascontiguousarray(X_mnist[: args.n_samples], dtype=dtype)
    print(
        f"\n## Marginal time per L-BFGS iteration of SparseAutoencoder.fit, "
        f"MNIST {X.shape[0]}x784 h=200 {dtype.name}: (fit({high}) - fit({low})) / "
        "difference of n_iter_"
    )
    functions = _bound_functions(X, 200)
    record = {"low": [], "high": []}

    def fit(key, max_iter):
        sae = SparseAutoencoder(200, max_iter=max_iter, tol=0.0, random_state=0)
        with _CountEvaluations() as counter:
            seconds = _fit_seconds(sae, X)
        record[key].append((seconds, sae.n_iter_, counter.count))

    functions["fit low"] = lambda: fit("low", low)
    functions["fit high"] = lambda: fit("high", high)
    medians = _interleaved_medians(functions, args.fit_repeats)
    strict = _bound(medians, _n_threads(X, 200))
    bound = medians["bound BLAS threads"]
    (_, n_low, e_low), (_, n_high, e_high) = record["low"][-1], record["high"][-1]
    per_iteration = (medians["fit high"] - medians["fit low"]) / (n_high - n_low)
    evaluations = (e_high - e_low) / (n_high - n_low)
    print(
        f"fit({low}): {medians['fit low']:.2f}s ({n_low} iterations, {e_low} "
        f"evaluations); fit({high}): {medians['fit high']:.2f}s ({n_high} "
        f"iterations, {e_high} evaluations); medians of {args.fit_repeats}"
    )
    print(
        f"marginal {per_iteration:.4f}s per iteration ({evaluations:.2f} "
        f"evaluations), bound {bound:.4f}s: ratio {per_iteration / bound:.2f}; "
        f"strict bound {strict:.4f}s: ratio {per_iteration / strict:.2f}",
        flush=True,
    )


def part_memory(args, X_mnist):
    X = np.ascontiguousarray(X_mnist[: args.n_samples], dtype=np.float32)
    n_components = 200
    sae = SparseAutoencoder(n_components, max_iter=args.memory_iter, random_state=0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _fit_seconds(sae, X)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    # The objective alone: construction and two evaluations, no optimizer.
    theta, _ = _starting_point(X.shape[1], n_components, X.dtype)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    objective = SparseAutoencoderObjective(X, n_components, **TUTORIAL)
    with objective, _one_blas_thread():
        objective(theta)
        objective(theta)
    objective_peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    n_params = ParameterLayout(X.shape[1], n_components).size
    lbfgs = 8 * (2 * LBFGS_MEMORY * n_params + 5 * n_params) + 4 * 3 * n_params
    hidden = X.shape[0] * n_components * X.itemsize
    mb = 1e6
    print(
        f"\n## Peak memory allocated during fit (tracemalloc), MNIST "
        f"{X.shape[0]}x784 h=200 float32, max_iter={args.memory_iter}"
    )
    print(
        f"input {X.nbytes / mb:.1f} MB; peak {peak / mb:.1f} MB = "
        f"{peak / X.nbytes:.2f} x input"
    )
    print(
        f"    of which scipy's L-BFGS-B workspace {lbfgs / mb:.1f} MB, hidden "
        f"activations {hidden / mb:.1f} MB, the rest {(peak - lbfgs - hidden) / mb:.1f}"
        " MB",
    )
    print(
        f"the objective alone (construction and two evaluations): peak "
        f"{objective_peak / mb:.1f} MB = {objective_peak / X.nbytes:.2f} x input",
        flush=True,
    )


def part_exercise(args, X_mnist):
    X = np.ascontiguousarray(X_mnist[:10_000], dtype=np.dtype(args.exercise_dtype))
    n_iter = args.exercise_iter
    print(
        f"\n## The vectorisation exercise: {X.shape[0]}x784, 196 hidden units, "
        f"rho=0.1, lambda=3e-3, beta=3, {n_iter} iterations, {X.dtype}"
    )
    medians = _interleaved_medians(_bound_functions(X, 196), args.repeats)
    sae = SparseAutoencoder(196, max_iter=n_iter, tol=0.0, random_state=0, **TUTORIAL)
    seconds = _fit_seconds(sae, X)
    strict = _bound(medians, _n_threads(X, 196))
    bound = medians["bound BLAS threads"]
    print(
        f"fit: {seconds:.1f}s for {sae.n_iter_} iterations (final loss "
        f"{sae.loss_:.4f}); bound {bound:.4f}s per evaluation; "
        f"ratio to {n_iter} x bound: {seconds / (n_iter * bound):.2f} "
        f"(strict: {seconds / (n_iter * strict):.2f})",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="MNIST IDX directory")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument(
        "--problems", nargs="+", choices=PROBLEMS, default=list(PROBLEMS), help="eval"
    )
    parser.add_argument(
        "--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES), help="eval, fit"
    )
    parser.add_argument("--repeats", type=int, default=7, help="eval, bounds")
    parser.add_argument(
        "--burst", type=int, default=20, help="eval: evaluations back to back"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 images, fewer")
    parser.add_argument(
        "--fit-iter", type=int, nargs=2, default=None, help="fit: the two max_iter"
    )
    parser.add_argument("--fit-repeats", type=int, default=None, help="fit")
    parser.add_argument(
        "--exercise-dtype", choices=["float32", "float64"], default="float32"
    )
    args = parser.parse_args(argv)
    fit_iter, fit_repeats = args.fit_iter, args.fit_repeats
    if args.quick:
        args.n_samples, args.fit_iter, args.fit_repeats = 10_000, (3, 8), 3
        args.mlp_iter, args.mlp_repeats, args.memory_iter = 5, 1, 2
        args.exercise_iter = 40
    else:
        args.n_samples, args.fit_iter, args.fit_repeats = 60_000, (20, 60), 3
        args.mlp_iter, args.mlp_repeats, args.memory_iter = 10, 3, 3
        args.exercise_iter = 400
    args.fit_iter = fit_iter or args.fit_iter
    args.fit_repeats = fit_repeats or args.fit_repeats

    X_mnist, _ = load_mnist(args.data_home, return_X_y=True, dtype=np.float32)
    parts = {
        "eval": part_eval,
        "mlp": part_mlp,
        "fit": part_fit,
        "memory": part_memory,
        "exercise": part_exercise,
    }
    print_machine()
    print(f"parts: {' '.join(args.parts)}; repeats {args.repeats}")
    for name in args.parts:
        parts[name](args, X_mnist)


if __name__ == "__main__":
    main()
