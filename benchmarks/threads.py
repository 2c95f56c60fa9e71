"""Threads: fit time of one model with 1 and with all torch threads, idle and next to other work.

On a small machine torch's default (one intra-op thread per core) competes with anything
else that runs: a second fit, a joblib worker, a browser. This measures, on the machine at
hand, the wall time of ``ScoreSDE(max_iter=...).fit`` on 300 rows of two moons (default
network) under ``threadpoolctl.threadpool_limits(limits=k)`` for k = 1 and k = cores, each
on an idle machine and next to ``--load`` busy processes (pure-Python loops, one per
process), 3 repeats each (mean and standard error).

Usage::

    python benchmarks/threads.py                # writes benchmarks/results/threads.json
    python benchmarks/threads.py --quick        # smoke run: does it work? not results

Run it alone on the machine: other work inflates every time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from core import write_result  # noqa: E402


def _burn(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _fit_seconds(threads: int, max_iter: int) -> float:
    from threadpoolctl import threadpool_limits

    from skbridge import ScoreSDE
    from skbridge.data import make_two_moons

    X = make_two_moons(300, random_state=0)
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        ScoreSDE(max_iter=max_iter, random_state=0).fit(X)
        return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", type=int, default=1, help="busy processes for 'loaded'")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    max_iter, repeats = (50, 1) if args.quick else (args.max_iter, args.repeats)
    out = args.out or HERE / "results" / ("threads_quick.json" if args.quick else "threads.json")
    cores = os.cpu_count() or 1
    t_start = time.time()
    _fit_seconds(1, 10)  # imports and first-call costs out of the timings
    rows = []
    ctx = multiprocessing.get_context("spawn")
    for load in (0, args.load):
        stop = ctx.Event()
        burners = [ctx.Process(target=_burn, args=(stop,)) for _ in range(load)]
        for p in burners:
            p.start()
        time.sleep(1.0 if load else 0.0)
        try:
            for threads in sorted({1, cores}):
                times = [_fit_seconds(threads, max_iter) for _ in range(repeats)]
                se = float(np.std(times, ddof=1) / np.sqrt(len(times))) if len(times) > 1 else 0.0
                rows.append(
                    {
                        "busy_processes": load,
                        "threads": threads,
                        "fit_s": times,
                        "mean_s": float(np.mean(times)),
                        "se_s": se,
                    }
                )
                print(
                    f"busy processes {load}  threads {threads}: fit {np.mean(times):6.1f} s "
                    f"± {se:.1f} ({len(times)} repeats, {max_iter} iterations)",
                    flush=True,
                )
        finally:
            stop.set()
            for p in burners:
                p.join()
    write_result(out, t_start, max_iter=max_iter, rows=rows)


if __name__ == "__main__":
    main()
