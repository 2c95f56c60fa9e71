"""Model selection on more processes: one GridSearchCV of ScoreSDE, locally, on joblib's
loky backend and on a Dask cluster; wall time and speed-up.

The search: ``ScoreSDE(max_iter=300, device="cpu", random_state=0)``, defaults otherwise,
on two moons (``core.load_dataset``: the 2000 standardised training rows), ``GridSearchCV``
over 4 candidates (``learning_rate`` 1e-3, 2e-3, 4e-3, 8e-3) × 3 folds (``KFold``, shuffled,
seed 0): 12 fits, each scored on its held-out fold (``score``, the mean ELBO), then the
refit of the best candidate on all rows, which scikit-learn always runs in the calling
process.

Backends (``--backends``):

``local``
    ``n_jobs=1`` in this process, torch with the thread count it has here (its default:
    one per usable core; recorded as ``main_threads``).
``local-1thread``
    The same with ``torch.set_num_threads(1)`` (the refit too).
``loky``
    joblib's default backend, ``n_jobs=2``: two worker processes, which joblib starts with
    ``cpu_count() // n_jobs`` threads each (one on a 2-CPU machine; recorded).
``dask``
    ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` on
    127.0.0.1 and ``joblib.parallel_backend("dask")``, ``n_jobs=-1``; the Dask nanny starts
    its workers with ``OMP_NUM_THREADS=1`` (recorded). The same code runs on a real cluster
    with ``Client("tcp://scheduler:8786")`` (docs/user_guide.md).

Timings: wall seconds of ``search.fit`` (``time.perf_counter``), of which ``refit_time_``
is the refit in this process, so ``cv_s = total_s - refit_s`` is the part that runs on the
workers. Before every timed search the backend's workers are started if needed and warmed
(skbridge imported and a tiny model fitted: a process's first fit pays one-off costs; this
process is warmed the same way once): the cluster's start-up and the first warm-up are
recorded apart (``startup_s``). The repeats run round-robin (local, local-1thread, loky, dask,
local, ...) so that a change in the machine's load hits every backend alike. Each row has
the per-repeat values, their mean and standard error (``std(ddof=1) / sqrt(n)``), the
speed-up over ``local`` (ratio of the means), the 1-minute load average before each
repeat, and whether the candidates' mean test scores equal the first ``local`` run's
(``max_score_diff``: the largest absolute difference over candidates and repeats).

Run::

    python benchmarks/distributed_search.py          # results/distributed_search.json
    python benchmarks/distributed_search.py --quick  # smoke run: *_quick.json (< 2 min)
    python benchmarks/distributed_search.py --backends local dask --repeats 5 --out d.json

(The script is not called ``distributed.py``: run as a script, its folder comes first on
``sys.path``, and it would shadow the ``distributed`` package it uses.)

Timings are wall-clock: run on an otherwise idle machine and check the load averages in the
JSON (``load_average_start`` and, at the end, ``load_average_1_5_15`` of the run's machine;
each repeat's ``load_1min``). With two torch threads on a 2-core machine that another
process also loads, a fit can be several times slower than with one (benchmarks/steps.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import save_rows  # noqa: E402
from core import load_dataset  # noqa: E402

BACKENDS = ("local", "local-1thread", "loky", "dask")
GRID = {"learning_rate": [1e-3, 2e-3, 4e-3, 8e-3]}
N_FOLDS = 3
MAX_ITER = 300
N_WORKERS = 2
# --quick: a smoke run, not a measurement
QUICK_GRID = {"learning_rate": [1e-3, 4e-3]}
QUICK_FOLDS = 2
QUICK_PARAMS = dict(max_iter=20, n_steps=8, hidden_layer_sizes=(16,), batch_size=32)
QUICK_ROWS = 400


def _warm():
    """Run in a worker: import the model code and fit a tiny model (a process's first fit
    pays one-off costs); the worker's pid, torch threads and OMP_NUM_THREADS."""
    import torch

    from skbridge import ScoreSDE

    X = np.random.default_rng(0).normal(size=(64, 2))
    ScoreSDE(max_iter=2, n_steps=4, hidden_layer_sizes=(8,), device="cpu", random_state=0).fit(X)
    time.sleep(0.2)  # let the other worker take the other call
    return os.getpid(), torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def _mean_se(values):
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(se)


