"""Streamed sampling: peak memory of ``sample(N)`` against ``iter_samples(N)`` as N grows.

A ``ScoreSDE`` is fitted once on a 10-column table (``--max-iter`` iterations, default
network) and saved. Then, for each N and method, a fresh Python process loads it, resets
its peak resident set size to the current one (Linux: ``/proc/self/clear_refs``; the peak
is ``VmHWM`` of ``/proc/self/status``), draws N rows with ``n_steps=10`` (the sampler's
step count only sets the time, not the memory of a row) and writes their bytes to a file
in the temporary folder (``sample``: all rows at once; ``iter_samples``: chunks of
``--chunk-size`` rows, the method's default, written as they come), and records its peak
again. (Raw bytes, not CSV: pandas' ``to_csv`` of a 50,000-row chunk alone raised the peak
by about 100 MiB here, which would be measured instead of the sampler.) The row is the
growth of the peak over the resident size with the model loaded, in MiB, 3 repeats (mean and standard error).

Usage::

    python benchmarks/stream_memory.py          # writes benchmarks/results/stream_memory.json
    python benchmarks/stream_memory.py --quick  # smoke run: does it work? not results

Run it alone on the machine (Linux only).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from core import PEAK_MEMORY_CHILD, write_result  # noqa: E402

CHILD = (
    PEAK_MEMORY_CHILD
    + """
import sys, time, warnings
import skbridge
warnings.simplefilter("ignore")
path, method, n, chunk, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

model = skbridge.load(path).set_params(n_steps=10)
model.sample(16, random_state=0)  # first-call allocations out of the baseline
reset_peak()
before = status("VmRSS")
t0 = time.perf_counter()
with open(out, "wb") as f:
    if method == "sample":
        f.write(model.sample(n, random_state=0).tobytes())
    else:
        for c in model.iter_samples(n, chunk_size=chunk, random_state=0):
            f.write(c.tobytes())
print(before, status("VmHWM"), time.perf_counter() - t0)
"""
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 500_000, 2_000_000])
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sizes, repeats = ([20_000, 60_000], 1) if args.quick else (args.sizes, args.repeats)
    name = "stream_memory_quick.json" if args.quick else "stream_memory.json"
    out = args.out or HERE / "results" / name
    t_start = time.time()

    import skbridge
    from skbridge import ScoreSDE

    X = np.random.default_rng(0).normal(size=(2000, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ScoreSDE(max_iter=args.max_iter, random_state=0).fit(X)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.skb"
        skbridge.save(model, path)
        for n in sizes:
            for method in ("sample", "iter_samples"):
                growth, seconds = [], []
                for _ in range(repeats):
                    csv = Path(tmp) / "out.bin"
                    csv.unlink(missing_ok=True)
                    cmd = [sys.executable, "-c", CHILD, str(path), method, str(n)]
                    res = subprocess.run(
                        [*cmd, str(args.chunk_size), str(csv)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    before, after, s = map(float, res.stdout.split())
                    growth.append(after - before)
                    seconds.append(s)
                se = float(np.std(growth, ddof=1) / np.sqrt(repeats)) if repeats > 1 else 0.0
                rows.append(
                    {
                        "n_rows": n,
                        "columns": X.shape[1],
                        "method": method,
                        "peak_growth_mib": growth,
                        "mean_mib": float(np.mean(growth)),
                        "se_mib": se,
                        "seconds": seconds,
                    }
                )
                print(
                    f"N={n:>9,}  {method:<12}  peak +{np.mean(growth):7.1f} MiB ± {se:.1f}  "
                    f"({np.mean(seconds):.1f} s)",
                    flush=True,
                )
    write_result(out, t_start, chunk_size=args.chunk_size, rows=rows)


if __name__ == "__main__":
    main()
