"""Data-parallel fit of one model: one process against two (torchrun, gloo), same global batch.

``ScoreSDE(max_iter=..., random_state=r, device="cpu")`` (r the repeat) on 4000 two-moons rows with a
global batch of ``--batch`` rows per optimiser step:

``1 process``
    ``batch_size=batch``, torch with its default threads (one per core).
``1 process, 1 thread``
    The same under ``threadpool_limits(1)``.
``2 processes``
    ``torchrun --standalone --nproc_per_node 2``, each process with one torch thread and
    ``batch_size=batch // 2``, inside ``skbridge.distributed.data_parallel()``.

Timings are the wall seconds of ``fit`` measured inside the fitting process (rank 0 for
torchrun; process start-up, imports and the process group's creation are recorded apart as
``launch_s``: the whole command's wall time minus the fit), 3 repeats round-robin, mean and
standard error. The held-out score (``score`` on 2000 other rows) is recorded with each.

Usage::

    python benchmarks/ddp.py                # writes benchmarks/results/ddp.json
    python benchmarks/ddp.py --quick        # smoke run: does it work? not results

Run it alone on the machine: other work inflates every time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from core import write_result  # noqa: E402

CHILD = """
import json, sys, time, warnings
import torch
from threadpoolctl import threadpool_limits
from skbridge import ScoreSDE, distributed
from skbridge.data import make_two_moons

out, max_iter, batch, threads, seed = sys.argv[1:6]
max_iter, batch, seed = int(max_iter), int(batch), int(seed)
warnings.simplefilter("ignore")
X, test = make_two_moons(4000, random_state=0), make_two_moons(2000, random_state=1)
limits = None if threads == "default" else int(threads)
with distributed.data_parallel(), threadpool_limits(limits=limits):
    model = ScoreSDE(max_iter=max_iter, batch_size=batch, random_state=seed, device="cpu")
    t0 = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - t0
    if distributed.rank() == 0:
        json.dump({"fit_s": fit_s, "score": float(model.score(test)),
                   "threads": torch.get_num_threads()}, open(out, "w"))
"""

SETUPS = {
    "1 process": (1, "default"),
    "1 process, 1 thread": (1, "1"),
    "2 processes": (2, "1"),
}


def _run(setup: str, max_iter: int, batch: int, seed: int, tmp: Path) -> dict:
    procs, threads = SETUPS[setup]
    out, script = tmp / "out.json", tmp / "child.py"
    script.write_text(CHILD)
    args = [str(out), str(max_iter), str(batch // procs), threads, str(seed)]
    if procs == 1:
        cmd = [sys.executable, str(script), *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1"]
        cmd += ["--nproc_per_node", str(procs), str(script), *args]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    record = json.loads(out.read_text())
    record["launch_s"] = wall - record["fit_s"]
    return record


def _se(a: np.ndarray) -> float:
    return float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-iter", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=512, help="global batch per step")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    max_iter, repeats = (50, 1) if args.quick else (args.max_iter, args.repeats)
    out = args.out or HERE / "results" / ("ddp_quick.json" if args.quick else "ddp.json")
    t_start = time.time()
    runs = {setup: [] for setup in SETUPS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for setup in SETUPS:
                rec = _run(setup, max_iter, args.batch, r, Path(tmp))
                runs[setup].append(rec)
                print(
                    f"repeat {r}  {setup:<20} fit {rec['fit_s']:6.1f} s  "
                    f"launch {rec['launch_s']:4.1f} s  score {rec['score']:.3f}",
                    flush=True,
                )
    rows = []
    base = np.mean([rec["fit_s"] for rec in runs["1 process"]])
    for setup, recs in runs.items():
        fit = np.array([rec["fit_s"] for rec in recs])
        score = np.array([rec["score"] for rec in recs])
        rows.append(
            {
                "setup": setup,
                "processes": SETUPS[setup][0],
                "threads_per_process": recs[0]["threads"],
                "global_batch": args.batch,
                "fit_s": fit.tolist(),
                "fit_s_mean": float(fit.mean()),
                "fit_s_se": _se(fit),
                "speedup": float(base / fit.mean()),
                "launch_s": [rec["launch_s"] for rec in recs],
                "score": score.tolist(),
                "score_mean": float(score.mean()),
                "score_se": _se(score),
            }
        )
    write_result(out, t_start, max_iter=max_iter, rows=rows)


if __name__ == "__main__":
    main()
