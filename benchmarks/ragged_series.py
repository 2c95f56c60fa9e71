"""Real-valued series of different lengths: does a generator learn how long they are?

Data: ``make_sines(2000, length=(8, 16), n_channels=2)`` (lengths uniform on 8..16), split
80/20 with the seed. ScoreSDE with default parameters (``random_state`` the seed) fits the
training series, samples as many as the test split holds, and is measured on:

* the lengths: mean and standard deviation against the training series', and the total
  variation distance of the length histograms to the test series' (the training lengths'
  own distance to the test lengths is the noise level, the ``train rows`` row);
* the values: TimeGAN's discriminative score (``skbridge.metrics``, 2,000 GRU steps) and
  the autocorrelation error on the first 8 steps (every series has them) against the test
  series;
* the held-out bound (``score`` on the test series: nats per series, the density of the
  values times the probability of the length).

Usage::

    python benchmarks/ragged_series.py                 # seeds 0 1 2 -> results/ragged_series.json
    python benchmarks/ragged_series.py --seeds 0 --quick
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import markdown_tables, save_rows  # noqa: E402

PREFIX = 8


def lengths_tv(a, b, top=16) -> float:
    p = np.bincount(a, minlength=top + 1) / len(a)
    q = np.bincount(b, minlength=top + 1) / len(b)
    return float(0.5 * np.abs(p - q).sum())


def evaluate(test, synth, seed, quick) -> dict:
    from skbridge import metrics

    Ls, Lt = np.array([len(x) for x in synth]), np.array([len(x) for x in test])
    prefix_s = np.stack([x[:PREFIX] for x in synth if len(x) >= PREFIX])
    prefix_t = np.stack([x[:PREFIX] for x in test])
    it = {"n_iter": 200} if quick else {}
    return {
        "mean_length": float(Ls.mean()),
        "sd_length": float(Ls.std()),
        "length_tv": lengths_tv(Ls, Lt),
        "shorter_than_8": float(np.mean(Ls < PREFIX)),
        "discriminative": metrics.discriminative_score(prefix_t, prefix_s, random_state=seed, **it),
        "acf_error": metrics.autocorrelation_error(prefix_t, prefix_s),
    }


def run(seed: int, quick: bool) -> list[dict]:
    from skbridge import ScoreSDE
    from skbridge.data import make_sines

    X = make_sines(400 if quick else 2000, length=(8, 16), n_channels=2, random_state=seed)
    perm = np.random.default_rng(seed).permutation(len(X))
    n_test = len(X) // 5
    test, train = [X[i] for i in perm[:n_test]], [X[i] for i in perm[n_test:]]
    ref = evaluate(test, train[:n_test], seed, quick)
    rows = [{"dataset": "sines 8-16", "model": "train rows (reference)", "seed": seed, **ref}]
    model = ScoreSDE(random_state=seed, **({"max_iter": 100} if quick else {}))
    t0 = time.perf_counter()
    model.fit(train)
    row = {"dataset": "sines 8-16", "model": "ScoreSDE", "seed": seed}
    row["fit_s"] = time.perf_counter() - t0
    row["held_out_score"] = float(model.score(test))
    synth = model.sample(len(test), random_state=seed + 1)
    row.update(evaluate(test, synth, seed, quick))
    print(row, flush=True)
    return rows + [row]


COLUMNS = [
    ("fit_s", "fit s", "{:.0f}"),
    ("mean_length", "mean length", "{:.2f}"),
    ("sd_length", "length sd", "{:.2f}"),
    ("length_tv", "length TV", "{:.3f}"),
    ("shorter_than_8", "share < 8", "{:.3f}"),
    ("discriminative", "discriminative (8 steps)", "{:.3f}"),
    ("acf_error", "ACF error (8 steps)", "{:.4f}"),
    ("held_out_score", "held-out score", "{:.2f}"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    rows = [r for seed in args.seeds for r in run(seed, args.quick)]
    name = "ragged_series" + ("_quick" if args.quick else "")
    out = args.out or HERE / "results" / f"{name}.json"
    merged = save_rows(out, rows, "benchmarks/ragged_series.py", t0)
    print(markdown_tables(merged, COLUMNS))
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
