"""Soak: many fit / sample / score cycles in one process, and its memory over them.

Each cycle fits a fresh small model (``--model``, ``max_iter=--max-iter``, 2 hidden layers
of 64) on 500 two-moons rows, samples 1000 rows and scores 200 held-out rows, cycling over
4 random states; the resident set size (``VmRSS`` of ``/proc/self/status``) is recorded
after every cycle. The result is the growth from the mean of cycles 11-20 (after warm-up:
allocator pools, first-call caches) to the mean of the last 10, and the least-squares slope
over cycles 11 to the end, in KiB per cycle. A leak (a reference kept per fit: a model, a
graph of tensors, a cache keyed by object) shows as a steady slope.

Usage::

    python benchmarks/soak.py                    # 200 cycles per model, results/soak.json
    python benchmarks/soak.py --quick            # 30 cycles of ScoreSDE: smoke run

Linux only. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from core import write_result  # noqa: E402


def _rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def soak(name: str, cycles: int, max_iter: int) -> dict:
    import skbridge
    from skbridge.data import make_two_moons

    X, test = make_two_moons(500, random_state=0), make_two_moons(200, random_state=1)
    rss, seconds = [], []
    for c in range(cycles):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = getattr(skbridge, name)(
                max_iter=max_iter, hidden_layer_sizes=(64, 64), random_state=c % 4
            ).fit(X)
            model.sample(1000, random_state=c)
            model.score_samples(test)
        del model
        gc.collect()
        seconds.append(time.perf_counter() - t0)
        rss.append(_rss_mib())
    settled = np.array(rss[10:])
    slope = np.polyfit(np.arange(settled.size), settled, 1)[0] if settled.size > 1 else 0.0
    return {
        "model": name,
        "cycles": cycles,
        "max_iter": max_iter,
        "rss_mib": rss,
        "seconds": seconds,
        "growth_mib": float(np.mean(rss[-10:]) - np.mean(rss[10:20])),
        "slope_kib_per_cycle": float(slope * 1024),
        "first_mib": rss[0],
        "last_mib": rss[-1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--max-iter", type=int, default=50)
    parser.add_argument("--models", nargs="+", default=["ScoreSDE", "SBVAE", "VAE", "FlowMatching"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cycles, models = (30, ["ScoreSDE"]) if args.quick else (args.cycles, args.models)
    out = args.out or HERE / "results" / ("soak_quick.json" if args.quick else "soak.json")
    t_start = time.time()
    rows = []
    for name in models:
        row = soak(name, cycles, args.max_iter)
        rows.append(row)
        print(
            f"{name:<13} {cycles} cycles: RSS {row['first_mib']:.0f} -> {row['last_mib']:.0f} "
            f"MiB, growth after warm-up {row['growth_mib']:+.1f} MiB, slope "
            f"{row['slope_kib_per_cycle']:+.1f} KiB/cycle ({np.mean(row['seconds']):.2f} s/cycle)",
            flush=True,
        )
    write_result(out, t_start, rows=rows)


if __name__ == "__main__":
    main()
