"""The objective on a dask cluster against the in-memory objective, and its traffic.

One evaluation (loss and gradient) of the sparse autoencoder's objective on
MNIST's 60,000 training images (784 features, 200 hidden units, float32,
``beta=3``, ``alpha=3e-3``), at the same parameters:

- ``in memory``: :class:`SparseAutoencoderObjective` as ``fit`` runs it, rows
  split over 2 threads, BLAS single-threaded: the floor;
- ``dask``: the distributed objective on a dask array of ``--chunks`` chunks
  of rows persisted on a ``LocalCluster`` of 2 worker processes of one thread
  each (BLAS single-threaded, dask's default for worker processes). The
  chunks are placed on the workers as dask persists them (``dask``, which
  may give one worker more chunks than the other), or evenly, in runs of
  consecutive chunks (``even``, as when each worker loads its share of the
  files): ``--placement``.

Both run on the same 2 cores; medians of ``--repeats`` evaluations, the two
interleaved so that a change of load hits both. The target is a ratio of at
most 1.3.

Bytes per evaluation: the payload the objective sends and receives (the
arrays' ``nbytes``), against the formula of docs/scaling.rst, for ``P``
parameters, ``h`` hidden units, ``C`` chunks on ``W`` workers, ``s`` bytes per
value of the data's dtype::

    out  = W P s + C h s                     parameters, sparsity derivative
    back = C (8 h + 8 + P s)                 unit sums, squared errors, gradients

and, measured by dask, the bytes the workers served (their
``transfer_outgoing_bytes_total``): to the driver, which gathers the results
from them directly, and to each other, which should be nothing.

For the estimate of a larger cluster the script also prints the fixed cost of
an evaluation (the same model on ``C`` chunks of 64 rows: task round trips,
parameters and gradients, without the arithmetic) for several ``C``, and the
in-memory objective's time per row on one thread.

Run from the repository root::

    python benchmarks/bench_dask.py
"""

import argparse
import os
import re
import statistics
import time
from collections import Counter

import numpy as np


def _served_bytes(client):
    """Bytes the workers have served so far, to the client and to each other."""
    counts = client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
    return sum(counts.values())


def cpu_features():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    # As `lscpu | grep -o 'avx512[a-z]*' | head -3` names them.
    avx512 = [m.group() for m in map(re.compile("avx512[a-z]*").match, flags) if m]
    return " ".join(avx512[:3]) or ("avx2" if "avx2" in flags else "no AVX2")


