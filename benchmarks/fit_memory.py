"""Fitting from a memory-mapped array: peak memory of ``fit`` as the table grows.

A 10-column float32 table of N rows (normal columns, one of them correlated) is saved as
``.npy`` in a temporary folder. For each N and way of reading it, a fresh Python process
opens it (``np.load(path, mmap_mode="r")``: read through; ``np.load(path)``: read into
memory first), resets its peak resident set size to the current one (Linux:
``/proc/self/clear_refs``; the peak is ``VmHWM`` of ``/proc/self/status``), fits
``ScoreSDE(max_iter=--max-iter, n_steps=10, hidden_layer_sizes=(64,))`` and records the
peak again. The row is the growth of the peak over the resident size with the data opened,
in MiB (3 repeats: mean and standard error), and the fit's seconds. Pages of the file that
the mapped fit reads count in its resident size: they are read once (a sum over the
array) before the baseline, so that in both cases the data is resident when the fit
starts and the growth is the fit's own memory.

Usage::

    python benchmarks/fit_memory.py          # writes benchmarks/results/fit_memory.json
    python benchmarks/fit_memory.py --quick  # smoke run: does it work? not results

Run it alone on the machine (Linux only).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from core import PEAK_MEMORY_CHILD, write_result  # noqa: E402

CHILD = (
    PEAK_MEMORY_CHILD
    + """
import sys, time, warnings
import numpy as np
import skbridge
warnings.simplefilter("ignore")
path, how, max_iter = sys.argv[1], sys.argv[2], int(sys.argv[3])

X = np.load(path, mmap_mode="r") if how == "memmap" else np.load(path)
X.sum(dtype=np.float64)  # the file's pages resident before the baseline, as loaded data is
skbridge.ScoreSDE(max_iter=2, n_steps=4).fit(X[:100])  # first-call allocations out
reset_peak()
before = status("VmRSS")
t0 = time.perf_counter()
skbridge.ScoreSDE(max_iter=max_iter, n_steps=10, hidden_layer_sizes=(64,), random_state=0).fit(X)
print(status("VmHWM") - before, time.perf_counter() - t0)
"""
)


def se(v):
    """Standard error of the mean (None for one value)."""
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None


def make_table(path: Path, n: int) -> None:
    """N rows of 10 float32 columns, written in blocks (the parent's memory stays small)."""
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 10))
    for start in range(0, n, 500_000):
        stop = min(start + 500_000, n)
        block = rng.normal(size=(stop - start, 10))
        block[:, 1] = 2 * block[:, 0] + 0.5 * block[:, 1]
        out[start:stop] = block
    out.flush()
    del out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 2_000_000, 8_000_000])
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sizes, repeats = ([20_000], 1) if args.quick else (args.sizes, args.repeats)
    t_start = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        child = Path(tmp) / "child.py"
        child.write_text(CHILD)
        for n in sizes:
            path = Path(tmp) / f"X{n}.npy"
            make_table(path, n)
            for how in ("memmap", "in memory"):
                growth, seconds = [], []
                for _ in range(repeats):
                    out = subprocess.run(
                        [sys.executable, str(child), str(path), how, str(args.max_iter)],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout.split()
                    growth.append(float(out[0]))
                    seconds.append(float(out[1]))
                g, s = np.array(growth), np.array(seconds)
                row = {
                    "rows": n,
                    "file_mib": path.stat().st_size / 2**20,
                    "read": how,
                    "peak_growth_mib": float(g.mean()),
                    "peak_growth_se": se(g),
                    "fit_s": float(s.mean()),
                    "fit_s_se": se(s),
                    "repeats": repeats,
                }
                rows.append(row)
                print(
                    f"{n:>9} rows ({row['file_mib']:.0f} MiB file), {how:>9}: peak "
                    f"+{row['peak_growth_mib']:.0f} MiB, fit {row['fit_s']:.1f} s",
                    flush=True,
                )
            path.unlink()
    out = args.out or HERE / "results" / (
        "fit_memory_quick.json" if args.quick else "fit_memory.json"
    )
    write_result(out, t_start, max_iter=args.max_iter, rows=rows)


if __name__ == "__main__":
    main()