class Backends:
    """Starts, warms and stops the worker processes of each backend."""

    def __init__(self, names):
        self.names = names
        self.cluster = self.client = None
        self.startup_s, self.workers, self.pids = {}, {}, {}

    def __enter__(self):
        _warm()  # this process too
        if "dask" in self.names:
            from distributed import Client, LocalCluster

            t0 = time.perf_counter()
            self.cluster = LocalCluster(
                n_workers=N_WORKERS,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
            self.warm("dask")
            self.startup_s["dask"] = time.perf_counter() - t0
        if "loky" in self.names:
            t0 = time.perf_counter()
            self.warm("loky")
            self.startup_s["loky"] = time.perf_counter() - t0
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
            self.cluster.close()

    def warm(self, name):
        """Start the backend's workers if needed; import skbridge and fit a tiny model in each."""
        import joblib

        if name == "dask":
            info = list(self.client.run(_warm).values())
        elif name == "loky":
            info = joblib.Parallel(n_jobs=N_WORKERS)(
                joblib.delayed(_warm)() for _ in range(N_WORKERS)
            )
        else:
            return
        self.workers.setdefault(name, sorted(set(map(tuple, info))))
        self.pids.setdefault(name, set()).update(pid for pid, _, _ in info)

    def search(self, name, make_search, X):
        """Time one ``make_search(n_jobs).fit(X)`` on backend ``name``."""
        import joblib
        import torch

        self.warm(name)
        threads = torch.get_num_threads()
        if name == "local-1thread":
            torch.set_num_threads(1)
        try:
            if name == "dask":
                search = make_search(-1)
                with joblib.parallel_backend("dask"):
                    t0 = time.perf_counter()
                    search.fit(X)
            else:
                search = make_search(1 if name.startswith("local") else N_WORKERS)
                t0 = time.perf_counter()
                search.fit(X)
            total = time.perf_counter() - t0
        finally:
            torch.set_num_threads(threads)
        return search, total


def run(names, repeats, quick, seed):
    import torch
    from sklearn.model_selection import GridSearchCV, KFold

    from skbridge import ScoreSDE

    X = load_dataset("two_moons", seed)[0]
    params = dict(max_iter=MAX_ITER)
    grid, folds = GRID, N_FOLDS
    if quick:
        X, params, grid, folds = X[:QUICK_ROWS], QUICK_PARAMS, QUICK_GRID, QUICK_FOLDS
    cv = KFold(folds, shuffle=True, random_state=seed)

    def make_search(n_jobs):
        model = ScoreSDE(device="cpu", random_state=seed, **params)
        return GridSearchCV(model, grid, cv=cv, n_jobs=n_jobs)

    main_threads = torch.get_num_threads()
    times = {name: {"total_s": [], "refit_s": [], "load_1min": []} for name in names}
    scores, best, candidates = {name: [] for name in names}, {}, None
    with Backends(names) as backends:
        for r in range(repeats):
            for name in names:
                load = os.getloadavg()[0]
                search, total = backends.search(name, make_search, X)
                times[name]["total_s"].append(total)
                times[name]["refit_s"].append(float(search.refit_time_))
                times[name]["load_1min"].append(load)
                scores[name].append(search.cv_results_["mean_test_score"].tolist())
                best[name] = search.best_params_
                candidates = [str(c) for c in search.cv_results_["params"]]
                print(
                    f"repeat {r}  {name:14s} {total:7.1f} s (refit {search.refit_time_:.1f} s)"
                    f"  load {load:.2f}",
                    flush=True,
                )
    reference = np.asarray(scores[names[0]][0]) if names[0] == "local" else None
    rows = []
    for name in names:
        t = times[name]
        cv_s = [a - b for a, b in zip(t["total_s"], t["refit_s"], strict=True)]
        row = {
            "dataset": "two_moons",
            "model": name,
            "search": {
                "estimator": "ScoreSDE",
                "params": dict(params, device="cpu", random_state=seed),
                "grid": grid,
                "folds": folds,
                "rows": len(X),
            },
            "n_jobs": -1 if name == "dask" else (1 if name.startswith("local") else N_WORKERS),
            "main_threads": 1 if name == "local-1thread" else main_threads,
            # (pid, torch threads, OMP_NUM_THREADS) of each worker process
            "workers": backends.workers.get(name),
            "startup_s": backends.startup_s.get(name),
            # more than N_WORKERS: workers were restarted between repeats (then re-warmed)
            "worker_pids_seen": sorted(backends.pids.get(name, ())),
            **t,
            "cv_s": cv_s,
            "mean_test_score": dict(zip(candidates, scores[name][-1], strict=True)),
            "best_params": best[name],
        }
        for key in ("total_s", "refit_s", "cv_s"):
            row[f"{key}_mean"], row[f"{key}_se"] = _mean_se(row[key])
        if reference is not None:
            row["max_score_diff"] = float(np.abs(np.asarray(scores[name]) - reference).max())
        rows.append(row)
    if "local" in times:
        base = next(r for r in rows if r["model"] == "local")
        for row in rows:
            row["speedup_total"] = base["total_s_mean"] / row["total_s_mean"]
            row["speedup_cv"] = base["cv_s_mean"] / row["cv_s_mean"]
    return rows


def markdown(rows):
    def cell(row, key):
        return f"{row[f'{key}_mean']:.1f} ± {row[f'{key}_se']:.1f}"

    lines = [
        "| backend | workers × threads | total s | refit s | CV part s | speed-up total "
        "| speed-up CV | scores = local | load (1 min) |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        if row["workers"]:
            procs = f"{len(row['workers'])} × {row['workers'][0][1]}"
        else:
            procs = f"this process × {row['main_threads']}"
        same = row.get("max_score_diff")
        same = "–" if same is None else ("exact" if same == 0 else f"max diff {same:.2g}")
        speed = [f"{row[k]:.2f}×" if k in row else "–" for k in ("speedup_total", "speedup_cv")]
        load = " ".join(f"{x:.1f}" for x in row["load_1min"])
        lines.append(
            f"| {row['model']} | {procs} | {cell(row, 'total_s')} | {cell(row, 'refit_s')} "
            f"| {cell(row, 'cv_s')} | {speed[0]} | {speed[1]} | {same} | {load} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run (< 2 min)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="results JSON")
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    names = [b for b in BACKENDS if b in args.backends]  # local first: the reference
    repeats = args.repeats or (1 if args.quick else 3)
    load_start = list(os.getloadavg())
    print(f"load average at the start: {load_start}", flush=True)
    rows = run(names, repeats, args.quick, args.seed)
    name = Path(__file__).stem + ("_quick" if args.quick else "")
    out = args.out or HERE / "results" / f"{name}.json"
    save_rows(
        out, rows, "benchmarks/distributed_search.py", t0, fresh=args.fresh, order=("two_moons",)
    )
    result = json.loads(out.read_text())  # machine_info's load is the one at the end
    result["runs"][-1]["machine"]["load_average_start"] = load_start
    out.write_text(json.dumps(result, indent=1, default=float))
    print(markdown(rows))
    print(f"load average at the end: {os.getloadavg()}")
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