def _persist(client, X, rows, placement):
    """X as a dask array of chunks of ``rows`` rows, persisted on the workers."""
    import dask.array as da

    if placement == "dask":
        return client.persist(da.from_array(X, chunks=(rows, -1)))
    # Even: runs of consecutive chunks, as many chunks on each worker.
    workers = sorted(client.scheduler_info()["workers"])
    starts = range(0, X.shape[0], rows)
    pieces = [
        client.persist(
            da.from_array(X[start : start + rows], chunks=(rows, -1)),
            workers=[workers[i * len(workers) // len(starts)]],
        )
        for i, start in enumerate(starts)
    ]
    return client.persist(da.concatenate(pieces))


def _time(fun, theta):
    start = time.perf_counter()
    fun(theta)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[2, 8])
    parser.add_argument(
        "--placement", nargs="+", choices=["even", "dask"], default=["even", "dask"]
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n-samples", type=int, default=60_000)
    args = parser.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    from sklearn_sae._dask_rows import DaskAutoencoderObjective
    from sklearn_sae._objective import ParameterLayout, SparseAutoencoderObjective
    from sklearn_sae._optimize import single_threaded_blas
    from sklearn_sae.datasets import load_mnist

    X, _ = load_mnist(return_X_y=True, dtype=np.float32)
    X = np.ascontiguousarray(X[: args.n_samples])
    n_samples, n_features = X.shape
    h = 200
    settings = {"beta": 3.0, "alpha": 3e-3, "rho": 0.1}
    layout = ParameterLayout(n_features, h)
    theta = layout.initialize(np.random.RandomState(0))
    P, s = layout.size, X.dtype.itemsize
    print(
        f"MNIST {n_samples}x{n_features} float32, {h} hidden units, "
        f"P = {P} parameters; {args.repeats} evaluations each, interleaved"
    )
    print(f"CPU: {cpu_features()}; load average {os.getloadavg()[0]:.1f}")

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
        single_threaded_blas(),
    ):
        in_memory = SparseAutoencoderObjective(X, h, n_threads=2, **settings)
        in_memory(theta)  # first touch of the work arrays
        print(
            f"{'chunks':>6} {'placement':>9} {'per worker':>10} {'in memory':>10} "
            f"{'dask':>8} {'ratio':>6}   {'payload out/back (formula)':>34}   "
            f"{'workers served':>14}"
        )
        runs = [(c, p) for c in args.chunks for p in args.placement]
        for n_chunks, placement in runs:
            rows = n_samples // n_chunks + (n_samples % n_chunks > 0)
            X_dask = _persist(client, X, rows, placement)
            C = len(X_dask.chunks[0])
            on_dask = DaskAutoencoderObjective(X_dask, h, **settings)
            on_dask(theta)  # warm the workers up
            loss, grad = in_memory(theta)
            dask_loss, dask_grad = on_dask(theta)
            # The same function: equal up to the rounding of other chunk sums.
            assert abs(dask_loss - loss) <= 1e-6 * abs(loss)
            assert np.allclose(dask_grad, grad, rtol=1e-4, atol=1e-7)
            sent, received = on_dask.n_bytes_sent, on_dask.n_bytes_received
            served = _served_bytes(client)
            holders = client.who_has(X_dask)
            per_worker = "/".join(
                str(count)
                for count in sorted(
                    Counter(next(iter(w)) for w in holders.values()).values()
                )
            )
            W = len({next(iter(w)) for w in holders.values()})
            times = {"memory": [], "dask": []}
            for _ in range(args.repeats):
                times["memory"].append(_time(in_memory, theta))
                times["dask"].append(_time(on_dask, theta))
            served = (_served_bytes(client) - served) / args.repeats
            n = args.repeats
            out = (on_dask.n_bytes_sent - sent) / n
            back = (on_dask.n_bytes_received - received) / n
            formula_out = W * P * s + C * h * s
            formula_back = C * (8 * h + 8 + P * s)
            t_memory = statistics.median(times["memory"])
            t_dask = statistics.median(times["dask"])
            mb = 1e6
            print(
                f"{C:>6} {placement:>9} {per_worker:>10} {t_memory:>9.3f}s "
                f"{t_dask:>7.3f}s "
                f"{t_dask / t_memory:>6.2f}   {out / mb:>6.2f}/{back / mb:>5.2f} MB "
                f"({formula_out / mb:.2f}/{formula_back / mb:.2f} MB)   "
                f"{served / mb:>11.2f} MB"
            )
            on_dask.__exit__(None, None, None)
            del X_dask

        # The fixed cost: the same model on C chunks of 64 rows each.
        print("fixed cost per evaluation (C chunks of 64 rows, 2 workers):")
        for C in (2, 8, 32):
            X_small = client.persist(da.from_array(X[: 64 * C], chunks=(64, -1)))
            small = DaskAutoencoderObjective(X_small, h, **settings)
            small(theta)
            t = statistics.median(_time(small, theta) for _ in range(args.repeats))
            print(f"  C = {C:>2}: {1e3 * t:7.1f} ms")
            small.__exit__(None, None, None)
            del X_small

        one = SparseAutoencoderObjective(X, h, n_threads=1, **settings)
        one(theta)
        t_one = statistics.median(_time(one, theta) for _ in range(3))
        print(
            f"in-memory objective on 1 thread: {t_one:.3f}s per evaluation, "
            f"{1e6 * t_one / n_samples:.2f} us per row"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
